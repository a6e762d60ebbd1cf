//! Shared helpers for the integration tests: plan building and a tiny PRNG.
#![allow(dead_code)]

use serde_json::{json, Value};

/// xorshift64*: deterministic, dependency-free randomness for tests.
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

pub fn rule(cond: Value) -> Value {
    json!({"id":"r","title":"t","level":null,"status":null,"tags":[],"name":null,"path":"p","condition":cond,"emit":true})
}

pub fn plan(fields: &[&str], preds: Vec<Value>, rules: Vec<Value>) -> String {
    json!({
        "version": 1,
        "fields": fields,
        "predicates": preds,
        "rules": rules,
        "correlations": [],
        "options": {"maxEventBytes": 10000, "maxDepth": 8, "timestampField": null, "threads": 1}
    })
    .to_string()
}

pub fn s(field: i64, mode: &str, value: &str, cased: bool) -> Value {
    json!({"field": field, "op": {"kind":"string","mode":mode,"value":value,"cased":cased}})
}
