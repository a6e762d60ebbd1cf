//! Many literal byte strings, found in one pass over a text.
//!
//! Why not an Aho-Corasick DFA for every field: its transition table grows
//! with the patterns (79 MiB and most of a second to build for the 9k
//! `CommandLine` patterns of SigmaHQ; 133 MiB over all fields), and a DFA
//! walk is a chain of dependent loads (~400 MB/s on the reference VM).
//! Here each pattern is indexed under one 4-byte window of itself, chosen
//! so that few other patterns share it; `WindowFilter` (vectorised) picks
//! the positions whose window may be indexed, and each is verified against
//! the patterns of its window with one comparison each. Patterns of 2 or 3
//! bytes are found from an exact table of their first two bytes, single
//! bytes with `memchr`.
//!
//! Invariant: for every pattern that occurs in the text, `scan` reports its
//! first and its last occurrence, never the same occurrence twice, and
//! never a position where the pattern does not occur. That is all anchored
//! tests need: a prefix occurs at 0 only as its first occurrence, a suffix
//! at the end only as its last. (Patterns of two bytes or more are reported
//! at every occurrence; a single byte that fills a text would otherwise
//! cost a report per byte.)

use super::window_filter::{window_at, WindowFilter, W};
use crate::hash::FxHashMap;

#[derive(Debug, Clone)]
pub struct SubstringSet {
    pats: Vec<Box<[u8]>>,
    filter: WindowFilter,
    /// Window → range of `entries`.
    buckets: FxHashMap<u32, (u32, u32)>,
    /// (pattern, offset of its window in it), grouped by window.
    entries: Vec<(u32, u32)>,
    /// 2- and 3-byte patterns by their first two bytes (little-endian).
    pair_lists: FxHashMap<u16, Vec<u32>>,
    /// Single-byte patterns: each distinct byte with its patterns.
    singles: Vec<(u8, Vec<u32>)>,
}

/// `text[at..]` starts with `pat`, compared a word at a time: 8 bytes (4
/// for patterns under 8 bytes), the last word overlapping the one before.
/// Most candidates differ in their first word, and a true occurrence of a
/// long pattern (a path, a command line) costs a few compares. The byte loop
/// this replaced was ~70% of `verify`'s samples.
#[inline]
fn eq_at(text: &[u8], at: usize, pat: &[u8]) -> bool {
    let n = pat.len();
    let Some(t) = text.get(at..at + n) else {
        return false;
    };
    if n < 4 {
        return t.iter().zip(pat).all(|(a, b)| a == b);
    }
    if n < 8 {
        return same_word::<4>(t, pat, 0) && same_word::<4>(t, pat, n - 4);
    }
    let mut i = 0;
    while i + 8 < n {
        if !same_word::<8>(t, pat, i) {
            return false;
        }
        i += 8;
    }
    same_word::<8>(t, pat, n - 8)
}

/// `a` and `b` both hold the same `N` bytes at `at`.
#[inline]
fn same_word<const N: usize>(a: &[u8], b: &[u8], at: usize) -> bool {
    let word = |s: &[u8]| -> Option<[u8; N]> { s.get(at..at + N)?.try_into().ok() };
    matches!((word(a), word(b)), (Some(x), Some(y)) if x == y)
}

/// How common a byte is in log text (paths, command lines, prose): the
/// tie-breaker between windows no other pattern shares.
fn byte_commonness(b: u8) -> u32 {
    match b {
        b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' => 3,
        b' ' | b'\\' | b'/' | b'.' | b'0' => 3,
        b'a'..=b'z' | b'A'..=b'Z' | b'1'..=b'9' => 2,
        _ => 1,
    }
}

