//! The napi door to sigma-core: `#[napi]` entry points, Arrow C Data import and
//! export, and error mapping. Nothing here evaluates rules; every function
//! is one call per batch (never per event), and no panic crosses into JS:
//! entry points that run engine code catch unwinds and return them as errors.

mod c_data;
mod json_arrow;
mod match_batch;
mod validate;

/// The addon's own allocator. Batches allocate on one thread (imports, work
/// items) and free on another, where glibc malloc took a tenth of a small
/// batch's time; Bun's mimalloc is not exported, so this is a separate
/// instance.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use napi::bindgen_prelude::{Buffer, ClassInstance, Uint32Array, Uint8Array};
use napi::{Env, JsObject, Result};
use napi_derive::napi;
use sigma_core::json::lines::join_lines;
use sigma_core::json::{FieldIndex, JsonBatch, JsonLimits, JsonParser};
use sigma_core::plan::PredField;
use sigma_core::render::{LineSource, MatchRenderer};
use sigma_core::{Engine, JsonEvalOutput, Ticket};

fn engine_error(message: impl Into<String>) -> napi::Error {
    napi::Error::new(napi::Status::GenericFailure, message.into())
}

/// A batch the engine refused (`EvalError`): the caller's input, not a bug.
fn invalid_input(error: impl std::fmt::Display) -> napi::Error {
    napi::Error::new(napi::Status::InvalidArg, error.to_string())
}

/// A batch's input once checked, with its correlation ticket; a refused input
/// gives the ticket up, so that later batches do not wait for it.
fn accepted<T>(
    engine: &Engine,
    ticket: Ticket,
    input: std::result::Result<T, impl std::fmt::Display>,
) -> Result<(T, Ticket)> {
    match input {
        Ok(value) => Ok((value, ticket)),
        Err(reason) => {
            engine.abandon(ticket);
            Err(invalid_input(reason))
        }
    }
}

/// Runs `compute` as a batch job on the engine's threads (`Engine::spawn`)
/// and returns a promise that `settle` settles on the JS thread. `held` is
/// what the job borrows from JS (a chunk's Buffer, a batch description's
/// reference): the job only reads it, and `settle` receives it back to
/// release it on the JS thread, as napi requires.
fn spawn_batch<H, T, R>(
    env: &Env,
    engine: &Engine,
    what: &'static str,
    held: H,
    compute: impl FnOnce(&H) -> Result<T> + Send + 'static,
    settle: impl FnOnce(Env, H, Result<T>) -> Result<R> + Send + 'static,
) -> Result<JsObject>
where
    H: Send + 'static,
    T: Send + 'static,
    R: napi::bindgen_prelude::ToNapiValue + 'static,
{
    let (deferred, promise) = env.create_deferred()?;
    engine.spawn(move || {
        let result = guarded(what, || compute(&held)).and_then(|r| r);
        deferred.resolve(move |env| settle(env, held, result));
    });
    Ok(promise)
}

/// Runs engine code, turning a panic (a bug, never an input error) into an error value.
fn guarded<T>(what: &str, run: impl FnOnce() -> T) -> Result<T> {
    catch_unwind(AssertUnwindSafe(run)).map_err(|panic| {
        let detail = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        engine_error(format!("internal error in {what}: {detail}"))
    })
}

#[napi]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Lines in an NDJSON chunk; a final line without a newline counts.
#[napi]
pub fn count_lines(chunk: Uint8Array) -> u32 {
    let bytes: &[u8] = &chunk;
    let newlines = memchr_count(bytes);
    let tail = usize::from(bytes.last().is_some_and(|&b| b != b'\n'));
    (newlines + tail) as u32
}

fn memchr_count(bytes: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', bytes).count()
}

#[napi(object)]
pub struct CompileErrorJs {
    pub predicate: u32,
    pub message: String,
}

#[napi(object)]
pub struct JsonOutputJs {
    pub lines: u32,
    pub events: u32,
    pub line_offsets: Uint32Array,
    pub match_rows: Uint32Array,
    pub match_rules: Uint32Array,
    pub dead_rows: Uint32Array,
    pub dead_reasons: Vec<String>,
    /// The match records as NDJSON, when the call asked for them (`render`).
    pub rendered: Option<Buffer>,
    /// The chunk that was evaluated, when the call built it (`evalJsonSpans`).
    pub joined: Option<Buffer>,
}

