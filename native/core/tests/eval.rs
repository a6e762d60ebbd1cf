//! Engine-level tests: each matcher kind, conditions, keywords, threads,
//! the optimized evaluator against the reference oracle, and JSON vs Arrow.
mod common;

use common::*;
use serde_json::{json, Value};
use sigma_core::json::{FieldIndex, JsonBatch, JsonLimits, JsonParser};
use sigma_core::Engine;

fn engine(fields: &[&str], preds: Vec<Value>, rules: Vec<Value>) -> Engine {
    let (e, errs) = Engine::compile(&plan(fields, preds, rules)).expect("plan");
    assert!(errs.is_empty(), "{errs:?}");
    e
}

/// One rule per predicate; returns, per event line, the list of matching rules.
fn per_pred(fields: &[&str], preds: Vec<Value>, events: &[&str]) -> Vec<Vec<u32>> {
    let n = preds.len();
    let rules = (0..n).map(|i| rule(json!({"pred": i}))).collect();
    let e = engine(fields, preds, rules);
    let out = e.eval_json(events.join("\n").as_bytes()).unwrap();
    let mut res = vec![Vec::new(); events.len()];
    for (row, r) in out.matches {
        res[row as usize].push(r);
    }
    res
}

#[test]
fn literal_modes_and_casing() {
    let preds = vec![
        s(0, "exact", "cmd.exe", false),
        s(0, "exact", "CMD.exe", true),
        s(0, "prefix", "c:\\win", false),
        s(0, "suffix", ".exe", false),
        s(0, "contains", "powershell", false),
        s(0, "contains", "", false),
        s(0, "exact", "", false),
        s(0, "exact", "ärger", false),
        s(0, "contains", "привет", false),
        s(0, "suffix", "EXE", true),
    ];
    let r = per_pred(
        &["Image"],
        preds,
        &[
            r#"{"Image":"CMD.EXE"}"#,
            r#"{"Image":"CMD.exe"}"#,
            r#"{"Image":"C:\\Windows\\PowerShell.exe"}"#,
            r#"{"Image":""}"#,
            r#"{"Image":"ÄRGER"}"#,
            r#"{"Image":"ПРИВЕТ мир"}"#,
            r#"{"Other":"cmd.exe"}"#,
            r#"{"Image":null}"#,
            r#"{"Image":["x.EXE","cmd.exe"]}"#,
        ],
    );
    assert_eq!(r[0], vec![0, 3, 5, 9]);
    assert_eq!(r[1], vec![0, 1, 3, 5]);
    assert_eq!(r[2], vec![2, 3, 4, 5]);
    assert_eq!(r[3], vec![5, 6]);
    assert_eq!(r[4], vec![5, 7]);
    assert_eq!(r[5], vec![5, 8]);
    assert!(r[6].is_empty() && r[7].is_empty());
    assert_eq!(r[8], vec![0, 3, 5, 9]);
}

#[test]
fn glob_regex_numeric_cidr_exists_null() {
    let preds = vec![
        json!({"field":0,"op":{"kind":"glob","parts":[{"lit":"a"},{"one":true},{"lit":"c"}],"cased":false}}),
        json!({"field":0,"op":{"kind":"glob","parts":[{"lit":"x"},{"any":true},{"lit":"yz"}],"cased":true}}),
        json!({"field":0,"op":{"kind":"glob","parts":[{"one":true},{"one":true}],"cased":true}}),
        json!({"field":0,"op":{"kind":"regex","pattern":"^a.c$","flags":{"i":false,"m":false,"s":false}}}),
        json!({"field":0,"op":{"kind":"regex","pattern":"ABC","flags":{"i":true,"m":false,"s":false}}}),
        json!({"field":1,"op":{"kind":"compare","cmp":"gt","value":100}}),
        json!({"field":1,"op":{"kind":"compare","cmp":"lte","value":5}}),
        json!({"field":2,"op":{"kind":"cidr","network":"10.0.0.0/8"}}),
        json!({"field":2,"op":{"kind":"cidr","network":"2001:db8::/32"}}),
        json!({"field":1,"op":{"kind":"exists"}}),
        json!({"field":1,"op":{"kind":"null"}}),
    ];
    let r = per_pred(
        &["s", "n", "ip"],
        preds,
        &[
            r#"{"s":"AbC","n":101,"ip":"10.1.2.3"}"#,
            r#"{"s":"x\nqyz","n":"5","ip":"2001:db8::1"}"#,
            r#"{"s":"abc","n":"abc","ip":"11.0.0.1"}"#,
            r#"{"s":"zz","n":null,"ip":"nope"}"#,
            r#"{"s":"ac"}"#,
        ],
    );
    assert_eq!(r[0], vec![0, 4, 5, 7, 9]);
    assert_eq!(r[1], vec![1, 6, 8, 9]);
    assert_eq!(r[2], vec![0, 3, 4, 9]);
    assert_eq!(r[3], vec![2, 10]);
    assert_eq!(r[4], vec![2, 10]);
}

