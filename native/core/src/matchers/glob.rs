//! Wildcard patterns (`glob` predicates). A glob compiles to an anchored
//! regex: literals escaped, `?` = exactly one char, `*` = any run including
//! newlines. Case-insensitive globs have folded literals (plan invariant) and
//! run over the folded value. `gate` is the glob's longest literal part: the
//! field's literal scanner looks for it and the regex runs only on
//! values that contain it. `naive_match` is an independent DP matcher used by
//! the reference oracle.

use super::regex::{compile_internal, Pattern};
use crate::plan::GlobPart;

#[derive(Debug, Clone)]
pub struct GlobMatcher {
    pub pred: u32,
    pub cased: bool,
    pub regex: Pattern,
    /// The longest literal part, if any (non-empty).
    pub gate: Option<String>,
}

pub fn to_regex_source(parts: &[GlobPart]) -> String {
    let mut s = String::from("(?s)^");
    for p in parts {
        match p {
            GlobPart::Lit(l) => s.push_str(&::regex::escape(l)),
            GlobPart::Any => s.push_str(".*"),
            GlobPart::One => s.push('.'),
        }
    }
    s.push('$');
    s
}

pub fn compile(pred: u32, parts: &[GlobPart], cased: bool) -> Result<GlobMatcher, String> {
    let regex = compile_internal(&to_regex_source(parts))?;
    let gate = parts
        .iter()
        .filter_map(|p| match p {
            GlobPart::Lit(l) if !l.is_empty() => Some(l),
            _ => None,
        })
        .max_by_key(|l| l.len())
        .cloned();
    Ok(GlobMatcher {
        pred,
        cased,
        regex,
        gate,
    })
}

/// Independent glob matcher (dynamic programming over chars). Oracle only.
pub fn naive_match(parts: &[GlobPart], text: &str) -> bool {
    enum T {
        C(char),
        Any,
        One,
    }
    let mut toks = Vec::new();
    for p in parts {
        match p {
            GlobPart::Lit(l) => toks.extend(l.chars().map(T::C)),
            GlobPart::Any => toks.push(T::Any),
            GlobPart::One => toks.push(T::One),
        }
    }
    let chars: Vec<char> = text.chars().collect();
    // dp[j] = tokens[..i] match chars[..j]
    let mut dp = vec![false; chars.len() + 1];
    dp[0] = true;
    for t in &toks {
        let mut next = vec![false; chars.len() + 1];
        match t {
            T::Any => {
                let mut seen = false;
                for j in 0..=chars.len() {
                    seen |= dp[j];
                    next[j] = seen;
                }
            }
            T::One => {
                for (n, d) in next.iter_mut().skip(1).zip(dp.iter()) {
                    *n = *d;
                }
            }
            T::C(c) => {
                for j in 1..=chars.len() {
                    next[j] = dp[j - 1] && chars[j - 1] == *c;
                }
            }
        }
        dp = next;
    }
    dp[chars.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matchers::regex::RegexCaches;

    fn parts(s: &str) -> Vec<GlobPart> {
        let mut v = Vec::new();
        let mut lit = String::new();
        for c in s.chars() {
            if c == '*' || c == '?' {
                if !lit.is_empty() {
                    v.push(GlobPart::Lit(std::mem::take(&mut lit)));
                }
                v.push(if c == '*' {
                    GlobPart::Any
                } else {
                    GlobPart::One
                });
            } else {
                lit.push(c);
            }
        }
        if !lit.is_empty() {
            v.push(GlobPart::Lit(lit));
        }
        v
    }

    #[test]
    fn globs() {
        for (g, t, want) in [
            ("a*c", "abbbc", true),
            ("a*c", "a\nc", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("a?c", "aäc", true),
            ("*.exe", "cmd.exe", true),
            ("*.exe", "cmd.exe.txt", false),
            ("c:\\*\\x.(y)", "c:\\foo\\x.(y)", true),
            ("*", "", true),
            ("?", "", false),
        ] {
            let p = parts(g);
            let m = compile(0, &p, true).unwrap();
            assert_eq!(
                m.regex.is_match(t, &mut RegexCaches::default()),
                want,
                "{g} {t}"
            );
            assert_eq!(naive_match(&p, t), want, "naive {g} {t}");
        }
        assert_eq!(
            compile(0, &parts("ab*abcd?x"), true)
                .unwrap()
                .gate
                .as_deref(),
            Some("abcd")
        );
        assert_eq!(compile(0, &parts("*?"), true).unwrap().gate, None);
    }
}
