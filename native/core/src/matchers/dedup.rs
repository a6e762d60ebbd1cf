//! Per-batch value deduplication. Real logs repeat values (Image, Channel,
//! CallTrace, TargetObject, ...), so the evaluator runs a field's matchers
//! once per DISTINCT value of the batch and scatters the cached predicate
//! hits to every row holding that value. `ValueCache` is an open-addressing
//! table keyed by the value's text (compared in full, the hash only
//! narrows), holding for each distinct value an entry id and the sorted,
//! deduplicated list of predicates it satisfies. Probing is bounded
//! (`MAX_PROBE`): a value that finds no slot (a full neighbourhood, e.g.
//! crafted colliding input) is still given an entry, just not linked in the
//! table, so the worst case degrades to one matcher run per value, never to
//! quadratic time. Entry ids double as distinct-value ids, which the
//! evaluator uses to memoise expensive predicates per distinct value.

use crate::hash::{load_le, SEED as K};

/// Slots looked at before giving up on caching a value.
const MAX_PROBE: usize = 16;

#[derive(Clone, Copy, Debug)]
struct Entry {
    hash: u64,
    /// Index (in column order) of the value that created the entry.
    value: u32,
    start: u32,
    end: u32,
}

/// Where a missing value may be inserted.
#[derive(Clone, Copy, Debug)]
pub struct Slot(Option<usize>);

/// The distinct values of one field over one batch, with their hits.
#[derive(Debug, Default)]
pub struct ValueCache {
    /// 0 = empty, else entry index + 1.
    slots: Vec<u32>,
    shift: u32,
    entries: Vec<Entry>,
    preds: Vec<u32>,
}

/// 64×64→128-bit multiply, halves xor-ed: every output bit depends on
/// every input bit of both words (the wyhash/foldhash mixer).
#[inline]
fn fold(a: u64, b: u64) -> u64 {
    let p = (a as u128).wrapping_mul(b as u128);
    (p as u64) ^ ((p >> 64) as u64)
}

/// Secrets xor-ed into the words before folding, so that zero words do not
/// fold to zero (odd, high-entropy constants).
const S0: u64 = 0x243f_6a88_85a3_08d3;
const S1: u64 = 0x1319_8a2e_0370_7345;
const S2: u64 = 0xa409_3822_299f_31d1;

/// The hash of a value's text, whose high bits index the table. Most values
/// are short (ids, channel names, paths): up to 32 bytes take overlapping
/// word loads and folded multiplies. Longer values run four independent
/// FxHash-style lanes over 32 bytes per step, the last step overlapping the
/// one before (so command lines and call traces hash at memory speed). Every
/// byte and the length reach the result. Not DoS resistant; `MAX_PROBE`
/// bounds the damage of collisions.
#[inline]
pub fn hash_value(v: &str) -> u64 {
    let b = v.as_bytes();
    let n = b.len();
    let word = |at: usize| b.get(at..).map_or(0, load_le);
    let (lo, hi) = if n <= 16 {
        if n >= 8 {
            (word(0), word(n - 8))
        } else if n >= 4 {
            (word(0) & 0xffff_ffff, word(n - 4) & 0xffff_ffff)
        } else {
            // 0..=3 bytes: first, middle and last byte cover them all.
            let at = |i: usize| b.get(i).map_or(0, |&x| x as u64);
            (at(0) | at(n / 2) << 8 | at(n.wrapping_sub(1)) << 16, 0)
        }
    } else if n <= 32 {
        (
            fold(word(0) ^ S2, word(8) ^ S0),
            fold(word(n - 16) ^ S1, word(n - 8) ^ S2),
        )
    } else {
        let mut l = [K, K.rotate_left(17), K.rotate_left(31), K.rotate_left(47)];
        let mut step = |c: &[u8]| {
            for (i, x) in l.iter_mut().enumerate() {
                let w = c.get(i * 8..).map_or(0, load_le);
                *x = (x.rotate_left(5) ^ w).wrapping_mul(K);
            }
        };
        let mut chunks = b.chunks_exact(32);
        for c in &mut chunks {
            step(c);
        }
        if !chunks.remainder().is_empty() {
            step(b.get(n - 32..).unwrap_or(b));
        }
        let [a, b2, c, d] = l;
        (fold(a ^ S2, b2), fold(c ^ S0, d))
    };
    fold(fold(lo ^ S0, hi ^ S1), n as u64 ^ S2)
}

