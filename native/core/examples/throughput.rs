//! Release-mode throughput check (not a test, not committed data):
//! `cargo run --release -p sigma-core --example throughput -- PLAN.json EVENTS.ndjson [threads]`
//! Reports parse-only and parse+evaluate events/s and MB/s over the file,
//! cut into ~4 MiB chunks at newlines, the match count, and the wall time
//! per chunk of the engine alone (p50/p99).
//! Env: `REPS` (default 3), `SKIP_PARSE`, `SKIP_EVAL` (parse-only timing),
//! `KEYWORDS=1` (parse-only also fills the keyword column), `TAPE_ONLY`
//! (parse-only without the single-pass scanner), `AB` (interleaved tape vs
//! scanner comparison), `NO_FIELDS` (parse-only with an empty field index), `CHUNK_KB`
//! (chunk size, default 4096), `SUB_KB` (the engine's sub-batch size, default
//! `engine::SUB_BATCH_BYTES`). Rates are given
//! per wall second and per CPU second of the timing thread (the latter is
//! steadier on a loaded machine).

use sigma_core::json::{FieldIndex, JsonBatch, JsonLimits, JsonParser};
use sigma_core::{Engine, Plan};
use std::time::Instant;

fn chunks(data: &[u8], size: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < data.len() {
        let mut end = (start + size).min(data.len());
        if end < data.len() {
            end = memchr::memchr(b'\n', &data[end..]).map_or(data.len(), |i| end + i + 1);
        }
        out.push(&data[start..end]);
        start = end;
    }
    out
}