#[test]
fn fieldref_timepart_keyword() {
    let preds = vec![
        json!({"field":0,"op":{"kind":"fieldref","other":1,"mode":"exact","cased":false}}),
        json!({"field":0,"op":{"kind":"fieldref","other":1,"mode":"prefix","cased":true}}),
        json!({"field":2,"op":{"kind":"timepart","part":"hour","value":10}}),
        json!({"field":2,"op":{"kind":"timepart","part":"week","value":9}}),
        s(-1, "contains", "evil", false),
        s(-1, "exact", "needle", true),
    ];
    let r = per_pred(
        &["a", "b", "t"],
        preds,
        &[
            r#"{"a":"Foo","b":"foo","t":"2021-03-04T10:11:12.1234567Z"}"#,
            r#"{"a":"foobar","b":"foo","t":1614852672123,"x":{"y":["EVIL stuff"]}}"#,
            r#"{"a":"x","t":"garbage","deep":{"k":"needle"}}"#,
        ],
    );
    assert_eq!(r[0], vec![0, 2, 3]);
    assert_eq!(r[1], vec![1, 2, 3, 4]);
    assert_eq!(r[2], vec![5]);
}

#[test]
fn conditions_emit_and_compile_errors() {
    let preds = vec![
        s(0, "exact", "4688", false),
        s(1, "contains", "cmd", false),
        json!({"field":1,"op":{"kind":"regex","pattern":"(a)\\1","flags":{"i":false,"m":false,"s":false}}}),
    ];
    let mut hidden = rule(json!({"and":[{"pred":0},{"pred":1}]}));
    hidden["emit"] = json!(false);
    let rules = vec![
        rule(json!({"and":[{"pred":0},{"not":{"pred":1}}]})),
        rule(json!({"or":[{"pred":2},{"pred":1}]})),
        hidden,
        rule(json!({"const":true})),
        rule(json!({"const":false})),
        rule(json!({"not":{"pred":2}})),
    ];
    let (e, errs) = Engine::compile(&plan(&["EventID", "CommandLine"], preds, rules)).unwrap();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].predicate, 2);
    assert_eq!(errs[0].rules, vec![1, 5]);
    let chunk = "{\"EventID\":4688,\"CommandLine\":\"cmd /c\"}\n{\"EventID\":4688}\nbad\n\n";
    let out = e.eval_json(chunk.as_bytes()).unwrap();
    assert_eq!(out.lines, 4);
    assert_eq!(
        out.matches,
        vec![(0, 1), (0, 3), (0, 5), (1, 0), (1, 3), (1, 5)]
    );
    assert_eq!(out.correlation_inputs, vec![(0, 2)]);
    assert_eq!(out.dead_letters.len(), 1);
    assert_eq!(e.stats().events, 2);
    let ex = e.explain();
    assert_eq!(ex.rules, 6);
    assert!(serde_json::to_string(&ex).unwrap().contains("EventID"));
}

#[test]
fn threads_give_identical_output() {
    let preds = vec![s(0, "contains", "7", false), s(1, "exact", "x", true)];
    let rules = vec![
        rule(json!({"pred":0})),
        rule(json!({"or":[{"pred":0},{"pred":1}]})),
    ];
    let p1 = plan(&["a", "b"], preds.clone(), rules.clone());
    let p4 = p1.replace("\"threads\":1", "\"threads\":4");
    let (e1, _) = Engine::compile(&p1).unwrap();
    let (e4, _) = Engine::compile(&p4).unwrap();
    let mut chunk = String::new();
    for i in 0..40_000 {
        if i % 997 == 0 {
            chunk.push_str("not json\n");
        } else if i % 13 == 0 {
            chunk.push('\n');
        } else {
            chunk.push_str(&format!(
                "{{\"a\":\"{i}\",\"b\":\"{}\",\"pad\":\"................\"}}\n",
                if i % 3 == 0 { "x" } else { "y" }
            ));
        }
    }
    chunk.push_str("{\"a\":\"7\"}"); // no trailing newline
    let a = e1.eval_json(chunk.as_bytes()).unwrap();
    let b = e4.eval_json(chunk.as_bytes()).unwrap();
    assert!(chunk.len() > 1_000_000);
    assert_eq!(a.lines, 40_001);
    assert_eq!(a.matches, b.matches);
    assert_eq!(a.line_offsets, b.line_offsets);
    assert_eq!(a.dead_letters, b.dead_letters);
    assert_eq!(a.lines, b.lines);
}

