//! Engine-level correlation tests: each type across window edges, late
//! events, the group cap, snapshot/restore, chaining, both input paths.

use super::Limits;
use crate::plan::Plan;
use crate::Engine;
use serde_json::{json, Value};

const BASE: i64 = 1_600_000_000_000;

/// Rule k matches `EventID == "k"`.
fn plan(nrules: usize, corrs: Vec<Value>, ts: Option<&str>) -> Plan {
    let preds: Vec<Value> = (0..nrules)
        .map(|k| json!({"field":0,"op":{"kind":"string","mode":"exact","value":k.to_string(),"cased":false}}))
        .collect();
    let rules: Vec<Value> = (0..nrules)
        .map(|k| json!({"id":format!("r{k}"),"title":format!("rule {k}"),"level":null,"status":null,"tags":[],"name":format!("r{k}"),"path":"p","condition":{"pred":k},"emit":false}))
        .collect();
    let p = json!({"version":1,"fields":["EventID"],"predicates":preds,"rules":rules,"correlations":corrs,
        "options":{"maxEventBytes":100000,"maxDepth":10,"timestampField":ts,"threads":1}});
    match Plan::from_json(&p.to_string()) {
        Ok(p) => p,
        Err(e) => panic!("plan: {e}"),
    }
}

#[allow(clippy::too_many_arguments)]
fn corr(
    id: &str,
    kind: &str,
    sources: &[u32],
    group: &[&str],
    span_ms: i64,
    cond: Value,
    field: Option<&str>,
    emit: bool,
) -> Value {
    let gb: Vec<Vec<&str>> = sources.iter().map(|_| group.to_vec()).collect();
    json!({"id":id,"title":id,"level":"high","status":null,"tags":[],"name":id,"path":"c","kind":kind,"sources":sources,
        "groupBy":gb,"timespanMs":span_ms,"condition":cond,"valueField":field,"percentile":null,"emit":emit})
}

fn engine(p: Plan) -> Engine {
    let (e, errors) = Engine::from_plan(p);
    assert!(errors.is_empty(), "{errors:?}");
    e
}

/// Events `(EventID, user, ms offset from BASE, extra value)` as NDJSON.
fn ndjson(events: &[(u32, &str, i64, Option<&str>)]) -> Vec<u8> {
    let mut s = String::new();
    for (id, user, dt, v) in events {
        let mut o = json!({"EventID": id.to_string(), "user": user, "t": BASE + dt});
        if let Some(v) = v {
            o["v"] = json!(v);
        }
        s.push_str(&o.to_string());
        s.push('\n');
    }
    s.into_bytes()
}

fn run(e: &Engine, events: &[(u32, &str, i64, Option<&str>)]) -> Vec<(u32, u32)> {
    match e.eval_json(&ndjson(events)) {
        Ok(o) => o.matches,
        Err(err) => panic!("{err}"),
    }
}

#[test]
fn event_count_window_edge_is_inclusive() {
    let c = corr(
        "c",
        "event_count",
        &[0],
        &["user"],
        10_000,
        json!({"gte":3}),
        None,
        true,
    );
    let e = engine(plan(1, vec![c], Some("t")));
    // a: 0, 5 s, exactly 10 s → one window of 3. b: 0, 5 s, 10.001 s → the first fell out.
    let m = run(
        &e,
        &[
            (0, "a", 0, None),
            (0, "a", 5_000, None),
            (0, "a", 10_000, None),
            (0, "b", 0, None),
            (0, "b", 5_000, None),
            (0, "b", 10_001, None),
        ],
    );
    assert_eq!(m, vec![(2, 1)]);
    // Reset after firing: a 4th event in the same burst does not fire; three more do.
    let m = run(
        &e,
        &[
            (0, "a", 10_000, None),
            (0, "a", 10_500, None),
            (0, "a", 11_000, None),
        ],
    );
    assert_eq!(m, vec![(2, 1)]);
    // b keeps its window across batches: 5 s, 10.001 s, + 14 s → 3 in [4 s, 14 s].
    assert_eq!(run(&e, &[(0, "b", 14_000, None)]), vec![(0, 1)]);
    assert_eq!(e.correlation_stats().fired, 3);
}

