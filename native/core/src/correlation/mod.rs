//! Sigma correlation rules (spec v2.1), evaluated over the rule matches of
//! each batch, with state kept inside the engine.
//!
//! Data flow: the stateless evaluator produces `(row, rule)` matches;
//! `Correlation::extract` reads, for every row matched by a rule that some
//! correlation consumes, the event time and the group-by/value fields (these
//! fields are added to the plan's field list at compile time, without
//! predicates, so both the JSON and the Arrow path materialise them);
//! `Correlation::process` feeds those rows, in row order and in submission
//! order of batches (see `sequence`), into the windows (`state`, `window`),
//! and returns `(row, rules.len() + correlation)` for each firing of a
//! correlation with `emit: true`.
//!
//! Semantics (documented decisions where the spec is loose):
//! - **Time.** Event time is `options.timestampField` (RFC 3339/ISO 8601 or
//!   epoch seconds/ms, `time`); a matched row without a parsable time is
//!   ignored (`missingTime`). Without a timestamp field, every row of a
//!   batch gets the batch's arrival time (a caller-supplied monotonic clock
//!   in ms, or the wall clock, never decreasing).
//! - **Groups.** The key is the values of the source's group-by fields
//!   (aliases resolved by the compiler); a multi-valued field contributes its
//!   first value; a row missing a group-by field is ignored (`missingGroupBy`),
//!   as SQL/SPL `group by` drop nulls. No group-by = one group.
//! - **Window.** Per group, the closed interval `[maxT − timespan, maxT]`
//!   where `maxT` is the latest event time seen for the group; the condition
//!   is checked when an input arrives. Events exactly `timespan` apart are in
//!   one window. An input older than `maxT − timespan` is late: it is not
//!   windowed but is counted (`inputs`, `late`).
//! - **Aggregates.** event_count: entries; value_count: distinct non-null
//!   values of `valueField`; temporal: distinct sources present; temporal_ordered:
//!   length of the longest prefix of `sources` found in time order (greedy);
//!   value_sum/value_avg: over values parsable as numbers (undefined, never
//!   firing, with none); value_percentile: linear interpolation between
//!   closest ranks. Every bound that is set must hold (`gte: 3, lt: 10`).
//!   Temporal without a condition is `gte: <number of sources>` (compiler).
//! - **Firing.** The row that completed the condition is the match row. After
//!   firing, the group's window is cleared, so one burst fires once; the next
//!   firing needs the condition to hold again from new inputs.
//! - **Chaining.** A correlation's sources are rules or other correlations;
//!   a firing at row r is an input of dependent correlations at row r (their
//!   group-by fields are read from row r). Correlations run in dependency
//!   order; `emit: false` ones feed others without being output.
//! - **Memory.** At most `Limits::max_groups` groups over all correlations
//!   (default 100 000): creating one more evicts the least-recently-updated
//!   group (`evictedGroups`). At most `Limits::max_events_per_group` entries
//!   per window (default 10 000): the oldest are dropped (`droppedEntries`),
//!   so counts saturate there.
//! - **State.** The compiled `Correlator` is immutable; the `State` is the one
//!   mutable part, behind a mutex. `snapshot`/`restore` (module `snapshot`)
//!   carry it across processes.

mod sequence;
mod snapshot;
mod spec;
mod state;
mod time;
mod window;

#[cfg(test)]
mod tests;

pub use sequence::Ticket;
pub use snapshot::{RestoreError, RestoreReport};
pub use spec::{needed_fields, Correlator, Kind};
pub use state::{CorrelationStats, Limits};
pub use time::parse_time_ms;

use crate::text::BatchView;
use sequence::Sequencer;
use state::State;
use std::sync::{Mutex, MutexGuard};

/// What correlations need of one matched row.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RowInput {
    pub row: u32,
    /// Parsed event time (None without a timestamp field or value).
    pub time: Option<i64>,
    /// First value of each slot field (`Correlator::slot_fields`).
    pub values: Vec<Option<String>>,
    /// Matched rules that some correlation consumes, sorted.
    pub rules: Vec<u32>,
}