// ---- randomized: optimized evaluator vs oracle, JSON vs Arrow ----

const FIELDS: [&str; 5] = ["a", "b.c", "n", "ip", "t"];
const WORDS: [&str; 10] = [
    "cmd", "CMD.exe", "Ärger", "ärger", "power", "shell", "x", "", "10.0.0.1", "σς",
];

fn rand_text(rng: &mut Rng) -> String {
    let n = rng.below(3);
    let mut s = String::new();
    for _ in 0..=n {
        let w: &&str = rng.pick(&WORDS);
        s.push_str(w);
        if rng.chance(30) {
            s.push(*rng.pick(&['.', ' ', '\\', '\n', 'É']));
        }
    }
    s
}

fn rand_pred(rng: &mut Rng) -> Value {
    let field = rng.below(FIELDS.len() + 1) as i64 - 1;
    let cased = rng.chance(30);
    let lit = |rng: &mut Rng| {
        let t = rand_text(rng);
        if cased {
            t
        } else {
            sigma_core::fold::fold(&t)
        }
    };
    match rng.below(12) {
        0..=3 => {
            let mode = *rng.pick(&["exact", "prefix", "suffix", "contains"]);
            let v = if rng.chance(50) {
                rng.pick(&WORDS).to_string()
            } else {
                lit(rng)
            };
            let v = if cased { v } else { sigma_core::fold::fold(&v) };
            s(field, mode, &v, cased)
        }
        4 | 5 => {
            let mut parts = Vec::new();
            for _ in 0..=rng.below(3) {
                parts.push(match rng.below(3) {
                    0 => json!({"any": true}),
                    1 => json!({"one": true}),
                    _ => json!({"lit": lit(rng)}),
                });
            }
            json!({"field":field,"op":{"kind":"glob","parts":parts,"cased":cased}})
        }
        6 => {
            json!({"field":field,"op":{"kind":"regex","pattern":rng.pick(&["^c", "e$", "(?:power|cmd)", "[0-9]+", "Ä"]).to_string(),"flags":{"i":rng.chance(50),"m":false,"s":false}}})
        }
        7 => {
            json!({"field":field,"op":{"kind":"compare","cmp":rng.pick(&["gt","gte","lt","lte"]).to_string(),"value":rng.below(20) as f64}})
        }
        8 => {
            json!({"field":field,"op":{"kind":"cidr","network":rng.pick(&["10.0.0.0/8","0.0.0.0/0","::/0"]).to_string()}})
        }
        9 => json!({"field":field,"op":{"kind":if rng.chance(50) {"exists"} else {"null"}}}),
        10 => {
            json!({"field":field,"op":{"kind":"fieldref","other":rng.below(FIELDS.len()),"mode":rng.pick(&["exact","prefix","suffix","contains"]).to_string(),"cased":cased}})
        }
        _ => {
            json!({"field":field,"op":{"kind":"timepart","part":rng.pick(&["hour","minute","year"]).to_string(),"value":rng.pick(&[10.0, 11.0, 2021.0])}})
        }
    }
}

fn rand_expr(rng: &mut Rng, npreds: usize, depth: u32) -> Value {
    if depth > 2 || rng.chance(35) {
        return json!({"pred": rng.below(npreds)});
    }
    match rng.below(10) {
        0..=3 => {
            json!({"and": (0..=rng.below(3)).map(|_| rand_expr(rng, npreds, depth + 1)).collect::<Vec<_>>()})
        }
        4..=6 => {
            json!({"or": (0..=rng.below(3)).map(|_| rand_expr(rng, npreds, depth + 1)).collect::<Vec<_>>()})
        }
        7 | 8 => json!({"not": rand_expr(rng, npreds, depth + 1)}),
        _ => json!({"const": rng.chance(50)}),
    }
}

