//! The crate's public façade. `Engine::compile` validates and compiles a plan
//! once; `eval_json` takes an NDJSON chunk and `eval_record_batch` an Arrow
//! batch; both return `(row, rule)` matches sorted by row then rule. A JSON
//! chunk is cut at newlines into sub-batches of at most about
//! `SUB_BATCH_BYTES` (and about two per idle thread, `work_items`); the
//! sub-batches are work items run by the engine's own pool of `threads`
//! worker threads, each with a pooled `Scratch`, and merged in row order, so
//! output never depends on the thread count or the sub-batch size. Batches
//! submitted together (`spawn`) share the pool: one batch's items start while
//! another's results are on their way back, and the cores are never
//! oversubscribed. `Engine` is `Send + Sync`; all mutable state is in the
//! scratch pool (a mutex held only to take/return a scratch) and atomic
//! counters.

use crate::batch_threads::BatchThreads;
use crate::bitset::Bitset;
use crate::columns;
use crate::correlation::{
    self, Correlation, CorrelationStats, RestoreError, RestoreReport, RowInput, Ticket,
};
use crate::eval::{evaluate, CompiledPlan, EvalResult, EvalScratch, Explain, PhaseTimes};
use crate::json::{DeadLetter, JsonBatch, JsonLimits, JsonParser};
use crate::matchers::CompileError;
use crate::plan::{Plan, PlanError};
use crate::text::{BatchView, BorrowedColumn, ColumnRef, Columns};
use arrow_array::RecordBatch;
use rayon::prelude::*;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// A JSON chunk is parsed and evaluated in sub-batches of at most this many
/// bytes (cut at the next newline). Parsing alone prefers ~256 KiB (column
/// buffers stay in cache), but evaluation has a per-batch fixed cost (rule
/// conditions, value dedup): full rule set, otrf200k, 1 thread, parse+eval
/// events/s: 128K 59k, 256K 75k, 512K 90k, 1M ~105k, 4M ~115k (noisy box).
pub const SUB_BATCH_BYTES: usize = 4 << 20;

/// A chunk is cut into about two work items per idle thread (load
/// balancing; 1 MiB items for a 4 MiB chunk on 2 threads beat halves, 118k
/// vs 91k events/s), but no item is made smaller than this.
const MIN_ITEM_BYTES: usize = 256 * 1024;

/// The Arrow path's counterpart of `MIN_ITEM_BYTES`, in rows. An item's
/// fixed cost is small beside a batch's (~0.2 ms per item of 198 columns,
/// against ~1 ms of import, validation and hand-offs per batch), so even a
/// 250-event DoExchange batch is worth spreading over the threads: its
/// latency is its slowest item's (closed loop, 250 attack events: p50
/// 7.3-7.5 ms in one item, 5.5-5.7 ms in two).
const MIN_ITEM_ROWS: usize = 128;

/// Work items for a batch that starts while `others` batches are being
/// evaluated on `threads` threads: two per thread those leave idle (so a
/// lone batch spreads over every core, which is its latency), and a single
/// item when none is idle. Every cut repeats per-item costs: the value
/// dedup restarts and each column is set up again. Attack events, 198
/// columns, one thread, the same 8,192 events in items of 512 rows: 5.5 µs
/// of CPU per event; of 2,048 rows: 4.8 µs. When the threads have batches
/// of their own, smaller items only add that cost.
fn work_items(threads: usize, others: usize) -> usize {
    match threads.saturating_sub(others) {
        0 | 1 => 1,
        idle => 2 * idle,
    }
}

/// Append a work item's (row, rule) pairs to the batch's, its rows moved
/// by `base` (the item's first row in the batch).
fn append_shifted(base: u32, part: &[(u32, u32)], out: &mut Vec<(u32, u32)>) {
    out.extend(part.iter().map(|&(r, x)| (r + base, x)));
}

/// `append_shifted` for a work item's correlation inputs.
fn append_shifted_inputs(base: u32, part: Vec<RowInput>, out: &mut Vec<RowInput>) {
    out.extend(part.into_iter().map(|mut r| {
        r.row += base;
        r
    }));
}

/// Why a batch could not be evaluated at all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "camelCase")]
pub enum EvalError {
    /// JSON chunks are addressed with u32 offsets.
    ChunkTooLarge { bytes: u64 },
    /// An Arrow column is malformed or of an unsupported type.
    InvalidBatch { message: String },
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EvalError::ChunkTooLarge { bytes } => write!(f, "chunk of {bytes} bytes exceeds 4 GiB"),
            EvalError::InvalidBatch { message } => write!(f, "invalid Arrow batch: {message}"),
        }
    }
}

