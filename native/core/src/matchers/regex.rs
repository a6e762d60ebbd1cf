//! Sigma `re` predicates on the `regex` crate (linear time, no
//! backreferences or lookaround). Flags i/m/s map to case-insensitive,
//! multi-line and dot-matches-newline. The search is unanchored and runs on
//! the raw (unfolded) value. A pattern the crate refuses is a compile error
//! value for that predicate only.

use crate::plan::RegexFlags;
use regex::{Regex, RegexBuilder};

pub fn compile(pattern: &str, flags: RegexFlags) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .case_insensitive(flags.i)
        .multi_line(flags.m)
        .dot_matches_new_line(flags.s)
        .size_limit(1 << 23)
        .build()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags() {
        let f = RegexFlags::default();
        assert!(compile("a.c", f).unwrap().is_match("xxabcxx"));
        assert!(!compile("A.C", f).unwrap().is_match("abc"));
        assert!(compile("A.C", RegexFlags { i: true, ..f })
            .unwrap()
            .is_match("abc"));
        assert!(!compile("a.c", f).unwrap().is_match("a\nc"));
        assert!(compile("a.c", RegexFlags { s: true, ..f })
            .unwrap()
            .is_match("a\nc"));
        assert!(compile("^b$", RegexFlags { m: true, ..f })
            .unwrap()
            .is_match("a\nb"));
        assert!(compile("(a)\\1", f).is_err());
        assert!(compile("(?=a)", f).is_err());
    }
}