fn rand_value(rng: &mut Rng, field: usize) -> Value {
    match (field, rng.below(10)) {
        (_, 0) => Value::Null,
        (_, 1) => json!([rand_text(rng), rng.below(30)]),
        (2, _) => json!(rng.below(25)),
        (3, _) => json!(*rng.pick(&["10.1.2.3", "192.168.0.1", "::1", "nope"])),
        (4, _) => json!(*rng.pick(&[
            "2021-03-04T10:11:12Z",
            "2020-01-01T11:10:00+01:00",
            "1614852672123"
        ])),
        _ => json!(rand_text(rng)),
    }
}

fn rand_event(rng: &mut Rng) -> Value {
    let mut m = serde_json::Map::new();
    for (i, f) in FIELDS.iter().enumerate() {
        if rng.chance(25) {
            continue;
        }
        let v = rand_value(rng, i);
        if *f == "b.c" {
            if rng.chance(50) {
                m.insert("b".into(), json!({"c": v}));
            } else {
                m.insert("b.c".into(), v);
            }
        } else {
            m.insert(f.to_string(), v);
        }
    }
    if rng.chance(30) {
        m.insert("extra".into(), json!({"k": rand_text(rng)}));
    }
    Value::Object(m)
}

#[test]
fn optimized_matches_oracle() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut total = 0;
    for round in 0..150 {
        let preds: Vec<Value> = (0..1 + rng.below(12))
            .map(|_| rand_pred(&mut rng))
            .collect();
        let np = preds.len();
        let rules: Vec<Value> = (0..1 + rng.below(8))
            .map(|_| {
                let mut r = rule(rand_expr(&mut rng, np, 0));
                r["emit"] = json!(rng.chance(80));
                r
            })
            .collect();
        let p = plan(&FIELDS, preds, rules);
        let (e, _errs) = Engine::compile(&p).unwrap();
        let mut lines: Vec<String> = (0..40).map(|_| rand_event(&mut rng).to_string()).collect();
        lines.push("garbage".into());
        lines.push(String::new());
        let chunk = lines.join("\n");
        let out = e.eval_json(chunk.as_bytes()).unwrap();

        let plan = sigma_core::Plan::from_json(&p).unwrap();
        let idx = FieldIndex::new(&plan.fields);
        let mut parser = JsonParser::default();
        let mut b = JsonBatch::default();
        let has_kw = plan
            .predicates
            .iter()
            .any(|p| p.field == sigma_core::plan::PredField::Keyword);
        parser.parse_chunk(
            &idx,
            JsonLimits {
                max_event_bytes: 10_000,
                max_depth: 8,
                keywords: has_kw,
            },
            chunk.as_bytes(),
            &mut b,
        );
        let sigma_core::eval::EvalResult {
            matches: m,
            hidden: h,
        } = sigma_core::reference::evaluate(&plan, &b.view());
        assert_eq!(out.matches, m, "round {round}: plan {p}");
        assert_eq!(out.correlation_inputs, h, "round {round}");
        total += m.len();
    }
    assert!(total > 100, "too few matches to be meaningful: {total}");
}

/// Per-batch value dedup, expensive-predicate memoisation and rule
/// skipping (`any_of`) against the oracle: batches of a few hundred rows
/// drawn from a handful of distinct events, so most values repeat; the
/// second half of each batch repeats the first in a different order.
#[test]
fn repeated_values_match_oracle() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut total = 0;
    for round in 0..60 {
        let preds: Vec<Value> = (0..1 + rng.below(16))
            .map(|_| rand_pred(&mut rng))
            .collect();
        let np = preds.len();
        let rules: Vec<Value> = (0..1 + rng.below(10))
            .map(|_| rule(rand_expr(&mut rng, np, 0)))
            .collect();
        let p = plan(&FIELDS, preds, rules);
        let (e, _errs) = Engine::compile(&p).unwrap();
        let pool: Vec<String> = (0..1 + rng.below(6))
            .map(|_| rand_event(&mut rng).to_string())
            .collect();
        let mut lines: Vec<String> = (0..150).map(|_| rng.pick(&pool).clone()).collect();
        let mut again = lines.clone();
        again.reverse();
        lines.extend(again);
        lines.insert(rng.below(lines.len()), "garbage".into());
        let chunk = lines.join("\n");
        let out = e.eval_json(chunk.as_bytes()).unwrap();
        let plan = sigma_core::Plan::from_json(&p).unwrap();
        let idx = FieldIndex::new(&plan.fields);
        let mut b = JsonBatch::default();
        let has_kw = plan
            .predicates
            .iter()
            .any(|p| p.field == sigma_core::plan::PredField::Keyword);
        JsonParser::default().parse_chunk(
            &idx,
            JsonLimits {
                max_event_bytes: 10_000,
                max_depth: 8,
                keywords: has_kw,
            },
            chunk.as_bytes(),
            &mut b,
        );
        let r = sigma_core::reference::evaluate(&plan, &b.view());
        assert_eq!(out.matches, r.matches, "round {round}: plan {p}");
        assert_eq!(out.correlation_inputs, r.hidden, "round {round}");
        total += r.matches.len() + r.hidden.len();
    }
    assert!(total > 100, "too few matches to be meaningful: {total}");
}

