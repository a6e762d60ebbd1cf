//! Event time for correlations: a field's text value → milliseconds since the
//! Unix epoch (UTC). Accepted forms:
//! - RFC 3339 / ISO 8601: `2021-03-04T10:11:12Z`, `2021-03-04T10:11:12.1234567Z`,
//!   `2021-03-04T10:11:12+02:00`, `2021-03-04 10:11:12.123` (space separator;
//!   no zone means UTC, as Sysmon's `UtcTime`). Fractions beyond milliseconds
//!   are truncated.
//! - Epoch numbers: a value below 10^11 (i.e. before year 5138 in seconds) is
//!   seconds (fractions kept to the millisecond), anything larger milliseconds.
//!
//! Invariant: never panics; anything else is `None`.

/// Parse an event-time value into epoch milliseconds.
pub fn parse_time_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let first = s.as_bytes().first().copied()?;
    // A date starts with four digits and a dash; anything else numeric is epoch.
    if s.as_bytes().get(4) == Some(&b'-') {
        return parse_iso(s);
    }
    if first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.' {
        let v: f64 = s.parse().ok()?;
        if !v.is_finite() {
            return None;
        }
        let ms = if v.abs() < 1e11 { v * 1000.0 } else { v };
        if ms.abs() > 1e17 {
            return None;
        }
        return Some(ms.floor() as i64);
    }
    None
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let part = b.get(at..at + n)?;
    let mut v = 0i64;
    for &c in part {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

/// Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn parse_iso(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let year = digits(b, 0, 4)?;
    if b.get(7) != Some(&b'-') {
        return None;
    }
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut ms = days_from_civil(year, month, day) * 86_400_000;
    let mut i = 10;
    match b.get(i) {
        None => return Some(ms),
        Some(b'T') | Some(b't') | Some(b' ') => i += 1,
        Some(_) => return None,
    }
    let hour = digits(b, i, 2)?;
    if b.get(i + 2) != Some(&b':') {
        return None;
    }
    let minute = digits(b, i + 3, 2)?;
    i += 5;
    let mut second = 0;
    if b.get(i) == Some(&b':') {
        second = digits(b, i + 1, 2)?;
        i += 3;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    ms += (hour * 3600 + minute * 60 + second) * 1000;
    if matches!(b.get(i), Some(b'.') | Some(b',')) {
        i += 1;
        let start = i;
        let mut frac = 0i64;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            if i - start < 3 {
                frac = frac * 10 + i64::from(c - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..3 {
            frac *= 10;
        }
        ms += frac;
    }
    match b.get(i) {
        None | Some(b'Z') | Some(b'z') if b.len() <= i + 1 => Some(ms),
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(b, i + 1, 2)?;
            let om = match b.get(i + 3) {
                Some(b':') => digits(b, i + 4, 2)?,
                None => 0,
                Some(_) => digits(b, i + 3, 2)?,
            };
            let end = match b.get(i + 3) {
                Some(b':') => i + 6,
                None => i + 3,
                Some(_) => i + 5,
            };
            if b.len() != end {
                return None;
            }
            let off = (oh * 60 + om) * 60_000;
            Some(if sign == b'+' { ms - off } else { ms + off })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::parse_time_ms as p;

    #[test]
    fn iso_forms() {
        assert_eq!(p("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(p("2021-03-04T10:11:12Z"), Some(1_614_852_672_000));
        assert_eq!(p("2021-03-04T10:11:12.1234567Z"), Some(1_614_852_672_123));
        assert_eq!(p("2021-03-04 10:11:12.5"), Some(1_614_852_672_500));
        assert_eq!(p("2021-03-04T12:11:12+02:00"), Some(1_614_852_672_000));
        assert_eq!(p("2021-03-04T05:11:12-0500"), Some(1_614_852_672_000));
        assert_eq!(p("2021-03-04"), Some(1_614_816_000_000));
        assert_eq!(p("2000-02-29T00:00:00Z"), Some(951_782_400_000));
    }

    #[test]
    fn epoch_numbers() {
        assert_eq!(p("1614852672"), Some(1_614_852_672_000));
        assert_eq!(p("1614852672.25"), Some(1_614_852_672_250));
        assert_eq!(p("1614852672123"), Some(1_614_852_672_123));
    }

    #[test]
    fn garbage() {
        for s in [
            "",
            "abc",
            "2021-13-01T00:00:00Z",
            "2021-03-04T10:11:12Zjunk",
            "2021-03-04X",
            "NaN",
            "1e400",
            "2021-03-04T10:11:12.",
        ] {
            assert_eq!(p(s), None, "{s}");
        }
    }
}