/// Compiled correlations plus their state.
pub struct Correlation {
    cor: Correlator,
    state: Mutex<State>,
    seq: Sequencer,
    limits: Limits,
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Correlation {
    pub fn new(cor: Correlator, limits: Limits) -> Correlation {
        let n = cor.specs.len();
        Correlation {
            cor,
            state: Mutex::new(State::new(n, limits)),
            seq: Sequencer::default(),
            limits,
        }
    }

    pub fn correlator(&self) -> &Correlator {
        &self.cor
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Without correlation rules there is no state to feed in order, so
    /// `process` returns at once instead of waiting for earlier tickets.
    pub fn never_waits(&self) -> bool {
        self.cor.is_empty()
    }

    /// Reserve the next place in the correlation order.
    pub fn ticket(&self) -> Ticket {
        self.seq.issue()
    }

    /// Settle a ticket whose batch failed before its correlation step.
    pub fn abandon(&self, t: Ticket) {
        self.seq.settle(t);
    }

    /// The rows of a batch's matches that feed correlations.
    pub fn extract(&self, view: &BatchView<'_>, lists: [&[(u32, u32)]; 2]) -> Vec<RowInput> {
        if self.cor.is_empty() {
            return Vec::new();
        }
        let mut hits: Vec<(u32, u32)> = lists
            .iter()
            .flat_map(|l| l.iter())
            .filter(|(_, r)| {
                self.cor
                    .rule_is_source
                    .get(*r as usize)
                    .copied()
                    .unwrap_or(false)
            })
            .copied()
            .collect();
        hits.sort_unstable();
        let mut out: Vec<RowInput> = Vec::new();
        for (row, rule) in hits {
            match out.last_mut() {
                Some(last) if last.row == row => last.rules.push(rule),
                _ => {
                    let first = |f: crate::plan::FieldId| {
                        view.field(f.idx())
                            .and_then(|c| c.row_values(row).next().map(str::to_string))
                    };
                    let values: Vec<Option<String>> =
                        self.cor.slot_fields.iter().map(|&f| first(f)).collect();
                    let time = self
                        .cor
                        .time_slot
                        .and_then(|s| values.get(s).cloned().flatten())
                        .and_then(|v| parse_time_ms(&v));
                    out.push(RowInput {
                        row,
                        time,
                        values,
                        rules: vec![rule],
                    });
                }
            }
        }
        out
    }

    /// Feed one batch's rows, in ticket order; returns emitted firings as
    /// `(row, rules.len() + correlation)`, sorted. `now_ms` is the arrival
    /// clock (wall clock when None).
    pub fn process(
        &self,
        ticket: Ticket,
        rows: &[RowInput],
        now_ms: Option<i64>,
    ) -> Vec<(u32, u32)> {
        if self.never_waits() {
            self.seq.settle(ticket);
            return Vec::new();
        }
        self.seq.wait_turn(&ticket);
        let now = now_ms.unwrap_or_else(wall_ms);
        let fired = self.lock().process(&self.cor, rows, now);
        self.seq.settle(ticket);
        let mut out: Vec<(u32, u32)> = fired
            .into_iter()
            .filter(|&(_, c)| self.cor.specs.get(c as usize).is_some_and(|s| s.emit))
            .map(|(row, c)| (row, self.cor.nrules + c))
            .collect();
        out.sort_unstable();
        out
    }

    pub fn stats(&self) -> CorrelationStats {
        self.lock().stats
    }

    /// Waits on the batch order that timed out (a lost ticket).
    pub fn order_timeouts(&self) -> u64 {
        self.seq.timeouts()
    }

    pub fn snapshot(&self) -> Vec<u8> {
        let st = self.lock();
        snapshot::snapshot(&self.cor, &st)
    }

    /// Replace the state by a snapshot's (counters are kept, `groups` updated).
    pub fn restore(&self, bytes: &[u8]) -> Result<RestoreReport, RestoreError> {
        let (mut fresh, report) = snapshot::restore(&self.cor, bytes, self.limits)?;
        let mut st = self.lock();
        let mut stats = st.stats;
        stats.groups = fresh.stats.groups;
        fresh.stats = stats;
        *st = fresh;
        Ok(report)
    }
}