/// Asks evalJson to render match records: the chunk's file, its first line
/// number (1-based) and the batch's detection time.
#[napi(object)]
pub struct RenderOptionsJs {
    pub file: String,
    pub first_line: f64,
    pub detected: String,
}

#[napi(object)]
pub struct MatchOutputJs {
    pub match_rows: Uint32Array,
    pub match_rules: Uint32Array,
    /// The match batch, IPC-encoded, when evalArrow was given a builder.
    pub match_batch: Option<EncodedBatchJs>,
}

/// The evaluation of a chunk, with its match records when they were asked for.
pub struct RenderedOutput {
    output: JsonEvalOutput,
    rendered: Option<Vec<u8>>,
}

fn render_matches(
    renderer: &MatchRenderer,
    chunk: &[u8],
    output: &JsonEvalOutput,
    options: &Option<RenderOptionsJs>,
) -> Option<Vec<u8>> {
    options.as_ref().map(|o| {
        let source = LineSource {
            file: &o.file,
            first_line: o.first_line.max(0.0) as u64,
            detected: &o.detected,
        };
        renderer.render(chunk, &output.line_offsets, &output.matches, &source)
    })
}

/// Evaluates an NDJSON chunk in the correlation place `ticket`, with its
/// match records when the call asked for them.
fn evaluate_chunk(
    engine: &Engine,
    renderer: &MatchRenderer,
    chunk: &[u8],
    ticket: Ticket,
    render: &Option<RenderOptionsJs>,
) -> Result<RenderedOutput> {
    let output = engine
        .eval_json_ticket(chunk, ticket, None)
        .map_err(invalid_input)?;
    let rendered = render_matches(renderer, chunk, &output, render);
    Ok(RenderedOutput { output, rendered })
}

/// (row, rule) pairs as the two columns JS reads.
fn unzip_matches(matches: Vec<(u32, u32)>) -> (Vec<u32>, Vec<u32>) {
    matches.into_iter().unzip()
}

fn match_output(
    (match_rows, match_rules): (Vec<u32>, Vec<u32>),
    match_batch: Option<match_batch::EncodedBatch>,
) -> MatchOutputJs {
    MatchOutputJs {
        match_rows: Uint32Array::new(match_rows),
        match_rules: Uint32Array::new(match_rules),
        match_batch: match_batch.map(EncodedBatchJs::from),
    }
}

fn json_output(RenderedOutput { output, rendered }: RenderedOutput) -> JsonOutputJs {
    let (match_rows, match_rules): (Vec<u32>, Vec<u32>) = output.matches.into_iter().unzip();
    let (dead_rows, dead_reasons): (Vec<u32>, Vec<String>) = output
        .dead_letters
        .into_iter()
        .map(|d| (d.line, d.reason))
        .unzip();
    JsonOutputJs {
        lines: output.lines,
        events: output.stats.events as u32,
        line_offsets: Uint32Array::new(output.line_offsets),
        match_rows: Uint32Array::new(match_rows),
        match_rules: Uint32Array::new(match_rules),
        dead_rows: Uint32Array::new(dead_rows),
        dead_reasons,
        rendered: rendered.map(Buffer::from),
        joined: None,
    }
}

/// A compiled rule plan. Immutable; hot reload builds a new one.
#[napi]
pub struct NativeEngine {
    engine: Arc<Engine>,
    renderer: Arc<MatchRenderer>,
    errors: Vec<CompileErrorJs>,
}

#[napi]
impl NativeEngine {
    /// Compiles a serialized plan (src/plan/types.ts). A malformed plan is an
    /// error; predicates the engine cannot build are reported by compileErrors.
    #[napi(constructor)]
    pub fn new(plan_json: String) -> Result<Self> {
        let (engine, errors) =
            guarded("compile", || Engine::compile(&plan_json))?.map_err(|e| {
                napi::Error::new(napi::Status::InvalidArg, format!("invalid rule plan: {e}"))
            })?;
        let errors = errors
            .into_iter()
            .map(|e| CompileErrorJs {
                predicate: e.predicate,
                message: e.message,
            })
            .collect();
        Ok(NativeEngine {
            renderer: Arc::new(MatchRenderer::new(engine.plan())),
            engine: Arc::new(engine),
            errors,
        })
    }