#[test]
fn bounds_lt_and_neq() {
    let c = corr(
        "c",
        "event_count",
        &[0],
        &[],
        1_000,
        json!({"gt":1,"lt":3,"neq":2}),
        None,
        true,
    );
    let e = engine(plan(1, vec![c], Some("t")));
    assert!(run(
        &e,
        &[(0, "a", 0, None), (0, "a", 1, None), (0, "a", 2, None)]
    )
    .is_empty());
    let c = corr(
        "c",
        "event_count",
        &[0],
        &[],
        1_000,
        json!({"eq":2}),
        None,
        true,
    );
    let e = engine(plan(1, vec![c], Some("t")));
    assert_eq!(
        run(&e, &[(0, "a", 0, None), (0, "z", 1, None)]),
        vec![(1, 1)]
    );
}

#[test]
fn value_count_distinct() {
    let c = corr(
        "c",
        "value_count",
        &[0],
        &["user"],
        60_000,
        json!({"gte":3}),
        Some("v"),
        true,
    );
    let e = engine(plan(1, vec![c], Some("t")));
    let m = run(
        &e,
        &[
            (0, "a", 0, Some("x")),
            (0, "a", 1, Some("x")),
            (0, "a", 2, Some("y")),
            (0, "a", 3, None),
            (0, "a", 4, Some("z")),
        ],
    );
    assert_eq!(m, vec![(4, 1)]);
}

#[test]
fn temporal_any_order_and_ordered() {
    let t = corr(
        "t",
        "temporal",
        &[0, 1],
        &["user"],
        10_000,
        json!({"gte":2}),
        None,
        true,
    );
    let o = corr(
        "o",
        "temporal_ordered",
        &[0, 1],
        &["user"],
        10_000,
        json!({"gte":2}),
        None,
        true,
    );
    let e = engine(plan(2, vec![t, o], Some("t")));
    // user a: 1 then 0 → temporal only. user b: 0 then 1 → both. user c: 0 then 1 but 10.001 s apart → none.
    let m = run(
        &e,
        &[
            (1, "a", 0, None),
            (0, "a", 1_000, None),
            (0, "b", 0, None),
            (1, "b", 10_000, None),
            (0, "c", 0, None),
            (1, "c", 10_001, None),
        ],
    );
    assert_eq!(m, vec![(1, 2), (3, 2), (3, 3)]);
}

#[test]
fn value_sum_avg_percentile() {
    let s = corr(
        "s",
        "value_sum",
        &[0],
        &["user"],
        10_000,
        json!({"gt":100}),
        Some("v"),
        true,
    );
    let a = corr(
        "a",
        "value_avg",
        &[0],
        &["user"],
        10_000,
        json!({"gte":50}),
        Some("v"),
        true,
    );
    let mut p = corr(
        "p",
        "value_percentile",
        &[0],
        &["user"],
        10_000,
        json!({"gte":90}),
        Some("v"),
        true,
    );
    p["percentile"] = json!(90);
    let e = engine(plan(1, vec![s, a, p], Some("t")));
    // sum: 40, 40+30=70, then 70+40=110 > 100 at row 2 (reset), then 200 > 100 at row 4. avg: 40 ≥ 50? no; 35; 36.7; row 3 "x" not numeric; row 4 200 → avg 77.5 ≥ 50.
    // p90 of {40,30,40,200}: sorted 30,40,40,200 → rank 2.7 → 40+0.7*160 = 152 ≥ 90 at row 4.
    let m = run(
        &e,
        &[
            (0, "a", 0, Some("40")),
            (0, "a", 1, Some("30")),
            (0, "a", 2, Some("40")),
            (0, "a", 3, Some("x")),
            (0, "a", 4, Some("200")),
        ],
    );
    assert_eq!(m, vec![(2, 1), (4, 1), (4, 2), (4, 3)]);
}