/// CPU time of the calling thread in ns (Linux schedstat; 0 elsewhere).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(plan_path), Some(events_path)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: throughput PLAN.json EVENTS.ndjson [threads]");
        std::process::exit(2);
    };
    let threads: u32 = args.get(3).and_then(|t| t.parse().ok()).unwrap_or(1);
    let plan_json = std::fs::read_to_string(plan_path)?;
    let data = std::fs::read(events_path)?;
    let chunk_kb: usize = std::env::var("CHUNK_KB")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(4096);
    let parts = chunks(&data, chunk_kb << 10);
    let mb = data.len() as f64 / 1e6;

    let t = Instant::now();
    let mut plan = Plan::from_json(&plan_json)?;
    plan.options.threads = threads;
    let (mut engine, errors) = Engine::from_plan(plan);
    if let Some(kb) = std::env::var("SUB_KB")
        .ok()
        .and_then(|k| k.parse::<usize>().ok())
    {
        engine.set_sub_batch_bytes(kb << 10);
    }
    println!(
        "compile: {:.2}s, {} rules, {} compile errors",
        t.elapsed().as_secs_f64(),
        engine.plan().rules.len(),
        errors.len()
    );
    let mut scanners: Vec<_> = engine
        .explain()
        .fields
        .into_iter()
        .map(|f| (f.counts.scanner_bytes, f.field))
        .collect();
    scanners.sort_unstable_by(|a, b| b.cmp(a));
    let total: usize = scanners.iter().map(|a| a.0).sum();
    println!(
        "literal scanners: {:.1} MiB; largest:",
        total as f64 / 1048576.0
    );
    for (bytes, field) in scanners.iter().take(8) {
        println!("  {field}: {:.1} MiB", *bytes as f64 / 1048576.0);
    }
    let plan = engine.plan().clone();
    // `NO_FIELDS`: parse-only with no referenced field (pure scan cost).
    let idx = if std::env::var_os("NO_FIELDS").is_some() {
        FieldIndex::new(&[])
    } else {
        FieldIndex::new(&plan.fields)
    };
    let mut parser = JsonParser::with_fast_path(std::env::var_os("TAPE_ONLY").is_none());
    let mut batch = JsonBatch::default();
    let limits = JsonLimits {
        max_event_bytes: 1 << 20,
        max_depth: 64,
        keywords: std::env::var("KEYWORDS").is_ok_and(|k| k == "1"),
    };
    let reps: usize = std::env::var("REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let parse_reps = if std::env::var_os("SKIP_PARSE").is_some() {
        0
    } else {
        reps
    };
    let t = Instant::now();
    let cpu0 = thread_cpu_ns();
    let mut events = 0usize;
    for _ in 0..parse_reps {
        for c in &parts {
            parser.parse_chunk(&idx, limits, c, &mut batch);
            events += batch.valid.count();
        }
    }
    let s = t.elapsed().as_secs_f64();
    let cpu = (thread_cpu_ns().saturating_sub(cpu0)) as f64 / 1e9;
    println!(
        "parse only (1 thread, keywords {}): {:.0} events/s, {:.0} MB/s wall; {:.0} events/s, {:.0} MB/s per CPU second",
        limits.keywords,
        events as f64 / s,
        mb * parse_reps as f64 / s,
        events as f64 / cpu,
        mb * parse_reps as f64 / cpu
    );
    if std::env::var_os("AB").is_some() {
        // Interleaved A/B of the tape path and the scanner, chunk by chunk;
        // the best of `reps` passes per CPU second (steadiest on a loaded box).
        let mut tape = JsonParser::with_fast_path(false);
        let mut best = [f64::MAX; 2];
        let mut spent = [0f64; 2];
        for _ in 0..reps.max(1) {
            let mut pass = [0f64; 2];
            for c in &parts {
                for (k, p) in [&mut tape, &mut parser].into_iter().enumerate() {
                    let c0 = thread_cpu_ns();
                    p.parse_chunk(&idx, limits, c, &mut batch);
                    let d = thread_cpu_ns().saturating_sub(c0) as f64 / 1e9;
                    pass[k] += d;
                }
            }
            for k in 0..2 {
                best[k] = best[k].min(pass[k]);
                spent[k] += pass[k];
            }
        }
        let n = parts
            .iter()
            .map(|c| memchr::memchr_iter(b'\n', c).count())
            .sum::<usize>() as f64;
        for (k, name) in ["tape", "scanner"].iter().enumerate() {
            println!(
                "A/B {name}: best {:.0} events/s, {:.0} MB/s per CPU second (mean {:.0} events/s)",
                n / best[k],
                mb / best[k],
                n * reps.max(1) as f64 / spent[k]
            );
        }
    }
    let (fast, fell) = parser.fast_path_counts();
    println!("  scanner accepted {fast} lines, tape fallback {fell}");
    if std::env::var_os("SKIP_EVAL").is_some() {
        return Ok(());
    }

    let t = Instant::now();
    let mut matches = 0usize;
    let mut events = 0u64;
    let mut chunk_ms = Vec::with_capacity(parts.len() * reps);
    for _ in 0..reps {
        for c in &parts {
            let tc = Instant::now();
            let out = engine.eval_json(c)?;
            chunk_ms.push(tc.elapsed().as_secs_f64() * 1e3);
            matches += out.matches.len();
            events += out.stats.events;
        }
    }
    let s = t.elapsed().as_secs_f64();
    chunk_ms.sort_by(f64::total_cmp);
    let at = |q: f64| {
        chunk_ms
            .get((q * chunk_ms.len() as f64) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let st = engine.stats();
    println!(
        "parse+eval ({threads} threads): {:.0} events/s, {:.0} MB/s, {} matches/pass; per chunk p50 {:.2} ms p99 {:.2} ms; cpu split parse {:.2}s match {:.2}s cond {:.2}s",
        events as f64 / s,
        mb * reps as f64 / s,
        matches / reps,
        at(0.5),
        at(0.99),
        st.parse_ns as f64 / 1e9,
        st.match_ns as f64 / 1e9,
        st.condition_ns as f64 / 1e9
    );
    if std::env::var_os("ORACLE").is_some() {
        // Cross-check the optimized evaluator against the naive oracle.
        let t = Instant::now();
        let kw = plan
            .predicates
            .iter()
            .any(|p| p.field == sigma_core::plan::PredField::Keyword);
        let lim = JsonLimits {
            keywords: kw,
            ..limits
        };
        let mut checked = 0;
        for c in parts.iter().take(2) {
            let out = engine.eval_json(c)?;
            parser.parse_chunk(&idx, lim, c, &mut batch);
            let r = sigma_core::reference::evaluate(&plan, &batch.view());
            if r.matches != out.matches || r.hidden != out.correlation_inputs {
                eprintln!(
                    "ORACLE MISMATCH: {} vs {}",
                    r.matches.len(),
                    out.matches.len()
                );
                std::process::exit(1);
            }
            checked += r.matches.len();
        }
        println!(
            "oracle agrees on {checked} matches ({:.1}s)",
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
