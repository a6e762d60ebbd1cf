//! Row bitsets over one batch (`Bitset`, one bit per row, `Vec<u64>` words)
//! and sparse per-predicate hit storage (`HitSets`). Invariant: bits at or
//! past `len` are always zero, so `count`/`any`/`iter_ones` never report rows
//! outside the batch. `HitSets` allocates a predicate's bitset only on its
//! first hit and remembers the touched predicates, so clearing between
//! batches costs O(touched), not O(predicates).

/// The rows set in `words` (64 rows per word, in order), ascending.
fn set_rows(words: impl Iterator<Item = u64>) -> impl Iterator<Item = usize> {
    words.enumerate().flat_map(|(i, mut w)| {
        std::iter::from_fn(move || {
            if w == 0 {
                return None;
            }
            let t = w.trailing_zeros() as usize;
            w &= w - 1;
            Some(i * 64 + t)
        })
    })
}

/// A fixed-length set of rows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bitset {
    words: Vec<u64>,
    len: usize,
}

#[inline]
fn nwords(len: usize) -> usize {
    len.div_ceil(64)
}

impl Bitset {
    pub fn new(len: usize) -> Bitset {
        Bitset {
            words: vec![0; nwords(len)],
            len,
        }
    }

    /// Reset to `len` rows, all clear, reusing the allocation.
    pub fn reset(&mut self, len: usize) {
        self.words.clear();
        self.words.resize(nwords(len), 0);
        self.len = len;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    pub fn set(&mut self, row: usize) {
        if row < self.len {
            if let Some(w) = self.words.get_mut(row / 64) {
                *w |= 1u64 << (row % 64);
            }
        }
    }

    /// Clear one row's bit.
    #[inline]
    pub fn unset(&mut self, row: usize) {
        if let Some(w) = self.words.get_mut(row / 64) {
            *w &= !(1u64 << (row % 64));
        }
    }

    #[inline]
    pub fn get(&self, row: usize) -> bool {
        self.words
            .get(row / 64)
            .is_some_and(|w| w & (1u64 << (row % 64)) != 0)
    }

    fn trim(&mut self) {
        let rem = self.len % 64;
        if rem != 0 {
            if let Some(w) = self.words.last_mut() {
                *w &= (1u64 << rem) - 1;
            }
        }
    }

    /// Set every row.
    pub fn fill(&mut self) {
        self.words.iter_mut().for_each(|w| *w = !0);
        self.trim();
    }

    pub fn clear_all(&mut self) {
        self.words.iter_mut().for_each(|w| *w = 0);
    }

    /// Become a copy of `other` (same length), reusing the allocation.
    pub fn copy_from(&mut self, other: &Bitset) {
        self.words.clear();
        self.words.extend_from_slice(&other.words);
        self.len = other.len;
    }

    pub fn and_with(&mut self, other: &Bitset) {
        for (a, b) in self.words.iter_mut().zip(other.words.iter()) {
            *a &= *b;
        }
        // Words missing from `other` count as zero.
        let n = other.words.len().min(self.words.len());
        self.words.iter_mut().skip(n).for_each(|w| *w = 0);
    }

    pub fn or_with(&mut self, other: &Bitset) {
        for (a, b) in self.words.iter_mut().zip(other.words.iter()) {
            *a |= *b;
        }
        self.trim();
    }

    /// `self &= !other`.
    pub fn andnot_with(&mut self, other: &Bitset) {
        for (a, b) in self.words.iter_mut().zip(other.words.iter()) {
            *a &= !*b;
        }
    }

    /// `self = valid & !self`: negation within the valid rows.
    pub fn not_within(&mut self, valid: &Bitset) {
        for (a, b) in self.words.iter_mut().zip(valid.words.iter()) {
            *a = !*a & *b;
        }
        let n = valid.words.len().min(self.words.len());
        self.words.iter_mut().skip(n).for_each(|w| *w = 0);
    }

    pub fn any(&self) -> bool {
        self.words.iter().any(|w| *w != 0)
    }

    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Rows that are set, ascending.
    pub fn iter_ones(&self) -> impl Iterator<Item = usize> + '_ {
        set_rows(self.words.iter().copied())
    }
}

/// The rows of a batch of at most `SmallRows::CAPACITY` rows, held by
/// value: a condition over such a batch (DoExchange's low-latency batches
/// are ~100 rows) combines a few words in registers instead of `Bitset`s
/// taken from a pool. Invariant, as for `Bitset`: bits of rows past the
/// batch are zero, provided the operands' are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SmallRows([u64; SMALL_WORDS]);

