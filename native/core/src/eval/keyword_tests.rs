//! Property tests of keyword scanning (eval/mod.rs), against the reference
//! oracle:
//! - the combined field + keyword scanners: long values (≥
//!   `COMBINED_MIN_LEN`) of referenced fields take their keyword hits from
//!   the field's scan, short ones are scanned separately, before and after
//!   the combined scanners are built;
//! - the keyword gate: keywords of routed rules are scanned only on the
//!   routed rows, those of unrouted rules (`KeywordGate::open`) on every row;
//! - carrying: the strings of fields that `carries_keywords` stay out of the
//!   keyword column and take the keyword patterns in their field's scan,
//!   while the fields' numbers, whose text may equal a keyword, do not.

use super::*;
use crate::json::{JsonBatch, JsonLimits, JsonParser};
use serde_json::{json, Value};

use super::test_rng::Rng;

const WORDS: [&str; 9] = [
    "cmd", "CMD.exe", "Ärger", "power", "Shell", "x", "10", "σς", " -enc ",
];

fn text(rng: &mut Rng, long: bool) -> String {
    let mut s = String::new();
    let want = if long {
        130 + rng.below(300)
    } else {
        1 + rng.below(20)
    };
    while s.len() < want {
        s.push_str(WORDS[rng.below(WORDS.len())]);
        if rng.below(4) == 0 {
            s.push(['\\', ' ', '.', 'É'][rng.below(4)]);
        }
    }
    s
}

fn pred(rng: &mut Rng) -> Value {
    // Fields 0..3, or -1 (keyword).
    let field = rng.below(5) as i64 - 1;
    let cased = rng.below(4) == 0;
    let mut lit = WORDS[rng.below(WORDS.len())].to_string();
    if rng.below(3) == 0 {
        lit.push_str(WORDS[rng.below(WORDS.len())]);
    }
    if !cased {
        lit = crate::fold::fold(&lit);
    }
    match rng.below(6) {
        0..=2 => {
            let mode = ["exact", "prefix", "suffix", "contains"][rng.below(4)];
            json!({"field":field,"op":{"kind":"string","mode":mode,"value":lit,"cased":cased}})
        }
        3 | 4 => {
            let parts = match rng.below(3) {
                0 => json!([{"any":true},{"lit":lit},{"any":true}]),
                1 => json!([{"lit":lit},{"any":true}]),
                _ => json!([{"any":true},{"lit":lit},{"one":true},{"any":true}]),
            };
            json!({"field":field,"op":{"kind":"glob","parts":parts,"cased":cased}})
        }
        _ => {
            json!({"field":field,"op":{"kind":"regex","pattern":"(?:power|cmd)","flags":{"i":true,"m":false,"s":false}}})
        }
    }
}

/// The route a routed rule requires.
const ROUTE: &str = "route";

/// Which rules of a round require `d == ROUTE` (a logsource route).
#[derive(Clone, Copy, PartialEq)]
enum Routes {
    None,
    Half,
    All,
}

