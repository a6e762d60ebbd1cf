//! Shared helpers for the integration tests: plan building and a tiny PRNG.
#![allow(dead_code)]

use serde_json::{json, Value};

mod rng;
// Not every test crate draws random cases.
#[allow(unused_imports)]
pub use rng::Rng;

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
