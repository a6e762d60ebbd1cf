//! Numeric comparison (`compare` predicates): the value text is parsed as an
//! f64 (integer text beyond 2^53 too, rounded); text that is not a finite
//! number never matches.

use crate::plan::Cmp;

/// Parse value text as a number. Accepts what Rust's f64 parser accepts
/// (`12`, `-1.5e3`, `+4`), after trimming ASCII whitespace; refuses
/// non-finite results (`inf`, `NaN`) and everything else.
#[inline]
pub fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim_ascii();
    let first = *t.as_bytes().first()?;
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return None;
    }
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[inline]
pub fn compare(v: f64, cmp: Cmp, bound: f64) -> bool {
    match cmp {
        Cmp::Gt => v > bound,
        Cmp::Gte => v >= bound,
        Cmp::Lt => v < bound,
        Cmp::Lte => v <= bound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number("4688"), Some(4688.0));
        assert_eq!(parse_number("-1.5e3"), Some(-1500.0));
        assert_eq!(
            parse_number("18446744073709551615"),
            Some(1.8446744073709552e19)
        );
        assert_eq!(parse_number("abc"), None);
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number("NaN"), None);
        assert_eq!(parse_number(""), None);
        assert!(compare(5.0, Cmp::Gt, 4.0));
        assert!(!compare(4.0, Cmp::Gt, 4.0));
        assert!(compare(4.0, Cmp::Gte, 4.0));
        assert!(compare(3.0, Cmp::Lt, 4.0));
        assert!(compare(4.0, Cmp::Lte, 4.0));
    }
}