    #[napi]
    pub fn compile_errors(&self) -> Vec<CompileErrorJs> {
        self.errors
            .iter()
            .map(|e| CompileErrorJs {
                predicate: e.predicate,
                message: e.message.clone(),
            })
            .collect()
    }

    /// Evaluates one NDJSON chunk on the engine's threads; the promise
    /// settles on the JS thread, so JS I/O overlaps evaluation and several
    /// chunks may be in the engine at once (they share its threads). The
    /// chunk is read in place: `Buffer` keeps the JS memory alive and is
    /// dropped in the resolver, on the JS thread; the caller must not write
    /// to the chunk before the promise settles. The correlation ticket is
    /// taken here, on the JS thread, so correlation state sees chunks in
    /// call order.
    #[napi(ts_return_type = "Promise<JsonOutputJs>")]
    pub fn eval_json(
        &self,
        env: Env,
        chunk: Buffer,
        render: Option<RenderOptionsJs>,
    ) -> Result<JsObject> {
        let engine = Arc::clone(&self.engine);
        let renderer = Arc::clone(&self.renderer);
        let ticket = engine.ticket();
        spawn_batch(
            &env,
            &self.engine,
            "evalJson",
            chunk,
            move |chunk| evaluate_chunk(&engine, &renderer, chunk, ticket, &render),
            |_env, chunk, result| {
                drop(chunk);
                result.map(json_output)
            },
        )
    }

    /// Evaluates messages held as spans of `source` (line `r` is
    /// `source[spans[2r]..spans[2r + 1]]`: a Kafka fetch's values or a JSON
    /// column's documents, read in place) as `eval_json` evaluates a chunk. The job joins them into that
    /// chunk on the engine's threads (sigma_core::json::lines), so the JS
    /// thread never copies a value, and returns it as `joined`: the rows'
    /// text for the caller. Bad spans are an InvalidArg error.
    #[napi(ts_return_type = "Promise<JsonOutputJs>")]
    pub fn eval_json_spans(
        &self,
        env: Env,
        source: Buffer,
        spans: Uint32Array,
        render: Option<RenderOptionsJs>,
    ) -> Result<JsObject> {
        let spans = spans.to_vec();
        let engine = Arc::clone(&self.engine);
        let renderer = Arc::clone(&self.renderer);
        let ticket = engine.ticket();
        spawn_batch(
            &env,
            &self.engine,
            "evalJsonSpans",
            source,
            move |source| {
                let (chunk, ticket) = accepted(&engine, ticket, join_lines(source, &spans))?;
                let output = evaluate_chunk(&engine, &renderer, &chunk, ticket, &render)?;
                Ok((output, chunk))
            },
            |_env, source, result| {
                drop(source);
                result.map(|(output, chunk)| JsonOutputJs {
                    joined: Some(Buffer::from(chunk)),
                    ..json_output(output)
                })
            },
        )
    }

    #[napi]
    pub fn eval_json_sync(&self, chunk: Uint8Array) -> Result<JsonOutputJs> {
        let bytes: &[u8] = &chunk;
        let output =
            guarded("evalJsonSync", || self.engine.eval_json(bytes))?.map_err(invalid_input)?;
        Ok(json_output(RenderedOutput {
            output,
            rendered: None,
        }))
    }

