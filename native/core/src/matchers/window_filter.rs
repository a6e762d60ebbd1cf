//! The first stage of `substring::SubstringSet`: which positions of a text
//! may start an indexed 4-byte window or a short (2-3 byte) pattern.
//!
//! Two bit tables: one over a multiplicative hash of the indexed windows
//! (sized to stay in L1/L2, so it has false positives), one exact table
//! over the first two bytes of the short patterns. A position passes when
//! its window's hash bit or its pair's bit is set.
//!
//! Invariant: `candidates` reports, in ascending order and once each, every
//! position whose 4-byte window was indexed or whose first two bytes start
//! a short pattern; it may report other positions too (hash collisions).
//!
//! With AVX2 (detected at run time) the windows of 32 positions are hashed
//! in four vector multiplies and their bits fetched with gathers, about
//! 4× the speed of the scalar loop on long texts; without it, a scalar loop
//! tests five positions per 8-byte load.

/// Window length in bytes.
pub const W: usize = 4;
/// Multiplicative hash of a window (32-bit golden ratio); the table index
/// is the product's top bits.
const K: u32 = 0x9E37_79B1;
/// Table bits per indexed window: about 1/256 of the positions of random
/// text pass.
const BITS_PER_WINDOW: usize = 256;
const MIN_BITS: u32 = 10;
/// 2^19 bits = 64 KiB: past this the table leaves L2 and gathers stall.
const MAX_BITS: u32 = 19;
/// The pair table has one bit per 2-byte prefix.
const PAIR_WORDS: usize = (1 << 16) / 32;

#[derive(Debug, Clone)]
pub struct WindowFilter {
    /// Bit `hash(window)` is set for every indexed window.
    windows: Vec<u32>,
    bits: u32,
    /// Bit `first two bytes` is set for every short pattern; empty when
    /// there are none.
    pairs: Vec<u32>,
    avx2: bool,
}

#[inline(always)]
fn hash(w: u32, bits: u32) -> u32 {
    w.wrapping_mul(K) >> (32 - bits)
}

#[inline(always)]
fn bit(table: &[u32], i: u32) -> bool {
    table
        .get((i >> 5) as usize)
        .is_some_and(|x| (x >> (i & 31)) & 1 != 0)
}

fn set_bit(table: &mut [u32], i: u32) {
    if let Some(x) = table.get_mut((i >> 5) as usize) {
        *x |= 1 << (i & 31);
    }
}

/// The (up to) 4 bytes of `text` at `i`, little-endian, zero-padded.
#[inline(always)]
pub fn window_at(text: &[u8], i: usize) -> Option<u32> {
    let w = text.get(i..i + W)?;
    Some(u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
}

impl WindowFilter {
    /// A filter for `windows` (4-byte windows, little-endian) and `pairs`
    /// (first two bytes of the short patterns, little-endian).
    pub fn new(windows: &[u32], pairs: &[u16]) -> WindowFilter {
        let bits = (windows.len() * BITS_PER_WINDOW)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(MIN_BITS, MAX_BITS);
        let mut table = vec![0u32; 1 << (bits - 5)];
        for &w in windows {
            set_bit(&mut table, hash(w, bits));
        }
        let mut pair_table = Vec::new();
        if !pairs.is_empty() {
            pair_table = vec![0u32; PAIR_WORDS];
            for &p in pairs {
                set_bit(&mut pair_table, u32::from(p));
            }
        }
        WindowFilter {
            windows: table,
            bits,
            pairs: pair_table,
            avx2: avx2_available(),
        }
    }

    /// Heap bytes held.
    pub fn memory_usage(&self) -> usize {
        (self.windows.len() + self.pairs.len()) * 4
    }

    /// Whether the window `w` at a position with `left` bytes from it to
    /// the end of the text passes.
    #[inline(always)]
    fn passes(&self, w: u32, left: usize) -> bool {
        (left >= W && bit(&self.windows, hash(w, self.bits)))
            || (left >= 2 && bit(&self.pairs, w & 0xffff))
    }

    /// Call `on(position)` for every candidate position (see the module
    /// invariant).
    #[inline]
    pub fn candidates(&self, text: &[u8], mut on: impl FnMut(usize)) {
        let mut from = 0;
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is set only when the CPU supports AVX2.
            from = unsafe { self.candidates_avx2(text, &mut on) };
        }
        self.candidates_scalar(text, from, &mut on);
    }

    /// Positions from `from` on, five per 8-byte load.
    fn candidates_scalar(&self, text: &[u8], from: usize, on: &mut impl FnMut(usize)) {
        const STEP: usize = 8 - W + 1;
        let mut i = from;
        while let Some(chunk) = text.get(i..i + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let x = u64::from_le_bytes(word);
            let mut any = false;
            for k in 0..STEP {
                any |= self.passes((x >> (8 * k)) as u32, W);
            }
            if any {
                for k in 0..STEP {
                    if self.passes((x >> (8 * k)) as u32, W) {
                        on(i + k);
                    }
                }
            }
            i += STEP;
        }
        while i < text.len() {
            let rest = text.get(i..).unwrap_or_default();
            let mut word = [0u8; 4];
            let n = rest.len().min(W);
            word[..n].copy_from_slice(&rest[..n]);
            if self.passes(u32::from_le_bytes(word), rest.len()) {
                on(i);
            }
            i += 1;
        }
    }

    /// Positions in blocks of 32 while a block's windows lie inside `text`;
    /// returns the first position not examined.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn candidates_avx2(&self, text: &[u8], on: &mut impl FnMut(usize)) -> usize {
        use std::arch::x86_64::*;
        const BLOCK: usize = 32;
        let n = text.len();
        let p = text.as_ptr();
        let table = self.windows.as_ptr() as *const i32;
        let pairs = self.pairs.as_ptr() as *const i32;
        let has_pairs = !self.pairs.is_empty();
        let k = _mm256_set1_epi32(K as i32);
        let shift = _mm_cvtsi32_si128((32 - self.bits) as i32);
        let word_shift = _mm_cvtsi32_si128(5);
        let low5 = _mm256_set1_epi32(31);
        let low16 = _mm256_set1_epi32(0xffff);
        let one = _mm256_set1_epi32(1);
        // The test of one table for eight positions: bit `idx` of `base`.
        let test = |base: *const i32, idx: __m256i| {
            let words = _mm256_i32gather_epi32::<4>(base, _mm256_srl_epi32(idx, word_shift));
            _mm256_and_si256(_mm256_srlv_epi32(words, _mm256_and_si256(idx, low5)), one)
        };
        let mut i = 0;
        // Loads reach byte i + 3 + 31, so a block needs i + BLOCK + 3 <= n.
        while i + BLOCK + W - 1 <= n {
            let mut mask = 0u32;
            for lane in 0..W {
                // SAFETY: bytes i + lane .. i + lane + 32 are inside `text`
                // (loop condition); gather indices are below the table
                // sizes (hash < 2^bits, pair index < 2^16).
                let v = _mm256_loadu_si256(p.add(i + lane) as *const __m256i);
                let mut hit = test(table, _mm256_srl_epi32(_mm256_mullo_epi32(v, k), shift));
                if has_pairs {
                    hit = _mm256_or_si256(hit, test(pairs, _mm256_and_si256(v, low16)));
                }
                let lanes =
                    _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(hit, one))) as u32;
                // Dword j of the load at i + lane is the window at
                // position i + lane + 4j.
                let mut b = lanes;
                while b != 0 {
                    let j = b.trailing_zeros();
                    mask |= 1 << (lane as u32 + 4 * j);
                    b &= b - 1;
                }
            }
            while mask != 0 {
                on(i + mask.trailing_zeros() as usize);
                mask &= mask - 1;
            }
            i += BLOCK;
        }
        i
    }
}