/// For each pattern of at least `W` bytes, the window it is indexed under:
/// (window, pattern, offset), sorted by window.
fn choose_windows(pats: &[Box<[u8]>]) -> Vec<(u32, u32, u32)> {
    // How many patterns contain each window: a window many patterns share
    // is likely common in text too, and makes a long bucket.
    let mut shared: FxHashMap<u32, u32> = FxHashMap::default();
    for p in pats {
        let mut seen: Vec<u32> = (0..p.len().saturating_sub(W - 1))
            .filter_map(|o| window_at(p, o))
            .collect();
        seen.sort_unstable();
        seen.dedup();
        for w in seen {
            *shared.entry(w).or_insert(0) += 1;
        }
    }
    let mut chosen = Vec::new();
    for (pi, p) in pats.iter().enumerate() {
        let best = (0..p.len().saturating_sub(W - 1))
            .filter_map(|o| {
                let w = window_at(p, o)?;
                let commonness: u32 = p.get(o..o + W)?.iter().map(|&b| byte_commonness(b)).sum();
                let cost = shared.get(&w).copied().unwrap_or(0) * 16 + commonness;
                Some((cost, o, w))
            })
            .min_by_key(|&(cost, o, _)| (cost, o));
        if let Some((_, o, w)) = best {
            chosen.push((w, pi as u32, o as u32));
        }
    }
    chosen.sort_unstable();
    chosen
}

impl SubstringSet {
    /// Index `patterns` (pattern ids are their positions). Empty patterns
    /// are kept as ids but never reported.
    pub fn new<P: AsRef<[u8]>>(patterns: &[P]) -> SubstringSet {
        let pats: Vec<Box<[u8]>> = patterns.iter().map(|p| p.as_ref().into()).collect();
        let chosen = choose_windows(&pats);
        let mut buckets = FxHashMap::default();
        let mut entries = Vec::with_capacity(chosen.len());
        let mut windows = Vec::new();
        for group in chosen.chunk_by(|a, b| a.0 == b.0) {
            let w = group.first().map_or(0, |g| g.0);
            let start = entries.len() as u32;
            entries.extend(group.iter().map(|&(_, p, o)| (p, o)));
            buckets.insert(w, (start, entries.len() as u32));
            windows.push(w);
        }
        let mut pair_lists: FxHashMap<u16, Vec<u32>> = FxHashMap::default();
        let mut singles: Vec<(u8, Vec<u32>)> = Vec::new();
        for (pi, p) in pats.iter().enumerate() {
            match **p {
                [b] => match singles.iter_mut().find(|(x, _)| *x == b) {
                    Some((_, list)) => list.push(pi as u32),
                    None => singles.push((b, vec![pi as u32])),
                },
                [a, b] | [a, b, _] => pair_lists
                    .entry(u16::from_le_bytes([a, b]))
                    .or_default()
                    .push(pi as u32),
                _ => {}
            }
        }
        let pairs: Vec<u16> = pair_lists.keys().copied().collect();
        SubstringSet {
            filter: WindowFilter::new(&windows, &pairs),
            pats,
            buckets,
            entries,
            pair_lists,
            singles,
        }
    }

    pub fn pattern_len(&self, id: u32) -> usize {
        self.pats.get(id as usize).map_or(0, |p| p.len())
    }

    /// Heap bytes held.
    pub fn memory_usage(&self) -> usize {
        let lists = |l: &Vec<u32>| l.len() * 4 + 24;
        self.pats.iter().map(|p| p.len() + 16).sum::<usize>()
            + self.filter.memory_usage()
            + self.buckets.len() * 16
            + self.entries.len() * 8
            + self.pair_lists.values().map(lists).sum::<usize>()
            + self.singles.iter().map(|(_, l)| lists(l)).sum::<usize>()
    }

    /// Call `on(pattern, start)` for occurrences in `text` (see the module
    /// invariant).
    #[inline]
    pub fn scan(&self, text: &[u8], mut on: impl FnMut(u32, usize)) {
        self.filter
            .candidates(text, |at| self.verify(text, at, &mut on));
        for (b, list) in &self.singles {
            let Some(first) = memchr::memchr(*b, text) else {
                continue;
            };
            let last = memchr::memrchr(*b, text).unwrap_or(first);
            for &p in list {
                on(p, first);
                if last != first {
                    on(p, last);
                }
            }
        }
    }