    /// The oracle: parses the chunk with the engine's parser and evaluates it
    /// with the naive rule-by-rule evaluator (sigma_core::reference), for
    /// tests that check the optimized plan against it. Correlations are not
    /// evaluated here; the matches are those of the detection rules.
    #[napi]
    pub fn eval_json_reference(&self, chunk: Uint8Array) -> Result<MatchOutputJs> {
        let bytes: &[u8] = &chunk;
        let plan = self.engine.plan();
        let matches = guarded("evalJsonReference", || {
            let index = FieldIndex::new(&plan.fields);
            let keywords = plan
                .predicates
                .iter()
                .any(|p| matches!(p.field, PredField::Keyword));
            let limits = JsonLimits {
                max_event_bytes: plan.options.max_event_bytes,
                max_depth: plan.options.max_depth,
                keywords,
            };
            let mut batch = JsonBatch::default();
            JsonParser::default().parse_chunk(&index, limits, bytes, &mut batch);
            sigma_core::reference::evaluate(plan, &batch.view()).matches
        })?;
        Ok(match_output(unzip_matches(matches), None))
    }

    /// Evaluates a RecordBatch packed by src/batch/c-data.ts (`packArrays`),
    /// imported through the C Data Interface without copying its buffers, on
    /// the engine's threads (as `eval_json`), which also validate it first.
    /// The imported batch points into the JS buffers of the packed batch,
    /// which stays referenced until the resolver (on the JS thread), after
    /// the batch was dropped (c_data.rs invariants). `schema` is the stream's,
    /// built from a description of the same Arrow schema. With `matches`,
    /// the job also builds the batch's match batch (a DoExchange reply), so
    /// the JS thread only frames it.
    #[napi(ts_return_type = "Promise<MatchOutputJs>")]
    pub fn eval_arrow(
        &self,
        env: Env,
        batch: JsObject,
        schema: ClassInstance<BatchSchema>,
        matches: Option<ClassInstance<MatchBatchBuilder>>,
    ) -> Result<JsObject> {
        let unchecked = c_data::import_batch_unchecked(&batch, Arc::clone(&schema.shared))?;
        let description = env.create_reference(batch)?;
        let table = matches.map(|builder| Arc::clone(&builder.table));
        let engine = Arc::clone(&self.engine);
        let ticket = engine.ticket();
        spawn_batch(
            &env,
            &self.engine,
            "evalArrow",
            description,
            // Takes the batch, so it is dropped when the job returns, before
            // its description is released.
            move |_| {
                let (record_batch, ticket) = accepted(&engine, ticket, unchecked.validated())?;
                let output = engine
                    .eval_record_batch_ticket(&record_batch, ticket, None)
                    .map_err(invalid_input)?;
                let (rows, rules) = unzip_matches(output.matches);
                let encoded = table
                    .map(|table| {
                        match_batch::from_record_batch(&table, &record_batch, &rows, &rules)
                            .and_then(|built| match_batch::encode(&built))
                    })
                    .transpose()
                    .map_err(invalid_input)?;
                Ok(((rows, rules), encoded))
            },
            |env, mut description, result| {
                description.unref(env)?;
                result.map(|(matches, encoded)| match_output(matches, encoded))
            },
        )
    }

    /// Engine counters plus `correlation` (CorrelationStats).
    #[napi]
    pub fn stats(&self) -> Result<String> {
        let mut stats =
            serde_json::to_value(self.engine.stats()).map_err(|e| engine_error(e.to_string()))?;
        let corr = serde_json::to_value(self.engine.correlation_stats())
            .map_err(|e| engine_error(e.to_string()))?;
        if let Some(map) = stats.as_object_mut() {
            map.insert("correlation".into(), corr);
        }
        serde_json::to_string(&stats).map_err(|e| engine_error(e.to_string()))
    }

    /// The correlation state as versioned JSON bytes.
    #[napi]
    pub fn snapshot(&self) -> Result<Buffer> {
        Ok(guarded("snapshot", || self.engine.snapshot())?.into())
    }

    /// Replaces the correlation state by a snapshot's; returns the JSON
    /// RestoreReport (groups kept, ids of correlations ignored).
    #[napi]
    pub fn restore(&self, snapshot: Buffer) -> Result<String> {
        let bytes: &[u8] = &snapshot;
        let report = guarded("restore", || self.engine.restore(bytes))?.map_err(invalid_input)?;
        serde_json::to_string(&report).map_err(|e| engine_error(e.to_string()))
    }

    #[napi]
    pub fn explain(&self) -> Result<String> {
        serde_json::to_string(&self.engine.explain()).map_err(|e| engine_error(e.to_string()))
    }
}

