//! Sigma `re` predicates, and the regexes that globs compile to, on
//! `regex-automata`'s meta engine (linear time, no backreferences or
//! lookaround). Flags i/m/s map to case-insensitive, multi-line and
//! dot-matches-newline. The search is unanchored and runs on the raw
//! (unfolded) value. A pattern the engine refuses is a compile error for
//! that predicate only.
//!
//! A search needs a mutable cache. The `regex` crate keeps one per regex in
//! a pool whose fast path serves only the first thread that used it: every
//! other evaluation thread takes its slow path, a lock shared by all of them,
//! on every search (2.6% of the evaluation threads' samples under DoPut on
//! two threads, and a point of contention on more). Here each thread's
//! scratch holds its own caches (`RegexCaches`), indexed by the slot the
//! compiled plan gives every regex (`Pattern::set_slot`).

use crate::plan::RegexFlags;
use regex_automata::meta;
use regex_automata::util::syntax;
use regex_automata::Input;

/// Means "no slot given": such a pattern searches with the meta engine's own
/// pooled caches.
const NO_SLOT: usize = usize::MAX;

/// A compiled regex and its cache slot.
#[derive(Debug, Clone)]
pub struct Pattern {
    regex: meta::Regex,
    slot: usize,
}

/// One search cache per pattern slot, created on first use. A scratch's
/// caches serve the patterns of one compiled plan only (slots are per plan).
#[derive(Debug, Default)]
pub struct RegexCaches(Vec<Option<meta::Cache>>);

impl Pattern {
    fn build(pattern: &str, syntax: syntax::Config, size_limit: usize) -> Result<Pattern, String> {
        let config = meta::Config::new()
            .nfa_size_limit(Some(size_limit))
            .onepass_size_limit(Some(size_limit))
            .which_captures(regex_automata::nfa::thompson::WhichCaptures::Implicit);
        let regex = meta::Builder::new()
            .syntax(syntax)
            .configure(config)
            .build(pattern)
            .map_err(|e| e.to_string())?;
        Ok(Pattern {
            regex,
            slot: NO_SLOT,
        })
    }

    /// Give the pattern its slot in every thread's `RegexCaches`; each
    /// pattern of a plan must get its own.
    pub fn set_slot(&mut self, slot: usize) {
        self.slot = slot;
    }

    /// Whether the pattern matches somewhere in `text`.
    #[inline]
    pub fn is_match(&self, text: &str, caches: &mut RegexCaches) -> bool {
        let input = Input::new(text).earliest(true);
        if self.slot == NO_SLOT {
            return self.regex.search_half(&input).is_some();
        }
        if caches.0.len() <= self.slot {
            caches.0.resize_with(self.slot + 1, || None);
        }
        match caches.0.get_mut(self.slot) {
            Some(slot) => {
                let cache = slot.get_or_insert_with(|| self.regex.create_cache());
                self.regex.search_half_with(cache, &input).is_some()
            }
            None => self.regex.search_half(&input).is_some(),
        }
    }
}

/// A Sigma `re` value with its flags.
pub fn compile(pattern: &str, flags: RegexFlags) -> Result<Pattern, String> {
    let syntax = syntax::Config::new()
        .case_insensitive(flags.i)
        .multi_line(flags.m)
        .dot_matches_new_line(flags.s);
    Pattern::build(pattern, syntax, 1 << 23)
}

/// A regex source made by the engine itself (`glob::to_regex_source`).
pub fn compile_internal(source: &str) -> Result<Pattern, String> {
    Pattern::build(source, syntax::Config::new(), 1 << 22)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, flags: RegexFlags, text: &str) -> bool {
        compile(pattern, flags)
            .unwrap()
            .is_match(text, &mut RegexCaches::default())
    }

    #[test]
    fn flags() {
        let f = RegexFlags::default();
        assert!(matches("a.c", f, "xxabcxx"));
        assert!(!matches("A.C", f, "abc"));
        assert!(matches("A.C", RegexFlags { i: true, ..f }, "abc"));
        assert!(!matches("a.c", f, "a\nc"));
        assert!(matches("a.c", RegexFlags { s: true, ..f }, "a\nc"));
        assert!(matches("^b$", RegexFlags { m: true, ..f }, "a\nb"));
        assert!(compile("(a)\\1", f).is_err());
        assert!(compile("(?=a)", f).is_err());
    }

    #[test]
    fn slotted_and_unslotted_searches_agree() {
        let mut caches = RegexCaches::default();
        let f = RegexFlags::default();
        let mut patterns: Vec<Pattern> = ["ab+c", "^x", "[0-9]{3}$", "é."]
            .iter()
            .map(|p| compile(p, f).unwrap())
            .collect();
        let unslotted = patterns.clone();
        // Slots out of order, one left without: caches are created on demand.
        for (slot, p) in [5, 0, 9].into_iter().zip(patterns.iter_mut()) {
            p.set_slot(slot);
        }
        for text in ["abbbc", "xab", "id 123", "12", "café!", ""] {
            for (slotted, plain) in patterns.iter().zip(&unslotted) {
                assert_eq!(
                    slotted.is_match(text, &mut caches),
                    plain.is_match(text, &mut RegexCaches::default()),
                    "{text:?}"
                );
            }
        }
    }
}