impl ValueCache {
    /// Clear for a column of `values` values, keeping allocations.
    pub fn reset(&mut self, values: usize) {
        let cap = (values.max(8) * 2).next_power_of_two();
        self.slots.clear();
        self.slots.resize(cap, 0);
        self.shift = 64 - cap.trailing_zeros();
        self.entries.clear();
        self.preds.clear();
    }

    /// Number of entries (distinct ids handed out so far).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Find the entry of a value equal to `v` (hash `h`); `text(i)` is the
    /// text of value `i`. On a miss, returns where to insert it.
    #[inline]
    pub fn find<'t>(
        &self,
        h: u64,
        v: &str,
        text: impl Fn(u32) -> Option<&'t str>,
    ) -> Result<u32, Slot> {
        let mask = self.slots.len().wrapping_sub(1);
        let mut i = (h >> self.shift) as usize & mask;
        for _ in 0..MAX_PROBE.min(self.slots.len()) {
            let Some(&s) = self.slots.get(i) else {
                break;
            };
            if s == 0 {
                return Err(Slot(Some(i)));
            }
            let id = s - 1;
            if let Some(e) = self.entries.get(id as usize) {
                if e.hash == h && text(e.value) == Some(v) {
                    return Ok(id);
                }
            }
            i = (i + 1) & mask;
        }
        Err(Slot(None))
    }

    /// The id of the entry of `v` (hash `h`; `text(i)` is the text of value
    /// `i`), made now when missing: `scan` appends the value's predicates,
    /// and the entry records `value`, the index whose text is `v`.
    #[inline]
    pub fn get_or_scan<'t>(
        &mut self,
        h: u64,
        v: &str,
        value: u32,
        text: impl Fn(u32) -> Option<&'t str>,
        scan: impl FnOnce(&mut Vec<u32>),
    ) -> u32 {
        match self.find(h, v, text) {
            Ok(id) => id,
            Err(slot) => {
                let start = self.mark();
                scan(&mut self.preds);
                self.commit(slot, h, value, start)
            }
        }
    }

    /// The buffer a new entry's predicates are appended to before `commit`.
    pub fn preds_mut(&mut self) -> &mut Vec<u32> {
        &mut self.preds
    }

    /// Offset where the next entry's predicates start.
    pub fn mark(&self) -> usize {
        self.preds.len()
    }

    /// Close the entry whose predicates were appended since `start` (they
    /// are sorted and deduplicated) for value index `value`; returns its id.
    pub fn commit(&mut self, slot: Slot, h: u64, value: u32, start: usize) -> u32 {
        if let Some(tail) = self.preds.get_mut(start..) {
            if tail.len() > 1 {
                tail.sort_unstable();
                let mut w = 1;
                for r in 1..tail.len() {
                    if tail[r] != tail[w - 1] {
                        tail[w] = tail[r];
                        w += 1;
                    }
                }
                self.preds.truncate(start + w);
            }
        }
        let id = self.entries.len() as u32;
        self.entries.push(Entry {
            hash: h,
            value,
            start: start as u32,
            end: self.preds.len() as u32,
        });
        if let Slot(Some(i)) = slot {
            if let Some(s) = self.slots.get_mut(i) {
                *s = id + 1;
            }
        }
        id
    }

    /// The predicates of entry `id`.
    #[inline]
    pub fn preds(&self, id: u32) -> &[u32] {
        self.entries
            .get(id as usize)
            .and_then(|e| self.preds.get(e.start as usize..e.end as usize))
            .unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(vals: &[&str], c: &mut ValueCache) -> Vec<u32> {
        c.reset(vals.len());
        let mut ids = Vec::new();
        for (i, v) in vals.iter().enumerate() {
            let h = hash_value(v);
            match c.find(h, v, |j| vals.get(j as usize).copied()) {
                Ok(id) => ids.push(id),
                Err(slot) => {
                    let start = c.mark();
                    c.preds_mut().extend([3, 1, 3, v.len() as u32]);
                    ids.push(c.commit(slot, h, i as u32, start));
                }
            }
        }
        ids
    }

    #[test]
    fn dedups_and_keeps_hits() {
        let mut c = ValueCache::default();
        let ids = run(&["a", "bb", "a", "", "bb", ""], &mut c);
        assert_eq!(ids, vec![0, 1, 0, 2, 1, 2]);
        assert_eq!(c.preds(0), &[1, 3]);
        assert_eq!(c.preds(1), &[1, 2, 3]);
        assert_eq!(c.preds(2), &[0, 1, 3]);
        assert_eq!(c.preds(9), &[] as &[u32]);
        // Reset forgets everything.
        let ids = run(&["bb"], &mut c);
        assert_eq!(ids, vec![0]);
    }

    #[test]
    fn hashes_spread_in_the_high_bits() {
        // Values of every length up to 80 bytes: the short paths (0-3, 4-7,
        // 8-16, 17-32) and the lane path, differing at the start, middle or end.
        let mut values = Vec::new();
        for len in 0..=80usize {
            for c in 0..64u8 {
                let mut v = vec![b'x'; len];
                if let Some(first) = v.first_mut() {
                    *first = b'0' + c;
                }
                values.push(String::from_utf8(v.clone()).expect("ascii"));
                if let Some(middle) = v.get_mut(len / 2) {
                    *middle = b'0' + c;
                }
                values.push(String::from_utf8(v.clone()).expect("ascii"));
                if let Some(last) = v.last_mut() {
                    *last = b'0' + c;
                }
                values.push(String::from_utf8(v).expect("ascii"));
            }
        }
        values.sort();
        values.dedup();
        let hashes: std::collections::HashSet<u64> = values.iter().map(|v| hash_value(v)).collect();
        assert_eq!(hashes.len(), values.len(), "no full-hash collisions");
        // 4,096 table slots: random hashes would fill ~1 - 1/e of them with this many values.
        let slots: std::collections::HashSet<u64> = hashes.iter().map(|h| h >> 52).collect();
        let expected = 4096.0 * (1.0 - (-(values.len() as f64) / 4096.0).exp());
        assert!(
            slots.len() as f64 > 0.9 * expected,
            "{} of ~{expected:.0} slots used",
            slots.len()
        );
    }

    #[test]
    fn many_values_and_full_table() {
        let vals: Vec<String> = (0..5000).map(|i| format!("v{}", i % 1234)).collect();
        let refs: Vec<&str> = vals.iter().map(String::as_str).collect();
        let mut c = ValueCache::default();
        let ids = run(&refs, &mut c);
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(ids[i % 1234], *id);
        }
        assert_eq!(c.len(), 1234);
        // A table too small to hold everything (reset for fewer values than
        // pushed) still gives correct, if unshared, ids.
        c.reset(1);
        let mut seen = std::collections::HashMap::new();
        for (i, v) in refs.iter().enumerate() {
            let h = hash_value(v);
            let id = match c.find(h, v, |j| refs.get(j as usize).copied()) {
                Ok(id) => id,
                Err(slot) => {
                    let s = c.mark();
                    c.commit(slot, h, i as u32, s)
                }
            };
            // Same id implies same text.
            if let Some(prev) = seen.insert(id, *v) {
                assert_eq!(prev, *v);
            }
        }
    }
}