/// Imports a packed batch of `schema` and exports it straight back: the C Data round trip.
#[napi]
pub fn round_trip_arrow(
    env: Env,
    batch: JsObject,
    schema: ClassInstance<BatchSchema>,
) -> Result<JsObject> {
    let record_batch = c_data::import_batch(&batch, Arc::clone(&schema.shared))?;
    c_data::export_batch(&env, &record_batch)
}

/// Parses NDJSON into the Arrow columns of `fields` (the JSON path's own
/// columns) and exports them through the C Data Interface.
#[napi]
pub fn json_to_arrow(env: Env, chunk: Uint8Array, fields: Vec<String>) -> Result<JsObject> {
    let bytes: &[u8] = &chunk;
    let batch = guarded("jsonToArrow", || {
        json_arrow::to_record_batch(bytes, &fields)
    })?
    .map_err(invalid_input)?;
    c_data::export_batch(&env, &batch)
}

/// A match batch as one IPC RecordBatch message (match_batch.rs `encode`).
#[napi(object)]
pub struct EncodedBatchJs {
    pub header: Buffer,
    pub body: Buffer,
}

impl From<match_batch::EncodedBatch> for EncodedBatchJs {
    fn from(encoded: match_batch::EncodedBatch) -> Self {
        EncodedBatchJs {
            header: encoded.header.into(),
            body: encoded.body.into(),
        }
    }
}

/// The C schema of a stream's record batches, built once from the first
/// batch's description and handed to evalArrow with every batch of the
/// stream (c_data::SharedSchema). The TS side keeps one per Arrow schema.
#[napi]
pub struct BatchSchema {
    shared: Arc<c_data::SharedSchema>,
}

#[napi]
impl BatchSchema {
    #[napi(constructor)]
    pub fn new(description: JsObject) -> Result<Self> {
        Ok(BatchSchema {
            shared: Arc::new(c_data::SharedSchema::build(&description)?),
        })
    }
}

/// Builds match batches (match_batch.rs) against one rule table; the TS side
/// keeps one per rule list, so rule columns never cross per match.
#[napi]
pub struct MatchBatchBuilder {
    table: Arc<match_batch::RuleTable>,
}

#[napi]
impl MatchBatchBuilder {
    /// `rules_json`: `[{id, title, level, tags}, ...]`, indexed like match rule ids.
    #[napi(constructor)]
    pub fn new(rules_json: String) -> Result<Self> {
        let table = match_batch::RuleTable::from_json(&rules_json).map_err(invalid_input)?;
        Ok(MatchBatchBuilder {
            table: Arc::new(table),
        })
    }

    /// The match batch of a packed input batch of `schema`: its columns at `match_rows`.
    #[napi]
    pub fn from_arrow(
        &self,
        input: JsObject,
        schema: ClassInstance<BatchSchema>,
        match_rows: Uint32Array,
        match_rules: Uint32Array,
    ) -> Result<EncodedBatchJs> {
        // The imported batch borrows the packed batch's buffers; it is dropped
        // inside this call, before they can go (c_data.rs invariants).
        let batch = c_data::import_batch(&input, Arc::clone(&schema.shared))?;
        let encoded = guarded("matchBatch", || {
            match_batch::from_record_batch(&self.table, &batch, &match_rows, &match_rules)
                .and_then(|built| match_batch::encode(&built))
        })?
        .map_err(invalid_input)?;
        drop(batch);
        Ok(encoded.into())
    }

    /// The match batch of an NDJSON chunk: the JSON line of each matched row.
    #[napi]
    pub fn from_json(
        &self,
        chunk: Uint8Array,
        line_offsets: Uint32Array,
        match_rows: Uint32Array,
        match_rules: Uint32Array,
    ) -> Result<EncodedBatchJs> {
        let encoded = guarded("matchBatch", || {
            match_batch::from_json_lines(
                &self.table,
                &chunk,
                &line_offsets,
                &match_rows,
                &match_rules,
            )
            .and_then(|built| match_batch::encode(&built))
        })?
        .map_err(invalid_input)?;
        Ok(encoded.into())
    }
}