const SMALL_WORDS: usize = 4;

impl SmallRows {
    pub const CAPACITY: usize = SMALL_WORDS * 64;
    pub const EMPTY: SmallRows = SmallRows([0; SMALL_WORDS]);

    /// The first `CAPACITY` rows of `b`.
    #[inline]
    pub fn of(b: &Bitset) -> SmallRows {
        let mut w = [0; SMALL_WORDS];
        for (d, s) in w.iter_mut().zip(&b.words) {
            *d = *s;
        }
        SmallRows(w)
    }

    #[inline]
    pub fn and(self, o: SmallRows) -> SmallRows {
        SmallRows(std::array::from_fn(|i| self.0[i] & o.0[i]))
    }

    #[inline]
    pub fn or(self, o: SmallRows) -> SmallRows {
        SmallRows(std::array::from_fn(|i| self.0[i] | o.0[i]))
    }

    /// `self & !o`.
    #[inline]
    pub fn and_not(self, o: SmallRows) -> SmallRows {
        SmallRows(std::array::from_fn(|i| self.0[i] & !o.0[i]))
    }

    #[inline]
    pub fn any(self) -> bool {
        self.0.iter().any(|&w| w != 0)
    }

    /// Rows that are set, ascending.
    pub fn iter_ones(self) -> impl Iterator<Item = usize> {
        set_rows(self.0.into_iter())
    }
}

/// Per-predicate hit bitsets, allocated lazily.
#[derive(Debug, Default)]
pub struct HitSets {
    sets: Vec<Bitset>,
    allocated: Vec<bool>,
    touched: Vec<u32>,
    len: usize,
}

impl HitSets {
    /// Prepare for a batch of `rows` rows over `npreds` predicates; clears
    /// the previous batch's hits.
    pub fn reset(&mut self, npreds: usize, rows: usize) {
        for &p in &self.touched {
            if let Some(a) = self.allocated.get_mut(p as usize) {
                *a = false;
            }
        }
        self.touched.clear();
        if self.sets.len() != npreds {
            self.sets.resize_with(npreds, Bitset::default);
            self.allocated.resize(npreds, false);
        }
        self.len = rows;
    }

    #[inline]
    pub fn set(&mut self, pred: u32, row: usize) {
        let p = pred as usize;
        let Some(alloc) = self.allocated.get_mut(p) else {
            return;
        };
        let Some(set) = self.sets.get_mut(p) else {
            return;
        };
        if !*alloc {
            *alloc = true;
            set.reset(self.len);
            self.touched.push(pred);
        }
        set.set(row);
    }

    /// The predicate's hits, or None when it has none in this batch.
    #[inline]
    pub fn get(&self, pred: u32) -> Option<&Bitset> {
        let p = pred as usize;
        if *self.allocated.get(p)? {
            self.sets.get(p)
        } else {
            None
        }
    }

    /// Replace a predicate's hits wholesale (used by exists/null).
    pub fn set_all(&mut self, pred: u32, bits: &Bitset) {
        if !bits.any() {
            return;
        }
        let p = pred as usize;
        if let (Some(alloc), Some(set)) = (self.allocated.get_mut(p), self.sets.get_mut(p)) {
            if !*alloc {
                *alloc = true;
                self.touched.push(pred);
                set.copy_from(bits);
            } else {
                set.or_with(bits);
            }
        }
    }

    pub fn touched(&self) -> &[u32] {
        &self.touched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops() {
        let mut a = Bitset::new(130);
        a.set(0);
        a.set(64);
        a.set(129);
        a.set(500);
        assert_eq!(a.iter_ones().collect::<Vec<_>>(), vec![0, 64, 129]);
        let mut v = Bitset::new(130);
        v.fill();
        assert_eq!(v.count(), 130);
        let mut n = a.clone();
        n.not_within(&v);
        assert_eq!(n.count(), 127);
        n.and_with(&a);
        assert!(!n.any());
        n.or_with(&a);
        assert_eq!(n, a);
        n.andnot_with(&a);
        assert!(!n.any());
    }

    #[test]
    fn sparse() {
        let mut h = HitSets::default();
        h.reset(10, 100);
        assert!(h.get(3).is_none());
        h.set(3, 7);
        assert_eq!(h.get(3).map(|b| b.count()), Some(1));
        assert_eq!(h.touched(), &[3]);
        h.reset(10, 50);
        assert!(h.get(3).is_none());
        h.set(99, 1); // out of range: ignored
    }
}