impl std::error::Error for EvalError {}

/// Counters of one call (or cumulated by `Engine::stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchStats {
    pub batches: u64,
    /// Rows evaluated (JSON: lines, including blank and dead ones).
    pub rows: u64,
    /// Valid events.
    pub events: u64,
    pub matches: u64,
    pub correlation_inputs: u64,
    pub dead_letters: u64,
    pub bytes: u64,
    pub parse_ns: u64,
    pub match_ns: u64,
    pub condition_ns: u64,
}

impl BatchStats {
    fn add(&mut self, o: &BatchStats) {
        self.batches += o.batches;
        self.rows += o.rows;
        self.events += o.events;
        self.matches += o.matches;
        self.correlation_inputs += o.correlation_inputs;
        self.dead_letters += o.dead_letters;
        self.bytes += o.bytes;
        self.parse_ns += o.parse_ns;
        self.match_ns += o.match_ns;
        self.condition_ns += o.condition_ns;
    }
}

/// Cumulative counters.
pub type EngineStats = BatchStats;

#[derive(Default)]
struct AtomicStats([AtomicU64; 10]);

impl AtomicStats {
    fn add(&self, s: &BatchStats) {
        let v = [
            s.batches,
            s.rows,
            s.events,
            s.matches,
            s.correlation_inputs,
            s.dead_letters,
            s.bytes,
            s.parse_ns,
            s.match_ns,
            s.condition_ns,
        ];
        for (a, x) in self.0.iter().zip(v) {
            a.fetch_add(x, Ordering::Relaxed);
        }
    }
    fn get(&self) -> BatchStats {
        let g = |i: usize| self.0.get(i).map_or(0, |a| a.load(Ordering::Relaxed));
        BatchStats {
            batches: g(0),
            rows: g(1),
            events: g(2),
            matches: g(3),
            correlation_inputs: g(4),
            dead_letters: g(5),
            bytes: g(6),
            parse_ns: g(7),
            match_ns: g(8),
            condition_ns: g(9),
        }
    }
}

/// Result of `Engine::eval_json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonEvalOutput {
    /// Lines in the chunk (= rows).
    pub lines: u32,
    /// `lines + 1` offsets: line i is `chunk[off[i]..off[i+1]]`, newline included.
    pub line_offsets: Vec<u32>,
    /// `(line, rule)` of emitted rules, sorted.
    pub matches: Vec<(u32, u32)>,
    /// `(line, rule)` of `emit: false` rules, sorted (for correlations).
    pub correlation_inputs: Vec<(u32, u32)>,
    pub dead_letters: Vec<DeadLetter>,
    pub stats: BatchStats,
}

/// Result of `Engine::eval_record_batch`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArrowEvalOutput {
    pub rows: u32,
    pub matches: Vec<(u32, u32)>,
    pub correlation_inputs: Vec<(u32, u32)>,
    pub stats: BatchStats,
}

/// Per-thread scratch: parser, columns and evaluation buffers.
#[derive(Default)]
struct Scratch {
    parser: JsonParser,
    batch: JsonBatch,
    eval: EvalScratch,
    /// Emptied between batches (`BorrowedColumn::recycle`): they borrow one.
    arrow_cols: Vec<BorrowedColumn<'static>>,
    arrow_kw: BorrowedColumn<'static>,
    /// The plan's fields resolved in the schemas of recent Arrow batches.
    schemas: columns::SchemaCache,
    valid: Bitset,
}

/// A compiled rule set.
pub struct Engine {
    plan: CompiledPlan,
    /// Correlation rules: immutable specs plus the one mutable state (mutex).
    corr: Correlation,
    pool: Mutex<Vec<Scratch>>,
    stats: AtomicStats,
    threads: usize,
    /// The evaluation threads (None if they could not be started: work then
    /// runs on the calling thread).
    workers: Option<rayon::ThreadPool>,
    /// Where batch jobs wait for their work items (`spawn`).
    batch_threads: BatchThreads,
    sub_batch_bytes: usize,
    /// Batches being evaluated now (`Engine::enter`).
    active: AtomicUsize,
}

/// Marks a batch as being evaluated for as long as it lives.
struct ActiveBatch<'a>(&'a AtomicUsize);

impl Drop for ActiveBatch<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

