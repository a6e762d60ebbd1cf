//! sigma-core: the Sigma rule evaluation engine, with no napi dependency.
//!
//! Flow: a [`plan::Plan`] (the JSON contract of `src/plan/types.ts`) is
//! compiled once into an immutable [`eval::CompiledPlan`] wrapped by
//! [`engine::Engine`]. Each batch — an NDJSON byte chunk ([`json`]) or an Arrow
//! `RecordBatch` ([`columns`]) — becomes per-field text columns
//! ([`text::TextColumn`]); per field one combined matcher ([`matchers`]) sets
//! predicate row bitsets ([`bitset`]); rule conditions are resolved with
//! bitwise operations ([`eval`]). [`reference`](mod@reference) is a naive oracle used only by
//! tests. Correlation rules ([`correlation`]) consume the matches of their
//! source rules and keep windowed state inside the engine (snapshot/restore).

mod batch_threads;
pub mod bitset;
pub mod columns;
pub mod correlation;
pub mod engine;
pub mod eval;
pub mod fold;
pub mod hash;
pub mod json;
pub mod matchers;
pub mod plan;
pub mod reference;
pub mod render;
pub mod text;

pub use correlation::{CorrelationStats, RestoreError, RestoreReport, Ticket};
pub use engine::{ArrowEvalOutput, BatchStats, Engine, EngineStats, EvalError, JsonEvalOutput};
pub use eval::Explain;
pub use json::DeadLetter;
pub use matchers::CompileError;
pub use plan::{FieldId, Plan, PlanError, PredicateId, RuleId};