    /// Report the patterns occurring at or around candidate position `at`:
    /// short patterns starting at it, and those whose window sits at it.
    #[inline(never)]
    fn verify(&self, text: &[u8], at: usize, on: &mut impl FnMut(u32, usize)) {
        if let Some(&[a, b]) = text.get(at..at + 2) {
            for &p in self
                .pair_lists
                .get(&u16::from_le_bytes([a, b]))
                .map_or(&[][..], |l| l)
            {
                let pat = self.pats.get(p as usize).map_or(&[][..], |x| x);
                if eq_at(text, at, pat) {
                    on(p, at);
                }
            }
        }
        let Some(w) = window_at(text, at) else {
            return;
        };
        let Some(&(a, b)) = self.buckets.get(&w) else {
            return;
        };
        for &(p, off) in self.entries.get(a as usize..b as usize).unwrap_or_default() {
            let Some(start) = at.checked_sub(off as usize) else {
                continue;
            };
            let pat = self.pats.get(p as usize).map_or(&[][..], |x| x);
            if eq_at(text, start, pat) {
                on(p, start);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every occurrence by brute force, sorted.
    fn naive(pats: &[&str], text: &str) -> Vec<(u32, usize)> {
        let mut out = Vec::new();
        for (pi, p) in pats.iter().enumerate() {
            if p.is_empty() {
                continue;
            }
            for s in 0..text.len() {
                if text.as_bytes()[s..].starts_with(p.as_bytes()) {
                    out.push((pi as u32, s));
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// The module invariant against brute force: per pattern, only true
    /// occurrences, none twice, the first and the last among them.
    fn check(set: &SubstringSet, pats: &[&str], text: &str) {
        let mut got = Vec::new();
        set.scan(text.as_bytes(), |p, s| got.push((p, s)));
        got.sort_unstable();
        assert!(
            got.windows(2).all(|w| w[0] != w[1]),
            "duplicate report in {text:?}"
        );
        let all = naive(pats, text);
        for g in &got {
            assert!(all.contains(g), "false report {g:?} in {text:?}");
        }
        for p in 0..pats.len() as u32 {
            let occ: Vec<usize> = all.iter().filter(|o| o.0 == p).map(|o| o.1).collect();
            for must in [occ.first(), occ.last()].into_iter().flatten() {
                assert!(
                    got.contains(&(p, *must)),
                    "pattern {p} at {must} missing in {text:?}"
                );
            }
        }
    }

    #[test]
    fn finds_first_and_last_occurrences() {
        let pats = [
            "powershell",
            "power",
            "shell",
            "aaaa",
            "aa",
            "a",
            "",
            "c:\\windows\\system32\\",
            "\\system32\\cmd.exe",
            "-enc ",
            "sh",
            "power",
        ];
        let set = SubstringSet::new(&pats);
        for text in [
            "",
            "a",
            "aaaaaa",
            "c:\\windows\\system32\\cmd.exe -enc aGVsbG8=",
            "powershell.exe -nop -w hidden; powershellpowershell",
            "xx-enc",
            "shel",
        ] {
            check(&set, &pats, text);
        }
    }

    #[test]
    fn agrees_with_brute_force_on_generated_text() {
        // Patterns and texts over a small alphabet, so that windows collide
        // and buckets hold several patterns.
        let alphabet = b"ab\\.e";
        let mut seed = 0x2545_f491_u32;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            (seed as usize) % n
        };
        let mut gen = |len: usize| -> String {
            (0..len)
                .map(|_| char::from(alphabet[next(alphabet.len())]))
                .collect()
        };
        let owned: Vec<String> = (0..200).map(|i| gen(1 + i % 20)).collect();
        let pats: Vec<&str> = owned.iter().map(String::as_str).collect();
        let set = SubstringSet::new(&pats);
        for len in [0, 3, 4, 17, 34, 35, 36, 64, 300, 2000] {
            let text = gen(len);
            check(&set, &pats, &text);
        }
    }

    #[test]
    fn eq_at_agrees_with_starts_with() {
        let text: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for at in 0..=text.len() + 1 {
            for n in 0..=24 {
                let Some(occurring) = text.get(at..at + n) else {
                    assert!(!eq_at(&text, at, &text[..n.min(text.len())]));
                    continue;
                };
                assert!(eq_at(&text, at, occurring), "at {at}, len {n}");
                for flip in 0..n {
                    let mut other = occurring.to_vec();
                    other[flip] ^= 0x20;
                    assert!(!eq_at(&text, at, &other), "at {at}, len {n}, byte {flip}");
                }
            }
        }
    }
}
