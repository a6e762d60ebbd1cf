//! Literal string predicates of one field, combined: `exact` via hash maps
//! (folded text → predicates for case-insensitive ones, raw text for cased),
//! `prefix`/`suffix`/`contains` via one multi-substring scanner per casing
//! (`substring::SubstringSet`; the case-insensitive one runs over the folded
//! value), with anchors checked from match positions. The scanners also
//! carry glob "gate" literals. Empty patterns never enter a scanner:
//! prefix/suffix/contains "" match every value (`any_value`).

use super::substring::SubstringSet;
use crate::hash::FxHashMap;
use crate::plan::StringMode;

/// What a scanner pattern stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiteralPattern {
    Pred {
        pred: u32,
        mode: StringMode,
    },
    /// Gate literal of glob number `glob` of the field.
    Gate {
        glob: u32,
    },
}

#[derive(Debug, Clone)]
pub struct LiteralScanner {
    scanner: SubstringSet,
    pub pats: Vec<LiteralPattern>,
    /// Patterns from this index on belong to the keyword matcher (a
    /// combined field + keyword scanner, `LiteralScannerBuilder::combined`).
    pub kw_from: usize,
}

/// Builder input for one casing.
#[derive(Debug, Default, Clone)]
pub struct LiteralScannerBuilder {
    strings: Vec<String>,
    pats: Vec<LiteralPattern>,
}

impl LiteralScannerBuilder {
    pub fn add(&mut self, s: &str, p: LiteralPattern) {
        self.strings.push(s.to_string());
        self.pats.push(p);
    }

    pub fn len(&self) -> usize {
        self.strings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }

    /// The patterns of `field` followed by those of `kw`, for one scanner
    /// that finds both in a single pass; returns the index where `kw`'s
    /// patterns start (`LiteralScanner::kw_from`).
    pub fn combined(
        field: &LiteralScannerBuilder,
        kw: &LiteralScannerBuilder,
    ) -> (LiteralScannerBuilder, usize) {
        let mut b = field.clone();
        b.strings.extend(kw.strings.iter().cloned());
        b.pats.extend(kw.pats.iter().copied());
        (b, field.len())
    }

    /// The scanner, or None without patterns.
    pub fn build(self) -> Option<LiteralScanner> {
        let n = self.strings.len();
        self.build_split(n)
    }

    /// Build with patterns from `kw_from` on reported as keyword hits.
    pub fn build_split(self, kw_from: usize) -> Option<LiteralScanner> {
        if self.strings.is_empty() {
            return None;
        }
        Some(LiteralScanner {
            scanner: SubstringSet::new(&self.strings),
            pats: self.pats,
            kw_from,
        })
    }
}

impl LiteralScanner {
    /// Heap bytes of the scanner.
    pub fn memory_usage(&self) -> usize {
        self.scanner.memory_usage()
    }

    /// Occurrences as (pattern, start, end): for each pattern that occurs,
    /// at least its first and last (the `SubstringSet` invariant).
    #[inline]
    fn occurrences(&self, text: &str, mut on: impl FnMut(usize, usize, usize)) {
        let w = &self.scanner;
        w.scan(text.as_bytes(), |p, start| {
            on(p as usize, start, start + w.pattern_len(p));
        });
    }

    /// Report every (pattern, anchored-ok) hit over `text`.
    #[inline]
    pub fn scan(&self, text: &str, mut on_pred: impl FnMut(u32), mut on_gate: impl FnMut(u32)) {
        self.scan_split(text, |kw, hit| match (kw, hit) {
            (false, LiteralHit::Pred(p)) => on_pred(p),
            (false, LiteralHit::Gate(g)) => on_gate(g),
            (true, _) => {}
        });
    }

