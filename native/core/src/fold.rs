//! Case folding for case-insensitive matching. Must agree exactly with
//! `foldCase` in src/rules/fold.ts, which folds rule values before they reach
//! the plan. The mapping, per Unicode scalar value `c`:
//! - ASCII: `A`..`Z` → `a`..`z`, everything else unchanged (fast path: a
//!   string with no non-ASCII byte is lowercased bytewise);
//! - `ς` (U+03C2, final sigma) → `σ` (U+03C3);
//! - otherwise, if `c.to_lowercase()` yields exactly one char, that char;
//!   when it yields several (e.g. `İ` U+0130 → "i̇"), `c` is kept unchanged.
//!
//! This is the JS `toLowerCase()` of each code point taken alone (no
//! context-sensitive final-sigma rule) with multi-char results refused, plus
//! ς→σ, i.e. an approximation of Unicode simple case folding that both sides
//! compute identically. Folding never changes the number of chars.

/// Fold one char.
#[inline]
pub fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    if c == 'ς' {
        return 'σ';
    }
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// Fold `s` into `out` (cleared first).
pub fn fold_into(s: &str, out: &mut String) {
    out.clear();
    if s.is_ascii() {
        out.push_str(s);
        out.make_ascii_lowercase();
        return;
    }
    out.reserve(s.len());
    out.extend(s.chars().map(fold_char));
}

/// Fold `s`, borrowing it unchanged when it is already folded ASCII (the
/// common case), else folding into `buf`.
#[inline]
pub fn fold_cow<'a>(s: &'a str, buf: &'a mut String) -> &'a str {
    let b = s.as_bytes();
    if b.iter().all(|&c| c.is_ascii() && !c.is_ascii_uppercase()) {
        return s;
    }
    fold_into(s, buf);
    buf.as_str()
}

/// Fold into a new String.
pub fn fold(s: &str) -> String {
    let mut out = String::new();
    fold_into(s, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_and_non_ascii() {
        assert_eq!(fold("CMD.EXE"), "cmd.exe");
        assert_eq!(fold("ÄRGER"), "ärger");
        assert_eq!(fold("ärger"), "ärger");
        assert_eq!(fold("ПРИВЕТ Мир"), "привет мир");
        assert_eq!(fold("ΣΊΣΥΦΟΣ"), "σίσυφοσ");
        assert_eq!(fold("σίσυφος"), "σίσυφοσ");
        // İ lowercases to two chars in Unicode: kept as is.
        assert_eq!(fold("İ"), "İ");
        let mut b = String::new();
        assert_eq!(fold_cow("abc", &mut b), "abc");
        assert_eq!(fold_cow("aBc", &mut b), "abc");
    }
}
