//! Sub-batching and the worker pool: a chunk's output must not depend on the
//! sub-batch size or the thread count (matches, correlation inputs, line
//! offsets, dead letters with chunk-relative lines, and row/event counters),
//! and an Arrow batch's output must not depend on the thread count (its
//! rows are cut into ranges evaluated in parallel), nor on how many other
//! batches are being evaluated at the same time (which decides the cut).

mod common;

use common::{plan, rule, s};
use serde_json::json;
use sigma_core::Engine;

fn chunk() -> String {
    let mut chunk = String::new();
    for i in 0..30_000 {
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
    chunk
}

#[test]
fn output_is_independent_of_threads_and_sub_batch_size() {
    let preds = vec![s(0, "contains", "7", false), s(1, "exact", "x", true)];
    let mut hidden = rule(json!({"pred":1}));
    hidden["emit"] = json!(false);
    let rules = vec![
        rule(json!({"pred":0})),
        rule(json!({"or":[{"pred":0},{"pred":1}]})),
        hidden,
    ];
    let p1 = plan(&["a", "b"], preds, rules);
    let chunk = chunk();
    // Reference: one thread, the whole chunk as a single sub-batch.
    let (mut base, _) = Engine::compile(&p1).unwrap();
    base.set_sub_batch_bytes(usize::MAX);
    let want = base.eval_json(chunk.as_bytes()).unwrap();
    assert_eq!(want.lines, 30_001);
    assert!(!want.correlation_inputs.is_empty());
    assert!(!want.dead_letters.is_empty());
    for threads in [1, 2, 4] {
        for sub in [0, 1, 100, 4096, 64 << 10, 1 << 30] {
            let p = p1.replace("\"threads\":1", &format!("\"threads\":{threads}"));
            let (mut e, _) = Engine::compile(&p).unwrap();
            e.set_sub_batch_bytes(sub);
            let got = e.eval_json(chunk.as_bytes()).unwrap();
            let ctx = format!("threads {threads}, sub-batch {sub}");
            assert_eq!(got.lines, want.lines, "{ctx}");
            assert_eq!(got.line_offsets, want.line_offsets, "{ctx}");
            assert_eq!(got.matches, want.matches, "{ctx}");
            assert_eq!(got.correlation_inputs, want.correlation_inputs, "{ctx}");
            assert_eq!(got.dead_letters, want.dead_letters, "{ctx}");
            let (g, w) = (got.stats, want.stats);
            assert_eq!(
                (
                    g.batches,
                    g.rows,
                    g.events,
                    g.matches,
                    g.dead_letters,
                    g.bytes
                ),
                (
                    w.batches,
                    w.rows,
                    w.events,
                    w.matches,
                    w.dead_letters,
                    w.bytes
                ),
                "{ctx}"
            );
        }
    }
}

#[test]
fn output_is_independent_of_concurrent_batches() {
    let p = plan(
        &["a", "b"],
        vec![s(0, "contains", "7", false), s(1, "exact", "x", true)],
        vec![rule(json!({"or":[{"pred":0},{"pred":1}]}))],
    )
    .replace("\"threads\":1", "\"threads\":2");
    let chunk = chunk();
    let (e, _) = Engine::compile(&p).unwrap();
    let want = e.eval_json(chunk.as_bytes()).unwrap();
    assert!(!want.matches.is_empty());
    std::thread::scope(|scope| {
        let callers: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    (0..5)
                        .map(|_| e.eval_json(chunk.as_bytes()).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for caller in callers {
            for got in caller.join().unwrap() {
                assert_eq!(got.matches, want.matches);
                assert_eq!(got.line_offsets, want.line_offsets);
                assert_eq!(got.dead_letters, want.dead_letters);
                assert_eq!(got.stats.events, want.stats.events);
            }
        }
    });
}

#[test]
fn empty_and_tiny_chunks() {
    let p = plan(
        &["a"],
        vec![s(0, "exact", "x", true)],
        vec![rule(json!({"pred":0}))],
    );
    for threads in [1, 4] {
        let (mut e, _) =
            Engine::compile(&p.replace("\"threads\":1", &format!("\"threads\":{threads}")))
                .unwrap();
        e.set_sub_batch_bytes(1);
        let empty = e.eval_json(b"").unwrap();
        assert_eq!(empty.line_offsets.last(), Some(&0));
        let one = e.eval_json(b"{\"a\":\"x\"}").unwrap();
        assert_eq!(one.matches, vec![(0, 0)]);
        let two = e.eval_json(b"\n{\"a\":\"x\"}\n").unwrap();
        assert_eq!(two.matches, vec![(1, 0)]);
        assert_eq!(two.line_offsets, vec![0, 1, 11]);
    }
}

#[test]
fn arrow_output_is_independent_of_threads() {
    use arrow_array::builder::{ListBuilder, StringBuilder};
    use arrow_array::{new_null_array, ArrayRef, RecordBatch, StringArray};
    use arrow_schema::DataType;
    use std::sync::Arc;

    // Long enough (20,000 rows) that the engine cuts the batch into
    // several row ranges; 300 null columns keep every range's slices wide.
    let rows = 20_000;
    let a: StringArray = (0..rows)
        .map(|i| (i % 11 != 0).then(|| i.to_string()))
        .collect();
    let mut b = ListBuilder::new(StringBuilder::new());
    for i in 0..rows {
        if i % 5 != 0 {
            b.values().append_value(if i % 3 == 0 { "x" } else { "y" });
            b.values().append_value("z");
        }
        b.append(i % 7 != 0);
    }
    let mut columns = vec![
        ("a".to_string(), Arc::new(a) as ArrayRef),
        ("b".to_string(), Arc::new(b.finish()) as ArrayRef),
    ];
    for i in 0..300 {
        columns.push((format!("pad{i}"), new_null_array(&DataType::Utf8, rows)));
    }
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let preds = vec![s(0, "contains", "7", false), s(1, "exact", "x", true)];
    let mut hidden = rule(json!({"pred":1}));
    hidden["emit"] = json!(false);
    let rules = vec![
        rule(json!({"pred":0})),
        rule(json!({"and":[{"pred":0},{"not":{"pred":1}}]})),
        hidden,
    ];
    let p1 = plan(&["a", "b"], preds, rules);
    let (base, _) = Engine::compile(&p1).unwrap();
    let want = base.eval_record_batch(&batch).unwrap();
    assert!(!want.matches.is_empty());
    assert!(!want.correlation_inputs.is_empty());
    for threads in [2, 4, 64] {
        let p = p1.replace("\"threads\":1", &format!("\"threads\":{threads}"));
        let (e, _) = Engine::compile(&p).unwrap();
        let got = e.eval_record_batch(&batch).unwrap();
        assert_eq!(got.rows, want.rows, "threads {threads}");
        assert_eq!(got.matches, want.matches, "threads {threads}");
        assert_eq!(
            got.correlation_inputs, want.correlation_inputs,
            "threads {threads}"
        );
        assert_eq!(
            (got.stats.batches, got.stats.events, got.stats.matches),
            (want.stats.batches, want.stats.events, want.stats.matches),
            "threads {threads}"
        );
    }
}
