//! xorshift64*: deterministic, dependency-free randomness for the tests,
//! the integration tests' (`common`) and the evaluator's unit tests
//! (`eval::test_rng`, included by path) alike.
// Each test crate uses part of it.
#![allow(dead_code)]

/// Reproducible from its seed, which must not be 0.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }

    pub fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }
}