/// One random plan over fields a..d and keywords, evaluated over 150 random
/// events before and after the combined scanners are built, checked against
/// the oracle. With `routes`, half the events carry the route. Returns the
/// matches and the compiled plan.
fn check_round(rng: &mut Rng, round: usize, routes: Routes) -> (usize, CompiledPlan) {
    let mut preds: Vec<Value> = (0..2 + rng.below(14)).map(|_| pred(rng)).collect();
    let np = preds.len();
    preds
        .push(json!({"field":3,"op":{"kind":"string","mode":"exact","value":ROUTE,"cased":false}}));
    let rules: Vec<Value> = (0..1 + rng.below(8))
        .map(|_| {
            let a = rng.below(np);
            let b = rng.below(np);
            let mut cond = match rng.below(3) {
                0 => json!({"pred": a}),
                1 => json!({"and":[{"pred":a},{"pred":b}]}),
                _ => json!({"or":[{"pred":a},{"not":{"pred":b}}]}),
            };
            if routes == Routes::All || (routes == Routes::Half && rng.below(2) == 0) {
                cond = json!({"and":[{"pred":np}, cond]});
            }
            json!({"id":"r","title":"t","level":null,"status":null,"tags":[],"name":null,"path":"p","condition":cond,"emit":true})
        })
        .collect();
    let plan_json = json!({
        "version": 1, "fields": ["a", "b", "c", "d"], "predicates": preds, "rules": rules,
        "correlations": [],
        "options": {"maxEventBytes": 100000, "maxDepth": 8, "timestampField": null, "threads": 1}
    })
    .to_string();
    let plan = Plan::from_json(&plan_json).unwrap();
    // A pool of long texts shared between fields and unreferenced keys,
    // so texts repeat across columns and rows.
    let pool: Vec<String> = (0..6).map(|_| text(rng, true)).collect();
    let lines: Vec<String> = (0..150)
        .map(|_| {
            let mut m = serde_json::Map::new();
            for k in ["a", "b", "c", "d", "other"] {
                let v = match rng.below(5) {
                    _ if k == "d" && routes != Routes::None && rng.below(2) == 0 => json!(ROUTE),
                    0 => continue,
                    1 => json!(text(rng, false)),
                    2 => json!([pool[rng.below(pool.len())].clone(), 7]),
                    // A number whose text is a word, as strings elsewhere hold it.
                    3 if rng.below(3) == 0 => json!(10),
                    // Too many digits for the scanner: the line goes to the tape
                    // path, which undoes what the scanner wrote for the row.
                    3 if k == "other" && rng.below(2) == 0 => json!(12_345_678_901_234_567_890u64),
                    _ => json!(pool[rng.below(pool.len())].clone()),
                };
                m.insert(k.into(), v);
            }
            Value::Object(m).to_string()
        })
        .collect();
    let chunk = lines.join("\n");
    let (cp, _) = CompiledPlan::new(plan.clone());
    // The oracle reads a batch whose keyword column holds every string;
    // the evaluator one whose carrying fields hold their own (`cp.index`).
    let parse = |index: &FieldIndex| {
        let mut b = JsonBatch::default();
        let limits = JsonLimits {
            max_event_bytes: 100_000,
            max_depth: 8,
            keywords: true,
        };
        JsonParser::default().parse_chunk(index, limits, chunk.as_bytes(), &mut b);
        b
    };
    let want = crate::reference::evaluate(&plan, &parse(&FieldIndex::new(&plan.fields)).view());
    let b = parse(&cp.index);
    assert_eq!(
        crate::reference::evaluate(&plan, &b.view()),
        want,
        "round {round}: carried keyword values differ: {plan_json}"
    );
    let mut s = EvalScratch::default();
    // Before the combined scanners are built (separate keyword scans),
    // then with them, twice (the second batch reuses the scratch).
    let got = evaluate(&cp, &b.view(), &mut s, &mut PhaseTimes::default());
    assert_eq!(got, want, "round {round}, not built: {plan_json}");
    cp.combined_builder()();
    for _ in 0..2 {
        let got = evaluate(&cp, &b.view(), &mut s, &mut PhaseTimes::default());
        assert_eq!(got, want, "round {round}: {plan_json}");
    }
    (want.matches.len(), cp)
}

/// `rounds` rounds of `check_round` from `seed`; returns the matches and
/// how many compiled plans `counts` accepted.
fn run_rounds(
    seed: u64,
    rounds: usize,
    routes: Routes,
    mut counts: impl FnMut(usize, &CompiledPlan) -> bool,
) -> (usize, usize) {
    let mut rng = Rng(seed);
    let (mut total, mut counted) = (0, 0);
    for round in 0..rounds {
        let (matches, cp) = check_round(&mut rng, round, routes);
        counted += usize::from(counts(round, &cp));
        total += matches;
    }
    (total, counted)
}

#[test]
fn combined_keyword_scan_matches_oracle() {
    let (total, built) = run_rounds(0x1234_5678_9abc_def1, 120, Routes::None, |_, cp| {
        // Built for any plan with keywords; taken by JSON batches only without a gate.
        cp.keyword_gate.is_none() && (0..cp.fields.len()).any(|fi| cp.combined.get(fi).is_some())
    });
    assert!(total > 100, "too few matches: {total}");
    assert!(built > 20, "combined path rarely taken: {built}");
}

#[test]
fn carried_keyword_values_match_oracle() {
    let (total, carrying) = run_rounds(0x0c0f_fee0_1234_5678, 120, Routes::Half, |_, cp| {
        (0..cp.plan.fields.len()).any(|f| cp.carries_keywords(f))
    });
    assert!(total > 100, "too few matches: {total}");
    assert!(carrying > 40, "carrying fields rarely compiled: {carrying}");
}

#[test]
fn gated_keyword_scan_matches_oracle() {
    let (total, gated) = run_rounds(0x0fed_cba9_8765_4321, 80, Routes::All, |round, cp| {
        if cp.has_keywords {
            assert!(
                cp.keyword_gate.as_ref().is_some_and(|g| g.open.is_none()),
                "round {round}: routed rules left keywords ungated"
            );
        }
        cp.has_keywords
    });
    assert!(total > 100, "too few matches: {total}");
    assert!(gated > 40, "keyword rules rarely generated: {gated}");
}

#[test]
fn partly_gated_keyword_scan_matches_oracle() {
    let (total, mixed) = run_rounds(0x5eed_0f0b_e11e_7a1d, 200, Routes::Half, |_, cp| {
        cp.keyword_gate.as_ref().is_some_and(|g| g.open.is_some())
    });
    assert!(total > 100, "too few matches: {total}");
    assert!(
        mixed > 30,
        "routed and unrouted keyword rules rarely mixed: {mixed}"
    );
}