#[test]
fn json_and_arrow_agree() {
    use arrow_array::builder::{Int64Builder, ListBuilder, StringBuilder};
    use arrow_array::{ArrayRef, RecordBatch, StructArray};
    use arrow_schema::{DataType, Field};
    use std::sync::Arc;

    let mut rng = Rng(42);
    for _ in 0..40 {
        let preds: Vec<Value> = (0..1 + rng.below(10))
            .map(|_| rand_pred(&mut rng))
            .collect();
        let np = preds.len();
        let rules: Vec<Value> = (0..1 + rng.below(6))
            .map(|_| rule(rand_expr(&mut rng, np, 0)))
            .collect();
        let (e, _) = Engine::compile(&plan(&FIELDS, preds, rules)).unwrap();

        // events: a = string or list of strings, b.c = struct child string, n = int, ip, t = strings
        let mut a = ListBuilder::new(StringBuilder::new());
        let mut bc = StringBuilder::new();
        let mut n = Int64Builder::new();
        let mut ip = StringBuilder::new();
        let mut t = StringBuilder::new();
        let mut lines = Vec::new();
        for _ in 0..30 {
            let mut ev = serde_json::Map::new();
            if rng.chance(80) {
                let vals: Vec<String> = (0..rng.below(3)).map(|_| rand_text(&mut rng)).collect();
                for v in &vals {
                    a.values().append_value(v);
                }
                a.append(true);
                ev.insert("a".into(), json!(vals));
            } else {
                a.append(false);
            }
            let opt = |b: &mut StringBuilder,
                       key: &str,
                       v: Option<String>,
                       ev: &mut serde_json::Map<String, Value>| {
                b.append_option(v.as_deref());
                if let Some(v) = v {
                    ev.insert(key.into(), json!(v));
                }
            };
            let v = rng.chance(70).then(|| rand_text(&mut rng));
            bc.append_option(v.as_deref());
            if let Some(v) = v {
                ev.insert("b".into(), json!({"c": v}));
            }
            let nv = rng.chance(70).then(|| rng.below(25) as i64);
            n.append_option(nv);
            if let Some(nv) = nv {
                ev.insert("n".into(), json!(nv));
            }
            let v = rng
                .chance(70)
                .then(|| rng.pick(&["10.1.2.3", "::1", "x"]).to_string());
            opt(&mut ip, "ip", v, &mut ev);
            let v = rng
                .chance(70)
                .then(|| rng.pick(&["2021-03-04T10:11:12Z", "nope"]).to_string());
            opt(&mut t, "t", v, &mut ev);
            lines.push(Value::Object(ev).to_string());
        }
        let bc: ArrayRef = Arc::new(bc.finish());
        let st = StructArray::from(vec![(Arc::new(Field::new("c", DataType::Utf8, true)), bc)]);
        let batch = RecordBatch::try_from_iter(vec![
            ("a", Arc::new(a.finish()) as ArrayRef),
            ("b", Arc::new(st) as ArrayRef),
            ("n", Arc::new(n.finish()) as ArrayRef),
            ("ip", Arc::new(ip.finish()) as ArrayRef),
            ("t", Arc::new(t.finish()) as ArrayRef),
        ])
        .unwrap();
        let j = e.eval_json(lines.join("\n").as_bytes()).unwrap();
        let ar = e.eval_record_batch(&batch).unwrap();
        assert_eq!(j.matches, ar.matches, "events {lines:?}");
        assert_eq!(j.correlation_inputs, ar.correlation_inputs);
    }
}

