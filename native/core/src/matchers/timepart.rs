//! Timestamp parts (`timepart` predicates, Sigma's minute/hour/day/week/month/
//! year modifiers), computed in UTC. Accepted value text: RFC 3339 / ISO 8601
//! `YYYY-MM-DD[(T| )HH:MM[:SS[.fraction]]][Z|±HH[:]MM]` (no offset = UTC), or
//! an epoch in milliseconds (a number). `week` is the ISO 8601 week number,
//! `day` the day of the month.

use crate::plan::TimePart;

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn num(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// Parse a timestamp into whole seconds since the epoch (UTC).
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim_ascii();
    let b = s.as_bytes();
    if b.len() >= 10 && b.get(4) == Some(&b'-') && b.get(7) == Some(&b'-') {
        let y = num(b.get(0..4)?)?;
        let mo = num(b.get(5..7)?)?;
        let d = num(b.get(8..10)?)?;
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
            return None;
        }
        let mut secs = days_from_civil(y, mo, d) * 86400;
        let rest = b.get(10..)?;
        if rest.is_empty() {
            return Some(secs);
        }
        if !(rest.first() == Some(&b'T')
            || rest.first() == Some(&b't')
            || rest.first() == Some(&b' '))
        {
            return None;
        }
        let t = rest.get(1..)?;
        let h = num(t.get(0..2)?)?;
        if t.get(2) != Some(&b':') {
            return None;
        }
        let mi = num(t.get(3..5)?)?;
        if h > 23 || mi > 59 {
            return None;
        }
        secs += h * 3600 + mi * 60;
        let mut i = 5;
        if t.get(i) == Some(&b':') {
            let sec = num(t.get(i + 1..i + 3)?)?;
            if sec > 60 {
                return None;
            }
            secs += sec;
            i += 3;
            if t.get(i) == Some(&b'.') || t.get(i) == Some(&b',') {
                i += 1;
                let st = i;
                while t.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
                if i == st {
                    return None;
                }
            }
        }
        match t.get(i..)? {
            [] | [b'Z'] | [b'z'] => Some(secs),
            [sign @ (b'+' | b'-'), off @ ..] => {
                let (oh, om) = match off {
                    [a, b2, b':', c, d2] | [a, b2, c, d2] => (num(&[*a, *b2])?, num(&[*c, *d2])?),
                    [a, b2] => (num(&[*a, *b2])?, 0),
                    _ => return None,
                };
                let off = oh * 3600 + om * 60;
                Some(if *sign == b'+' {
                    secs - off
                } else {
                    secs + off
                })
            }
            _ => None,
        }
    } else {
        let ms = crate::matchers::numeric::parse_number(s)?;
        if ms.abs() > 1e17 {
            return None;
        }
        Some((ms / 1000.0).floor() as i64)
    }
}

/// The requested part of a UTC timestamp (seconds since the epoch).
pub fn part_of(secs: i64, part: TimePart) -> i64 {
    let days = secs.div_euclid(86400);
    let sod = secs.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    match part {
        TimePart::Minute => (sod / 60) % 60,
        TimePart::Hour => sod / 3600,
        TimePart::Day => d,
        TimePart::Month => m,
        TimePart::Year => y,
        TimePart::Week => {
            let weekday = (days + 3).rem_euclid(7); // Monday = 0
            let thursday = days - weekday + 3;
            let (ty, _, _) = civil_from_days(thursday);
            (thursday - days_from_civil(ty, 1, 1)) / 7 + 1
        }
    }
}

/// Does the value's `part` equal `value`?
pub fn matches(s: &str, part: TimePart, value: f64) -> bool {
    parse_timestamp(s).is_some_and(|t| part_of(t, part) as f64 == value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts() {
        let t = parse_timestamp("2021-03-04T10:11:12.1234567Z").unwrap();
        assert_eq!(part_of(t, TimePart::Year), 2021);
        assert_eq!(part_of(t, TimePart::Month), 3);
        assert_eq!(part_of(t, TimePart::Day), 4);
        assert_eq!(part_of(t, TimePart::Hour), 10);
        assert_eq!(part_of(t, TimePart::Minute), 11);
        assert_eq!(part_of(t, TimePart::Week), 9);
        let t2 = parse_timestamp("2021-03-04T01:00:00+02:00").unwrap();
        assert_eq!(part_of(t2, TimePart::Day), 3);
        assert_eq!(part_of(t2, TimePart::Hour), 23);
        // 2021-01-01 is in ISO week 53 of 2020.
        let t3 = parse_timestamp("2021-01-01").unwrap();
        assert_eq!(part_of(t3, TimePart::Week), 53);
        let ms = parse_timestamp("1614852672123").unwrap();
        assert_eq!(ms, t);
        assert!(matches("1614852672123", TimePart::Minute, 11.0));
        assert!(parse_timestamp("yesterday").is_none());
        assert!(parse_timestamp("2021-13-01").is_none());
        assert!(parse_timestamp("2021-03-04T10").is_none());
    }
}