fn avx2_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every position the filter must report, by brute force.
    fn required(windows: &[u32], pairs: &[u16], text: &[u8]) -> Vec<usize> {
        (0..text.len())
            .filter(|&i| {
                window_at(text, i).is_some_and(|w| windows.contains(&w))
                    || text
                        .get(i..i + 2)
                        .is_some_and(|p| pairs.contains(&u16::from_le_bytes([p[0], p[1]])))
            })
            .collect()
    }

    fn reported(f: &WindowFilter, text: &[u8]) -> Vec<usize> {
        let mut out = Vec::new();
        f.candidates(text, |i| out.push(i));
        out
    }

    #[test]
    fn reports_every_required_position_in_order_once_on_both_paths() {
        let words = ["\\sys", "cmd.", "-enc", "aaaa", "e -n"];
        let windows: Vec<u32> = words
            .iter()
            .filter_map(|w| window_at(w.as_bytes(), 0))
            .collect();
        let pairs = [u16::from_le_bytes(*b"-s"), u16::from_le_bytes(*b"dd")];
        let mut text = Vec::new();
        for i in 0..300 {
            text.extend_from_slice(
                ["c:\\system32\\cmd.exe -enc ", "xaaaaa", "dd if=x -s", "q"][i % 4].as_bytes(),
            );
        }
        for with_avx2 in [false, true] {
            let mut f = WindowFilter::new(&windows, &pairs);
            if with_avx2 && !f.avx2 {
                continue;
            }
            f.avx2 = with_avx2;
            for len in [0, 1, 2, 3, 4, 5, 31, 34, 35, 36, 67, 100, text.len()] {
                let t = &text[..len];
                let got = reported(&f, t);
                assert!(got.windows(2).all(|p| p[0] < p[1]), "ascending, once");
                for r in required(&windows, &pairs, t) {
                    assert!(
                        got.contains(&r),
                        "position {r} of {len} bytes (avx2 {with_avx2})"
                    );
                }
            }
        }
    }

    #[test]
    fn both_paths_report_the_same_positions() {
        let windows: Vec<u32> = (0..500u32)
            .map(|i| i.wrapping_mul(0x0101_0301) ^ 0x6161_6161)
            .collect();
        let f = WindowFilter::new(&windows, &[u16::from_le_bytes(*b"ab")]);
        if !f.avx2 {
            return;
        }
        let mut scalar = f.clone();
        scalar.avx2 = false;
        let text: Vec<u8> = (0..5000u32)
            .map(|i| b"abcdefgh \\."[(i * 7 % 11) as usize])
            .collect();
        assert_eq!(reported(&f, &text), reported(&scalar, &text));
    }
}