/// Keyword values of Arrow string columns read whole as fields are scanned
/// with their field (`BatchView::keyword_fields`), not gathered again: the
/// matches must equal the JSON path's, which gathers every value. Columns of
/// fields with and without cheap predicates, an unreferenced column, a list
/// column, and sometimes an expensive keyword predicate (which turns the
/// carrying off).
#[test]
fn arrow_columns_carrying_keywords_agree_with_json() {
    use arrow_array::builder::{ListBuilder, StringBuilder};
    use arrow_array::{ArrayRef, RecordBatch};
    use std::sync::Arc;

    const COLUMNS: [&str; 5] = ["p", "q", "r", "other", "list"];
    let mut rng = Rng(7);
    let mut matches = 0;
    for round in 0..60 {
        // Cheap predicates on p and q (r is referenced by exists only) and on keywords.
        let mut preds: Vec<Value> = (0..2 + rng.below(8))
            .map(|_| {
                let field = *rng.pick(&[-1, -1, 0, 1]);
                let mode = *rng.pick(&["exact", "prefix", "suffix", "contains"]);
                let cased = rng.chance(30);
                let v = rng.pick(&WORDS).to_string();
                let v = if cased { v } else { sigma_core::fold::fold(&v) };
                s(field, mode, &v, cased)
            })
            .collect();
        preds.push(json!({"field": 2, "op": {"kind": "exists"}}));
        if rng.chance(20) {
            preds.push(json!({"field":-1,"op":{"kind":"regex","pattern":"(?:power|cmd)","flags":{"i":true,"m":false,"s":false}}}));
        }
        let np = preds.len();
        let rules: Vec<Value> = (0..1 + rng.below(6))
            .map(|_| rule(rand_expr(&mut rng, np, 0)))
            .collect();
        let (e, _) = Engine::compile(&plan(&COLUMNS[..3], preds, rules)).unwrap();
        let mut builders: Vec<StringBuilder> = (0..4).map(|_| StringBuilder::new()).collect();
        let mut list = ListBuilder::new(StringBuilder::new());
        let mut lines = Vec::new();
        for _ in 0..40 {
            let mut ev = serde_json::Map::new();
            for (name, b) in COLUMNS.iter().zip(builders.iter_mut()) {
                let v = rng.chance(75).then(|| rand_text(&mut rng));
                b.append_option(v.as_deref());
                if let Some(v) = v {
                    ev.insert(name.to_string(), json!(v));
                }
            }
            let items: Vec<String> = (0..rng.below(3)).map(|_| rand_text(&mut rng)).collect();
            for v in &items {
                list.values().append_value(v);
            }
            list.append(true);
            ev.insert("list".into(), json!(items));
            lines.push(Value::Object(ev).to_string());
        }
        let mut arrays: Vec<(&str, ArrayRef)> = COLUMNS
            .iter()
            .zip(builders.iter_mut())
            .map(|(name, b)| (*name, Arc::new(b.finish()) as ArrayRef))
            .collect();
        arrays.push(("list", Arc::new(list.finish()) as ArrayRef));
        let batch = RecordBatch::try_from_iter(arrays).unwrap();
        let j = e.eval_json(lines.join("\n").as_bytes()).unwrap();
        // Twice: the fields' combined scanners may be built between the two.
        for _ in 0..2 {
            let ar = e.eval_record_batch(&batch).unwrap();
            assert_eq!(j.matches, ar.matches, "round {round}, events {lines:?}");
        }
        matches += j.matches.len();
    }
    assert!(matches > 100, "too few matches: {matches}");
}