#[test]
fn out_of_order_and_late() {
    let c = corr(
        "c",
        "event_count",
        &[0],
        &["user"],
        10_000,
        json!({"gte":3}),
        None,
        true,
    );
    let e = engine(plan(1, vec![c], Some("t")));
    // max 20 s; 9.999 s is late (< 20 − 10), 12 s is out of order but in the window.
    let m = run(
        &e,
        &[
            (0, "a", 20_000, None),
            (0, "a", 9_999, None),
            (0, "a", 12_000, None),
        ],
    );
    assert!(m.is_empty());
    assert_eq!(e.correlation_stats().late, 1);
    assert_eq!(e.correlation_stats().inputs, 3);
    assert_eq!(run(&e, &[(0, "a", 15_000, None)]), vec![(0, 1)]);
}

#[test]
fn missing_group_by_or_time_is_ignored() {
    let c = corr(
        "c",
        "event_count",
        &[0],
        &["host"],
        10_000,
        json!({"gte":1}),
        None,
        true,
    );
    let e = engine(plan(1, vec![c], Some("t")));
    assert!(run(&e, &[(0, "a", 0, None)]).is_empty());
    assert!(e
        .eval_json(b"{\"EventID\":\"0\",\"host\":\"h\"}\n")
        .map(|o| o.matches)
        .unwrap_or_default()
        .is_empty());
    let s = e.correlation_stats();
    assert_eq!((s.missing_group_by, s.missing_time), (1, 1));
    let m = e
        .eval_json(b"{\"EventID\":\"0\",\"host\":\"h\",\"t\":\"2021-03-04T10:11:12.1234567Z\"}\n")
        .map(|o| o.matches);
    assert_eq!(m, Ok(vec![(0, 1)]));
}

#[test]
fn group_cap_evicts_least_recently_updated() {
    let c = corr(
        "c",
        "event_count",
        &[0],
        &["user"],
        60_000,
        json!({"gte":2}),
        None,
        true,
    );
    let (e, _) = Engine::from_plan_with_limits(
        plan(1, vec![c], Some("t")),
        Limits {
            max_groups: 2,
            max_events_per_group: 10,
        },
    );
    // a, b, a (updates a), c → evicts b. Then b starts over: no firing; a fires.
    assert!(run(
        &e,
        &[(0, "a", 0, None), (0, "b", 1, None), (0, "c", 2, None)]
    )
    .is_empty());
    assert_eq!(e.correlation_stats().evicted_groups, 1);
    assert_eq!(e.correlation_stats().groups, 2);
    // a was the least recently updated when c came: a was evicted, b and c remain.
    assert_eq!(
        run(&e, &[(0, "b", 3, None), (0, "a", 4, None)]),
        vec![(0, 1)]
    );
    assert_eq!(e.correlation_stats().evicted_groups, 2);
}

#[test]
fn per_group_cap_saturates() {
    let c = corr(
        "c",
        "event_count",
        &[0],
        &[],
        60_000,
        json!({"gte":3}),
        None,
        true,
    );
    let (e, _) = Engine::from_plan_with_limits(
        plan(1, vec![c], Some("t")),
        Limits {
            max_groups: 10,
            max_events_per_group: 2,
        },
    );
    assert!(run(
        &e,
        &[(0, "a", 0, None), (0, "a", 1, None), (0, "a", 2, None)]
    )
    .is_empty());
    assert_eq!(e.correlation_stats().dropped_entries, 1);
}