struct PartOut {
    corr: Vec<RowInput>,
    lines: usize,
    offsets: Vec<u32>,
    res: EvalResult,
    dead: Vec<DeadLetter>,
    stats: BatchStats,
}

impl Engine {
    /// Validate and compile a serialized plan. Predicates that fail to
    /// compile are returned as errors (they never match); a malformed plan is
    /// refused whole.
    pub fn compile(plan_json: &str) -> Result<(Engine, Vec<CompileError>), PlanError> {
        let plan = Plan::from_json(plan_json)?;
        Ok(Self::from_plan(plan))
    }

    /// Compile an already validated plan.
    pub fn from_plan(plan: Plan) -> (Engine, Vec<CompileError>) {
        Self::from_plan_with_limits(plan, correlation::Limits::default())
    }

    /// Compile with explicit correlation memory bounds. The fields that
    /// correlations read (group-by, value, timestamp) are appended to the
    /// plan's field list, without predicates, so every path materialises them.
    pub fn from_plan_with_limits(
        mut plan: Plan,
        limits: correlation::Limits,
    ) -> (Engine, Vec<CompileError>) {
        let threads = match plan.options.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n as usize,
        };
        for f in correlation::needed_fields(&plan) {
            if !plan.fields.contains(&f) {
                plan.fields.push(f);
            }
        }
        let (cor, corr_errors) = correlation::Correlator::new(&plan);
        let (plan, mut errors) = CompiledPlan::new(plan);
        errors.extend(corr_errors.into_iter().map(|message| CompileError {
            predicate: u32::MAX,
            rules: Vec::new(),
            message,
        }));
        let workers = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("sigma-eval-{i}"))
            // Batch jobs run on the pool (`spawn`) and turn evaluation panics
            // into errors; one that still escaped would abort the process
            // without a handler. The panic hook has reported it already.
            .panic_handler(|_| {})
            .build()
            .ok();
        let build_combined = plan.combined_builder();
        match &workers {
            Some(pool) => pool.spawn(build_combined),
            None => build_combined(),
        }
        (
            Engine {
                plan,
                corr: Correlation::new(cor, limits),
                pool: Mutex::new(Vec::new()),
                stats: AtomicStats::default(),
                threads,
                workers,
                batch_threads: BatchThreads::default(),
                sub_batch_bytes: SUB_BATCH_BYTES,
                active: AtomicUsize::new(0),
            },
            errors,
        )
    }

    pub fn plan(&self) -> &Plan {
        &self.plan.plan
    }

    pub fn explain(&self) -> Explain {
        self.plan.explain()
    }

    /// Tuning knob (benchmarks, tests): the JSON sub-batch size in bytes
    /// (default `SUB_BATCH_BYTES`; 0 is taken as 1). Outputs do not depend on it.
    pub fn set_sub_batch_bytes(&mut self, bytes: usize) {
        self.sub_batch_bytes = bytes.max(1);
    }

    /// Cumulative counters since compile.
    pub fn stats(&self) -> EngineStats {
        self.stats.get()
    }

    fn take_scratch(&self) -> Scratch {
        match self.pool.lock() {
            Ok(mut p) => p.pop().unwrap_or_default(),
            Err(_) => Scratch::default(),
        }
    }

    fn put_scratch(&self, s: Scratch) {
        if let Ok(mut p) = self.pool.lock() {
            p.push(s);
        }
    }

    /// Count a batch as being evaluated until the guard drops (once its
    /// work items are done); also returns how many items to cut it into
    /// (see `work_items`).
    fn enter(&self) -> (ActiveBatch<'_>, usize) {
        let others = self.active.fetch_add(1, Ordering::AcqRel);
        (ActiveBatch(&self.active), work_items(self.threads, others))
    }

    fn limits(&self) -> JsonLimits {
        let o = &self.plan.plan.options;
        JsonLimits {
            max_event_bytes: o.max_event_bytes,
            max_depth: o.max_depth,
            keywords: self.plan.has_keywords,
        }
    }

    fn run_part(&self, part: &[u8], sc: &mut Scratch) -> PartOut {
        let t0 = Instant::now();
        let Scratch {
            parser,
            batch,
            eval,
            ..
        } = sc;
        parser.parse_chunk(&self.plan.index, self.limits(), part, batch);
        let parse_ns = t0.elapsed().as_nanos() as u64;
        let mut times = PhaseTimes::default();
        let res = evaluate(&self.plan, &batch.view(), eval, &mut times);
        let corr = self
            .corr
            .extract(&batch.view(), [&res.matches, &res.hidden]);
        let stats = BatchStats {
            batches: 0,
            rows: batch.rows as u64,
            events: batch.valid.count() as u64,
            matches: res.matches.len() as u64,
            correlation_inputs: res.hidden.len() as u64,
            dead_letters: batch.dead_letters.len() as u64,
            bytes: part.len() as u64,
            parse_ns,
            match_ns: times.match_ns,
            condition_ns: times.condition_ns,
        };
        PartOut {
            corr,
            lines: batch.rows,
            offsets: std::mem::take(&mut batch.line_offsets),
            res,
            dead: std::mem::take(&mut batch.dead_letters),
            stats,
        }
    }

    /// Cut `chunk` into parts of about `size` bytes, each ending just after
    /// a newline (the last one at the chunk's end); at least one part.
    fn split(chunk: &[u8], size: usize) -> Vec<(usize, usize)> {
        let mut parts = Vec::with_capacity(chunk.len() / size.max(1) + 1);
        let mut start = 0;
        while start < chunk.len() {
            let target = start.saturating_add(size.max(1));
            let end = match chunk.get(target..) {
                Some(tail) => memchr::memchr(b'\n', tail).map_or(chunk.len(), |i| target + i + 1),
                None => chunk.len(),
            };
            parts.push((start, end));
            start = end;
        }
        if parts.is_empty() {
            parts.push((0, chunk.len()));
        }
        parts
    }

    /// Run `job` (one batch's evaluation) off the caller's thread.
    ///
    /// With correlation rules a job blocks (its correlation step waits for
    /// earlier tickets), so it runs on a batch thread (`BatchThreads`) and
    /// waits there while its work items run on the engine's threads: on a
    /// pool thread it could be stacked, by work stealing, on top of the very
    /// batch it waits for. Without them a job never blocks and runs on the
    /// pool itself, where its work items start without a hand-off between
    /// threads: for a small batch, the wake-ups of a batch thread and a pool
    /// thread cost more than its evaluation.
    pub fn spawn<F: FnOnce() + Send + 'static>(&self, job: F) {
        match &self.workers {
            Some(pool) if self.corr.never_waits() => pool.spawn(job),
            _ => self.batch_threads.run(job),
        }
    }

    /// Run `items` work items on the engine's threads, each with a pooled
    /// scratch; results come back indexed by item.
    fn run_items<T: Send>(
        &self,
        items: usize,
        run: impl Fn(usize, &mut Scratch) -> T + Sync,
    ) -> Vec<T> {
        let with_scratch = |i: usize| {
            let mut sc = self.take_scratch();
            let out = run(i, &mut sc);
            self.put_scratch(sc);
            out
        };
        // Even a single item goes to the pool, whose size is what bounds the
        // threads at work; from a job already on the pool, `install` runs
        // the items in place.
        match &self.workers {
            Some(pool) => pool.install(|| {
                (0..items)
                    .into_par_iter()
                    .with_max_len(1)
                    .map(with_scratch)
                    .collect()
            }),
            None => (0..items).map(with_scratch).collect(),
        }
    }

    /// Reserve this batch's place in the correlation order, on the thread
    /// that defines the order (see `correlation::Ticket`); pass it to a
    /// `*_ticket` call, which settles it whatever the outcome.
    pub fn ticket(&self) -> Ticket {
        self.corr.ticket()
    }

    /// Settles the ticket of a batch that never reached a `*_ticket` call
    /// (its input was refused first), so later batches need not wait for it.
    pub fn abandon(&self, ticket: Ticket) {
        self.corr.abandon(ticket);
    }

    /// Parse and evaluate one NDJSON chunk (arrival clock: the wall clock).
    pub fn eval_json(&self, chunk: &[u8]) -> Result<JsonEvalOutput, EvalError> {
        self.eval_json_ticket(chunk, self.ticket(), None)
    }

    /// `eval_json` with the arrival clock given (ms, monotonic).
    pub fn eval_json_at(&self, chunk: &[u8], now_ms: i64) -> Result<JsonEvalOutput, EvalError> {
        self.eval_json_ticket(chunk, self.ticket(), Some(now_ms))
    }

    /// `eval_json` in the correlation order of `ticket`.
    pub fn eval_json_ticket(
        &self,
        chunk: &[u8],
        ticket: Ticket,
        now_ms: Option<i64>,
    ) -> Result<JsonEvalOutput, EvalError> {
        let mut ticket = Some(ticket);
        let r = self.eval_json_inner(chunk, &mut ticket, now_ms);
        if let Some(t) = ticket {
            self.corr.abandon(t);
        }
        r
    }

    fn eval_json_inner(
        &self,
        chunk: &[u8],
        ticket: &mut Option<Ticket>,
        now_ms: Option<i64>,
    ) -> Result<JsonEvalOutput, EvalError> {
        if chunk.len() >= u32::MAX as usize {
            return Err(EvalError::ChunkTooLarge {
                bytes: chunk.len() as u64,
            });
        }
        let (active, items) = self.enter();
        let size = if items > 1 {
            let per_item = chunk.len().div_ceil(items);
            self.sub_batch_bytes.min(per_item.max(MIN_ITEM_BYTES))
        } else {
            self.sub_batch_bytes
        };
        let parts = Self::split(chunk, size);
        let outs = self.run_items(parts.len(), |i, sc| {
            let part = parts.get(i).and_then(|&(a, b)| chunk.get(a..b));
            self.run_part(part.unwrap_or_default(), sc)
        });
        // Done with the threads: a correlation step may still wait below.
        drop(active);
        let mut out = JsonEvalOutput::default();
        let mut stats = BatchStats {
            batches: 1,
            ..Default::default()
        };
        let mut row_base = 0u32;
        let mut corr_rows: Vec<RowInput> = Vec::new();
        for (&(start, _), p) in parts.iter().zip(outs) {
            append_shifted(row_base, &p.res.matches, &mut out.matches);
            append_shifted(row_base, &p.res.hidden, &mut out.correlation_inputs);
            append_shifted_inputs(row_base, p.corr, &mut corr_rows);
            let n = p.offsets.len().saturating_sub(1);
            out.line_offsets
                .extend(p.offsets.iter().take(n).map(|o| o + start as u32));
            out.dead_letters
                .extend(p.dead.into_iter().map(|d| DeadLetter {
                    line: d.line + row_base,
                    reason: d.reason,
                }));
            stats.add(&p.stats);
            row_base += p.lines as u32;
        }
        out.line_offsets.push(chunk.len() as u32);
        out.lines = row_base;
        stats.batches = 1;
        if let Some(t) = ticket.take() {
            let fired = self.corr.process(t, &corr_rows, now_ms);
            if !fired.is_empty() {
                stats.matches += fired.len() as u64;
                out.matches.extend(fired);
                out.matches.sort_unstable();
            }
        }
        out.stats = stats;
        self.stats.add(&stats);
        Ok(out)
    }

    /// Evaluate an Arrow batch (every row is an event).
    pub fn eval_record_batch(&self, batch: &RecordBatch) -> Result<ArrowEvalOutput, EvalError> {
        self.eval_record_batch_ticket(batch, self.ticket(), None)
    }

    /// `eval_record_batch` with the arrival clock given (ms, monotonic).
    pub fn eval_record_batch_at(
        &self,
        batch: &RecordBatch,
        now_ms: i64,
    ) -> Result<ArrowEvalOutput, EvalError> {
        self.eval_record_batch_ticket(batch, self.ticket(), Some(now_ms))
    }

    /// `eval_record_batch` in the correlation order of `ticket`.
    pub fn eval_record_batch_ticket(
        &self,
        batch: &RecordBatch,
        ticket: Ticket,
        now_ms: Option<i64>,
    ) -> Result<ArrowEvalOutput, EvalError> {
        let (active, items) = self.enter();
        let parts = Self::arrow_parts(batch.num_rows(), items);
        let result = self
            .run_items(parts.len(), |i, sc| {
                let (start, end) = parts.get(i).copied().unwrap_or_default();
                if (start, end) == (0, batch.num_rows()) {
                    // One range: no slicing (it allocates per column).
                    return self.eval_arrow_with(batch, sc);
                }
                self.eval_arrow_with(&batch.slice(start, end - start), sc)
            })
            .into_iter()
            .collect::<Result<Vec<_>, _>>();
        // Done with the threads: the correlation step may still wait below.
        drop(active);
        let outs = match result {
            Ok(x) => x,
            Err(e) => {
                self.corr.abandon(ticket);
                return Err(e);
            }
        };
        let mut out = ArrowEvalOutput {
            rows: batch.num_rows() as u32,
            ..Default::default()
        };
        let mut corr_rows: Vec<RowInput> = Vec::new();
        for (&(start, _), (part, corr)) in parts.iter().zip(outs) {
            let base = start as u32;
            append_shifted(base, &part.matches, &mut out.matches);
            append_shifted(base, &part.correlation_inputs, &mut out.correlation_inputs);
            append_shifted_inputs(base, corr, &mut corr_rows);
            out.stats.add(&part.stats);
        }
        out.stats.batches = 1;
        let fired = self.corr.process(ticket, &corr_rows, now_ms);
        if !fired.is_empty() {
            out.stats.matches += fired.len() as u64;
            out.matches.extend(fired);
            out.matches.sort_unstable();
        }
        self.stats.add(&out.stats);
        Ok(out)
    }

    /// Row ranges of an Arrow batch, one work item each: about `items`,
    /// none under `MIN_ITEM_ROWS` rows; at least one.
    fn arrow_parts(rows: usize, items: usize) -> Vec<(usize, usize)> {
        let per = rows.div_ceil(items).max(MIN_ITEM_ROWS);
        let mut parts: Vec<(usize, usize)> = (0..rows)
            .step_by(per)
            .map(|a| (a, (a + per).min(rows)))
            .collect();
        if parts.is_empty() {
            parts.push((0, 0));
        }
        parts
    }

    fn eval_arrow_with(
        &self,
        batch: &RecordBatch,
        sc: &mut Scratch,
    ) -> Result<(ArrowEvalOutput, Vec<RowInput>), EvalError> {
        let t0 = Instant::now();
        let rows = batch.num_rows();
        let fields = &self.plan.plan.fields;
        let mut cols: Vec<BorrowedColumn<'_>> = std::mem::take(&mut sc.arrow_cols)
            .into_iter()
            .map(BorrowedColumn::recycle)
            .collect();
        cols.resize_with(fields.len(), BorrowedColumn::default);
        let mut keywords = std::mem::take(&mut sc.arrow_kw).recycle();
        let resolved = sc.schemas.resolve(batch.schema_ref(), fields, |f| {
            self.plan.carries_keywords(f)
        });
        let mut gather = columns::Gather::default();
        columns::fill_fields(batch, resolved, &mut gather, &mut cols)
            .map_err(|message| EvalError::InvalidBatch { message })?;
        if self.plan.has_keywords {
            columns::fill_keywords(
                batch,
                resolved.keyword_columns(),
                &mut gather,
                &mut keywords,
            );
        }
        sc.valid.reset(rows);
        sc.valid.fill();
        let view = BatchView {
            rows,
            valid: &sc.valid,
            columns: Columns::Borrowed(&cols),
            keywords: self
                .plan
                .has_keywords
                .then_some(ColumnRef::Borrowed(&keywords)),
            keyword_fields: resolved.keyword_fields(),
        };
        let parse_ns = t0.elapsed().as_nanos() as u64;
        let mut times = PhaseTimes::default();
        let res = evaluate(&self.plan, &view, &mut sc.eval, &mut times);
        let corr = self.corr.extract(&view, [&res.matches, &res.hidden]);
        sc.arrow_cols = cols.into_iter().map(BorrowedColumn::recycle).collect();
        sc.arrow_kw = keywords.recycle();
        let stats = BatchStats {
            batches: 1,
            rows: rows as u64,
            events: rows as u64,
            matches: res.matches.len() as u64,
            correlation_inputs: res.hidden.len() as u64,
            dead_letters: 0,
            bytes: batch.get_array_memory_size() as u64,
            parse_ns,
            match_ns: times.match_ns,
            condition_ns: times.condition_ns,
        };
        Ok((
            ArrowEvalOutput {
                rows: rows as u32,
                matches: res.matches,
                correlation_inputs: res.hidden,
                stats,
            },
            corr,
        ))
    }

    /// Correlation counters (cumulative; `groups` is the live count).
    pub fn correlation_stats(&self) -> CorrelationStats {
        self.corr.stats()
    }

    /// The correlation state, versioned JSON (see `correlation` docs).
    pub fn snapshot(&self) -> Vec<u8> {
        self.corr.snapshot()
    }

    /// Replace the correlation state by a snapshot's; state of correlations
    /// no longer in the plan (or changed) is ignored and reported.
    pub fn restore(&self, bytes: &[u8]) -> Result<RestoreReport, RestoreError> {
        self.corr.restore(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::work_items;

    #[test]
    fn work_items_fill_only_idle_threads() {
        assert_eq!(work_items(1, 0), 1);
        assert_eq!(work_items(2, 0), 4);
        assert_eq!(work_items(2, 1), 1);
        assert_eq!(work_items(2, 5), 1);
        assert_eq!(work_items(8, 3), 10);
        assert_eq!(work_items(8, 7), 1);
    }
}
