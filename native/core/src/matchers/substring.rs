//! Many literal byte strings, every occurrence found in one pass over a
//! text.
//!
//! Why not an Aho-Corasick DFA for every field: its transition table grows
//! with the patterns (79 MiB and most of a second to build for the 9k
//! `CommandLine` patterns of SigmaHQ; 133 MiB over all fields). This index
//! takes about 0.5 MiB for those patterns and milliseconds to build, and
//! scans at a DFA's speed on this machine (400-500 MB/s), so large sets use
//! it and small ones keep the DFA (`literal.rs`). Here
//! each pattern is indexed under one 4-byte window of itself, chosen so
//! that few other patterns share it; a bitmap of window hashes, sized to
//! stay in L1/L2, filters the text's positions independently of each other;
//! a position that passes is verified against the patterns of its window
//! with one comparison each. Patterns of 2 or 3 bytes are found from an
//! exact table of their first two bytes, single bytes from a byte table.
//!
//! Invariant: `scan` reports every occurrence of every pattern exactly once
//! (a pattern has one window, and an occurrence has one position of it).

use crate::hash::FxHashMap;

/// Window length in bytes.
const W: usize = 4;
/// Multiplicative hash of a window (the 64-bit golden-ratio constant); the
/// filter takes two bit indices from the product (a Bloom filter with two
/// probes: repetitive text such as base64 otherwise hits one unlucky
/// colliding bit again and again).
const K: u64 = 0x9E37_79B9_7F4A_7C15;
/// Filter bits per indexed pattern (false positives ≈ (2/32)² per position).
const BITS_PER_PATTERN: usize = 32;
const MIN_FILTER_BITS: u32 = 10;
/// 2^20 bits = 128 KiB: past this the filter would leave L2.
const MAX_FILTER_BITS: u32 = 20;

#[derive(Debug, Clone)]
pub struct SubstringSet {
    pats: Vec<Box<[u8]>>,
    /// Both `probes(window)` bits are set for every indexed window.
    filter: Vec<u64>,
    bits: u32,
    /// Window → range of `entries`.
    buckets: FxHashMap<u32, (u32, u32)>,
    /// (pattern, offset of its window in it), grouped by window.
    entries: Vec<(u32, u32)>,
    /// Bit `first two bytes` is set for every 2- and 3-byte pattern (an
    /// exact 2^16-bit table; empty when there are none).
    pairs: Vec<u64>,
    pair_lists: FxHashMap<u16, Vec<u32>>,
    /// Single-byte patterns by byte (empty when there are none).
    singles: Vec<Vec<u32>>,
}