    /// Report every hit over `text` with whether it belongs to the keyword
    /// part of a combined scanner.
    #[inline]
    pub fn scan_split(&self, text: &str, mut on_hit: impl FnMut(bool, LiteralHit)) {
        let len = text.len();
        self.occurrences(text, |i, start, end| {
            let kw = i >= self.kw_from;
            match self.pats.get(i) {
                Some(LiteralPattern::Pred { pred, mode }) => {
                    let ok = match mode {
                        StringMode::Prefix => start == 0,
                        StringMode::Suffix => end == len,
                        StringMode::Contains => true,
                        StringMode::Exact => start == 0 && end == len,
                    };
                    if ok {
                        on_hit(kw, LiteralHit::Pred(*pred));
                    }
                }
                Some(LiteralPattern::Gate { glob }) => on_hit(kw, LiteralHit::Gate(*glob)),
                None => {}
            }
        });
    }
}

/// One scanner hit: a predicate (anchors checked) or a glob gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiteralHit {
    Pred(u32),
    Gate(u32),
}

/// Exact-equality sets for one casing.
pub type ExactMap = FxHashMap<Box<str>, Vec<u32>>;

/// The literal predicate test, applied directly (oracle and fieldref).
#[inline]
pub fn string_mode_match(mode: StringMode, value: &str, pattern: &str) -> bool {
    match mode {
        StringMode::Exact => value == pattern,
        StringMode::Prefix => value.starts_with(pattern),
        StringMode::Suffix => value.ends_with(pattern),
        StringMode::Contains => value.contains(pattern),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors() {
        let mut b = LiteralScannerBuilder::default();
        b.add(
            "cmd",
            LiteralPattern::Pred {
                pred: 0,
                mode: StringMode::Prefix,
            },
        );
        b.add(
            ".exe",
            LiteralPattern::Pred {
                pred: 1,
                mode: StringMode::Suffix,
            },
        );
        b.add(
            "md.e",
            LiteralPattern::Pred {
                pred: 2,
                mode: StringMode::Contains,
            },
        );
        b.add("xx", LiteralPattern::Gate { glob: 7 });
        b.add(
            "md",
            LiteralPattern::Pred {
                pred: 3,
                mode: StringMode::Prefix,
            },
        );
        let s = b.build().unwrap();
        let run = |t: &str| {
            let mut p = Vec::new();
            let mut g = Vec::new();
            s.scan(t, |x| p.push(x), |x| g.push(x));
            p.sort();
            p.dedup();
            (p, g)
        };
        assert_eq!(run("cmd.exe"), (vec![0, 1, 2], vec![]));
        assert_eq!(run("xcmd.exe.bak"), (vec![2], vec![]));
        assert_eq!(run("xx"), (vec![], vec![7]));
        assert!(string_mode_match(StringMode::Contains, "abc", ""));
        assert!(!string_mode_match(StringMode::Exact, "abc", ""));
    }

    #[test]
    fn large_sets_agree_with_the_direct_test() {
        let modes = [
            StringMode::Prefix,
            StringMode::Suffix,
            StringMode::Contains,
            StringMode::Exact,
        ];
        let pattern = |i: usize| format!("\\dir{}\\tool{}.exe", i % 37, i);
        let mut b = LiteralScannerBuilder::default();
        for i in 0..1000 {
            let mode = modes[i % modes.len()];
            b.add(
                &pattern(i),
                LiteralPattern::Pred {
                    pred: i as u32,
                    mode,
                },
            );
        }
        let s = b.build().unwrap();
        for text in [
            pattern(4),
            format!("c:{}", pattern(5)),
            format!("{}{}", pattern(6), pattern(7)),
            format!("x{}y{}", pattern(3), pattern(10)),
            "unrelated".to_string(),
        ] {
            let mut got = Vec::new();
            s.scan(&text, |p| got.push(p), |_| {});
            got.sort_unstable();
            got.dedup();
            let want: Vec<u32> = (0..1000)
                .filter(|&i| string_mode_match(modes[i % modes.len()], &text, &pattern(i)))
                .map(|i| i as u32)
                .collect();
            assert_eq!(got, want, "text {text}");
        }
    }
}