#[test]
fn snapshot_restore_continues() {
    let mk = || {
        let c = corr(
            "c",
            "event_count",
            &[0],
            &["user"],
            10_000,
            json!({"gte":3}),
            None,
            true,
        );
        engine(plan(1, vec![c], Some("t")))
    };
    let a = mk();
    assert!(run(&a, &[(0, "u", 0, None), (0, "u", 1_000, None)]).is_empty());
    let snap = a.snapshot();
    let b = mk();
    let report = b.restore(&snap);
    assert_eq!(report.as_ref().map(|r| r.groups), Ok(1), "{report:?}");
    assert_eq!(run(&b, &[(0, "u", 2_000, None)]), vec![(0, 1)]);
    // A plan without the correlation ignores its state; garbage is refused.
    let other = engine(plan(
        1,
        vec![corr(
            "d",
            "event_count",
            &[0],
            &["user"],
            10_000,
            json!({"gte":3}),
            None,
            true,
        )],
        Some("t"),
    ));
    let r = other.restore(&snap);
    assert_eq!(
        r.map(|r| (r.groups, r.ignored)),
        Ok((0, vec!["c".to_string()]))
    );
    assert!(other.restore(b"{}").is_err());
    assert!(other
        .restore(br#"{"format":"sigma-correlation-state","version":99}"#)
        .is_err());
}

#[test]
fn correlation_over_correlation() {
    // c0: 2 failures per user in 10 s (not emitted); c1: 2 c0 firings per user in 60 s.
    let c0 = corr(
        "c0",
        "event_count",
        &[0],
        &["user"],
        10_000,
        json!({"gte":2}),
        None,
        false,
    );
    let c1 = corr(
        "c1",
        "event_count",
        &[2],
        &["user"],
        60_000,
        json!({"gte":2}),
        None,
        true,
    );
    let e = engine(plan(1, vec![c1, c0], Some("t")));
    // Sources index rules (1 rule) then correlations: c1 (listed first) consumes 1 + 1 = c0.
    let m = run(
        &e,
        &[
            (0, "a", 0, None),
            (0, "a", 1_000, None),
            (0, "a", 20_000, None),
            (0, "a", 21_000, None),
        ],
    );
    assert_eq!(m, vec![(3, 1)]);
    assert_eq!(e.correlation_stats().fired, 3);
}

#[test]
fn arrival_time_clock() {
    let c = corr(
        "c",
        "event_count",
        &[0],
        &[],
        10_000,
        json!({"gte":2}),
        None,
        true,
    );
    let e = engine(plan(1, vec![c], None));
    let one = b"{\"EventID\":\"0\"}\n";
    assert_eq!(e.eval_json_at(one, 0).map(|o| o.matches), Ok(vec![]));
    assert_eq!(e.eval_json_at(one, 10_001).map(|o| o.matches), Ok(vec![]));
    assert_eq!(
        e.eval_json_at(one, 20_001).map(|o| o.matches),
        Ok(vec![(0, 1)])
    );
    // The clock never goes backwards: 5 is taken as 20 001.
    assert_eq!(e.eval_json_at(one, 5).map(|o| o.matches), Ok(vec![]));
    assert_eq!(e.eval_json_at(one, 5).map(|o| o.matches), Ok(vec![(0, 1)]));
}

#[test]
fn arrow_path_reads_group_by_fields() {
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    use std::sync::Arc;
    let c = corr(
        "c",
        "value_count",
        &[0],
        &["user"],
        10_000,
        json!({"gte":2}),
        Some("v"),
        true,
    );
    let e = engine(plan(1, vec![c], Some("t")));
    let col = |v: Vec<&str>| Arc::new(StringArray::from(v)) as ArrayRef;
    let batch = RecordBatch::try_from_iter([
        ("EventID", col(vec!["0", "0", "0"])),
        ("user", col(vec!["a", "b", "a"])),
        ("v", col(vec!["x", "y", "z"])),
        (
            "t",
            col(vec![
                "2021-03-04T10:00:00Z",
                "2021-03-04T10:00:01Z",
                "2021-03-04T10:00:02Z",
            ]),
        ),
    ]);
    let out = batch
        .map_err(|e| e.to_string())
        .and_then(|b| e.eval_record_batch(&b).map_err(|e| e.to_string()));
    assert_eq!(out.map(|o| o.matches), Ok(vec![(2, 1)]));
}

#[test]
fn emitted_base_rules_feed_correlations_too() {
    let c = corr(
        "c",
        "event_count",
        &[0],
        &[],
        10_000,
        json!({"gte":2}),
        None,
        true,
    );
    let mut p = plan(1, vec![c], Some("t"));
    if let Some(r) = p.rules.get_mut(0) {
        r.emit = true;
    }
    let e = engine(p);
    assert_eq!(
        run(&e, &[(0, "a", 0, None), (0, "a", 1, None)]),
        vec![(0, 0), (1, 0), (1, 1)]
    );
}

#[test]
fn batches_keep_ticket_order() {
    let c = corr(
        "c",
        "temporal_ordered",
        &[0, 1],
        &[],
        10_000,
        json!({"gte":2}),
        None,
        true,
    );
    let e = Arc::new(engine(plan(2, vec![c], None)));
    let t1 = e.ticket();
    let t2 = e.ticket();
    // The second batch (rule 1) is submitted to a thread first; it must wait for the first (rule 0).
    let e2 = Arc::clone(&e);
    let h = std::thread::spawn(move || {
        e2.eval_json_ticket(b"{\"EventID\":\"1\"}\n", t2, Some(10))
            .map(|o| o.matches)
    });
    std::thread::sleep(std::time::Duration::from_millis(50));
    let first = e
        .eval_json_ticket(b"{\"EventID\":\"0\"}\n", t1, Some(5))
        .map(|o| o.matches);
    assert_eq!(first, Ok(vec![]));
    assert_eq!(h.join().ok(), Some(Ok(vec![(0, 2)])));
}

use std::sync::Arc;

/// Batches spawned together share the engine's threads; their correlation
/// steps still run in ticket order, and none waits on another stacked on
/// its own thread (that would stall until the sequencer's wait limit).
#[test]
fn spawned_batches_share_the_threads_in_ticket_order() {
    let c = corr(
        "c",
        "event_count",
        &[0],
        &["user"],
        60_000,
        json!({"gte":3}),
        None,
        true,
    );
    let mut p = plan(1, vec![c], Some("t"));
    p.options.threads = 2;
    // Batches of ~600 KB: each is cut into several work items.
    let batches: Vec<Vec<u8>> = (0..6i64)
        .map(|b| {
            let events: Vec<(u32, String, i64)> = (0..6000i64)
                .map(|i| {
                    (
                        u32::from(i % 7 == 0),
                        format!("user{}-{}", i % 50, "x".repeat(60)),
                        b * 6000 + i,
                    )
                })
                .collect();
            let refs: Vec<(u32, &str, i64, Option<&str>)> = events
                .iter()
                .map(|(id, u, t)| (*id, u.as_str(), *t, None))
                .collect();
            ndjson(&refs)
        })
        .collect();
    let sequential = engine(p.clone());
    let want: Vec<Vec<(u32, u32)>> = batches
        .iter()
        .map(|b| {
            sequential
                .eval_json(b)
                .map(|o| o.matches)
                .unwrap_or_default()
        })
        .collect();
    assert!(
        want.iter().any(|m| m.iter().any(|&(_, r)| r == 1)),
        "the correlation fires"
    );
    let e = Arc::new(engine(p));
    let (tx, rx) = std::sync::mpsc::channel();
    for (i, b) in batches.into_iter().enumerate() {
        let ticket = e.ticket();
        let (e2, tx) = (Arc::clone(&e), tx.clone());
        e.spawn(move || {
            let got = e2.eval_json_ticket(&b, ticket, None).map(|o| o.matches);
            let _ = tx.send((i, got));
        });
    }
    let mut got = vec![Vec::new(); want.len()];
    for _ in 0..want.len() {
        match rx.recv_timeout(std::time::Duration::from_secs(20)) {
            Ok((i, Ok(m))) => got[i] = m,
            Ok((i, Err(err))) => panic!("batch {i}: {err}"),
            Err(_) => panic!("a spawned batch did not finish"),
        }
    }
    assert_eq!(got, want);
}