#[inline]
fn window_at(text: &[u8], i: usize) -> Option<u32> {
    let w = text.get(i..i + W)?;
    Some(u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
}

/// `text[at..]` starts with `pat`. A byte loop: patterns are short and
/// most candidates differ early, where a `memcmp` call costs more.
#[inline]
fn eq_at(text: &[u8], at: usize, pat: &[u8]) -> bool {
    text.get(at..at + pat.len())
        .is_some_and(|t| t.iter().zip(pat).all(|(a, b)| a == b))
}

#[inline]
fn bit(table: &[u64], i: usize) -> bool {
    table.get(i >> 6).is_some_and(|x| (x >> (i & 63)) & 1 != 0)
}

/// The two filter bit indices of a window, for a filter of 2^`bits` bits.
#[inline(always)]
fn probes(w: u32, bits: u32) -> [usize; 2] {
    let p = u64::from(w).wrapping_mul(K);
    let mask = (1usize << bits) - 1;
    [
        (p >> (64 - bits)) as usize & mask,
        (p >> 20) as usize & mask,
    ]
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
        let bits = (chosen.len() * BITS_PER_PATTERN)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(MIN_FILTER_BITS, MAX_FILTER_BITS);
        let mut filter = vec![0u64; 1 << (bits - 6)];
        let mut buckets = FxHashMap::default();
        let mut entries = Vec::with_capacity(chosen.len());
        for group in chosen.chunk_by(|a, b| a.0 == b.0) {
            let w = group.first().map_or(0, |g| g.0);
            let start = entries.len() as u32;
            entries.extend(group.iter().map(|&(_, p, o)| (p, o)));
            buckets.insert(w, (start, entries.len() as u32));
            for h in probes(w, bits) {
                if let Some(x) = filter.get_mut(h >> 6) {
                    *x |= 1 << (h & 63);
                }
            }
        }
        let mut pairs = Vec::new();
        let mut pair_lists: FxHashMap<u16, Vec<u32>> = FxHashMap::default();
        let mut singles = Vec::new();
        for (pi, p) in pats.iter().enumerate() {
            match **p {
                [b] => {
                    if singles.is_empty() {
                        singles.resize_with(256, Vec::new);
                    }
                    if let Some(list) = singles.get_mut(usize::from(b)) {
                        list.push(pi as u32);
                    }
                }
                [a, b] | [a, b, _] => {
                    if pairs.is_empty() {
                        pairs = vec![0u64; 1 << 10];
                    }
                    let key = u16::from_le_bytes([a, b]);
                    if let Some(x) = pairs.get_mut(usize::from(key) >> 6) {
                        *x |= 1 << (key & 63);
                    }
                    pair_lists.entry(key).or_default().push(pi as u32);
                }
                _ => {}
            }
        }
        SubstringSet {
            pats,
            filter,
            bits,
            buckets,
            entries,
            pairs,
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
            + (self.filter.len() + self.pairs.len()) * 8
            + self.buckets.len() * 16
            + self.entries.len() * 8
            + self.pair_lists.values().map(lists).sum::<usize>()
            + self.singles.iter().map(lists).sum::<usize>()
    }

    /// Call `on(pattern, start)` for every occurrence in `text`.
    #[inline]
    pub fn scan(&self, text: &[u8], mut on: impl FnMut(u32, usize)) {
        self.scan_windows(text, &mut on);
        if !self.singles.is_empty() {
            for (i, &b) in text.iter().enumerate() {
                for &p in self.singles.get(usize::from(b)).map_or(&[][..], |l| l) {
                    on(p, i);
                }
            }
        }
    }

    /// Whether position `i`, whose next bytes are `w` (little-endian), may
    /// start a short pattern or hold an indexed window.
    #[inline(always)]
    fn may_match(&self, w: u32) -> bool {
        let [h1, h2] = probes(w, self.bits);
        (bit(&self.filter, h1) && bit(&self.filter, h2)) || bit(&self.pairs, usize::from(w as u16))
    }

    /// The filter over every position: one 8-byte load yields the next
    /// bytes of 5 consecutive positions, whose tests do not depend on each
    /// other.
    fn scan_windows(&self, text: &[u8], on: &mut impl FnMut(u32, usize)) {
        const STEP: usize = 8 - W + 1;
        let mut i = 0;
        while let Some(chunk) = text.get(i..i + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let x = u64::from_le_bytes(word);
            let mut any = false;
            for k in 0..STEP {
                any |= self.may_match((x >> (8 * k)) as u32);
            }
            if any {
                for k in 0..STEP {
                    if self.may_match((x >> (8 * k)) as u32) {
                        self.verify(text, i + k, on);
                    }
                }
            }
            i += STEP;
        }
        while i < text.len() {
            self.verify(text, i, on);
            i += 1;
        }
    }

    /// Report the patterns occurring at or around position `at`: short
    /// patterns starting at it, and those whose window sits at it.
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

    fn found(set: &SubstringSet, text: &str) -> Vec<(u32, usize)> {
        let mut out = Vec::new();
        set.scan(text.as_bytes(), |p, s| out.push((p, s)));
        out.sort_unstable();
        out
    }

    #[test]
    fn finds_every_overlapping_occurrence_once() {
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
            assert_eq!(found(&set, text), naive(&pats, text), "text {text:?}");
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
        let owned: Vec<String> = (0..200).map(|i| gen(1 + i % 9)).collect();
        let pats: Vec<&str> = owned.iter().map(String::as_str).collect();
        let set = SubstringSet::new(&pats);
        for len in [0, 3, 4, 17, 64, 300] {
            let text = gen(len);
            assert_eq!(found(&set, &text), naive(&pats, &text), "text {text:?}");
        }
    }
}