#[test]
fn arrow_types_dictionary_float_bool() {
    use arrow_array::types::Int32Type;
    use arrow_array::{
        ArrayRef, BooleanArray, DictionaryArray, Float64Array, RecordBatch, UInt64Array,
    };
    use std::sync::Arc;
    let preds = vec![
        s(0, "exact", "cmd.exe", false),
        s(1, "exact", "1.5", true),
        s(2, "exact", "true", true),
        s(3, "exact", "18446744073709551615", true),
    ];
    let rules = (0..4).map(|i| rule(json!({"pred": i}))).collect();
    let e = engine(&["img", "f", "b", "u"], preds, rules);
    let dict: DictionaryArray<Int32Type> =
        vec![Some("CMD.EXE"), None, Some("x")].into_iter().collect();
    let batch = RecordBatch::try_from_iter(vec![
        ("img", Arc::new(dict) as ArrayRef),
        (
            "f",
            Arc::new(Float64Array::from(vec![1.5, 2.0, 1.5])) as ArrayRef,
        ),
        (
            "b",
            Arc::new(BooleanArray::from(vec![false, true, false])) as ArrayRef,
        ),
        (
            "u",
            Arc::new(UInt64Array::from(vec![0, 0, u64::MAX])) as ArrayRef,
        ),
    ])
    .unwrap();
    let out = e.eval_record_batch(&batch).unwrap();
    assert_eq!(out.matches, vec![(0, 0), (0, 1), (1, 2), (2, 1), (2, 3)]);
    let j = e
        .eval_json(b"{\"img\":\"CMD.EXE\",\"f\":1.5,\"b\":false,\"u\":0}\n{\"f\":2.0,\"b\":true,\"u\":0}\n{\"img\":\"x\",\"f\":1.5,\"b\":false,\"u\":18446744073709551615}")
        .unwrap();
    assert_eq!(j.matches, out.matches);
}

#[test]
fn arrow_batches_of_interleaved_schemas_resolve_their_own_fields() {
    use arrow_array::{ArrayRef, Date32Array, RecordBatch, StringArray, StructArray};
    use arrow_schema::{DataType, Field};
    use std::sync::Arc;

    let preds = vec![
        s(0, "exact", "cmd.exe", false),
        s(1, "contains", "evil", false),
        s(2, "exact", "x", true),
    ];
    let rules = (0..3).map(|i| rule(json!({"pred": i}))).collect();
    let e = engine(&["img", "cl", "b.c"], preds, rules);
    let img = || {
        Arc::new(StringArray::from(vec![
            Some("cmd.exe"),
            Some("a"),
            Some("CMD.EXE"),
        ])) as ArrayRef
    };
    let cl = || Arc::new(StringArray::from(vec![Some("evil"), Some("good"), None])) as ArrayRef;
    let bc = || Arc::new(StringArray::from(vec![Some("x"), None, Some("y")])) as ArrayRef;
    let b = || {
        let child = Arc::new(Field::new("c", DataType::Utf8, true));
        Arc::new(StructArray::from(vec![(child, bc())])) as ArrayRef
    };
    let pad = || {
        Arc::new(StringArray::from(vec![
            Some("cmd.exe"),
            Some("evil"),
            Some("x"),
        ])) as ArrayRef
    };
    let want = e
        .eval_json(b"{\"img\":\"cmd.exe\",\"cl\":\"evil\",\"b\":{\"c\":\"x\"}}\n{\"img\":\"a\",\"cl\":\"good\"}\n{\"img\":\"CMD.EXE\",\"b.c\":\"y\"}")
        .unwrap()
        .matches;
    assert_eq!(want, vec![(0, 0), (0, 1), (0, 2), (2, 0)]);

    // More schemas than the engine keeps resolved, the same fields at other
    // positions, under other names (padding named like no plan field) and
    // as a struct child instead of a dotted column.
    let mut schemas: Vec<Vec<(String, ArrayRef)>> = Vec::new();
    for padding in 0..4 {
        for struct_child in [false, true] {
            for reversed in [false, true] {
                let mut columns: Vec<(String, ArrayRef)> =
                    (0..padding).map(|k| (format!("pad{k}"), pad())).collect();
                let mut fields = vec![("img".to_string(), img()), ("cl".to_string(), cl())];
                fields.push(if struct_child {
                    ("b".to_string(), b())
                } else {
                    ("b.c".to_string(), bc())
                });
                if reversed {
                    fields.reverse();
                }
                columns.extend(fields);
                schemas.push(columns);
            }
        }
    }
    for round in 0..3 {
        for (i, columns) in schemas.iter().enumerate() {
            let batch = RecordBatch::try_from_iter(columns.clone()).unwrap();
            let got = e.eval_record_batch(&batch).unwrap().matches;
            assert_eq!(got, want, "round {round}, schema {i}: {:?}", batch.schema());
        }
        // A field of a type the engine cannot read fails its batch alone.
        let dates = Arc::new(Date32Array::from(vec![1, 2, 3])) as ArrayRef;
        let bad = RecordBatch::try_from_iter(vec![("img", dates), ("cl", cl())]).unwrap();
        let error = e.eval_record_batch(&bad).unwrap_err().to_string();
        assert!(error.contains("field \"img\""), "{error}");
    }
}
