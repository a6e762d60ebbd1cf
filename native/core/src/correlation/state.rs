//! The mutable correlation state: one map of groups per correlation, a
//! least-recently-updated index over all groups, the arrival clock and the
//! counters. `State::process` consumes the extracted rows of one batch in row
//! order and returns the correlation firings.
//!
//! Invariants:
//! - `lru` holds exactly one `(tick → (correlation, key))` per live group and
//!   `group.tick` is that tick; ticks only grow.
//! - the number of groups never exceeds `limits.max_groups`: creating a group
//!   when full first evicts the least-recently-updated one (counted in
//!   `stats.evicted_groups`).
//! - `clock_ms` (arrival time) never decreases.

use super::spec::{Correlator, SourceRef};
use super::window::{Entry, Group, Inserted};
use super::RowInput;
use crate::hash::FxHashMap;
use serde::Serialize;
use std::collections::BTreeMap;

/// A group key: the group-by values, in group-by order.
pub type Key = Box<[String]>;

/// Memory bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Groups over all correlations.
    pub max_groups: usize,
    /// Window entries per group.
    pub max_events_per_group: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_groups: 100_000,
            max_events_per_group: 10_000,
        }
    }
}

/// Cumulative correlation counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CorrelationStats {
    /// Source matches fed into correlation windows (late ones included).
    pub inputs: u64,
    /// Inputs older than their group's `max time − timespan`: not windowed.
    pub late: u64,
    /// Inputs without a value for a group-by field: ignored.
    pub missing_group_by: u64,
    /// Inputs without a parsable event time (timestampField set): ignored.
    pub missing_time: u64,
    /// Correlation firings (emitted or not).
    pub fired: u64,
    /// Groups evicted by the group cap.
    pub evicted_groups: u64,
    /// Window entries dropped by the per-group cap.
    pub dropped_entries: u64,
    /// Live groups now.
    pub groups: u64,
}

#[derive(Debug, Default)]
pub struct State {
    pub groups: Vec<FxHashMap<Key, Group>>,
    pub lru: BTreeMap<u64, (u32, Key)>,
    pub tick: u64,
    pub clock_ms: i64,
    pub stats: CorrelationStats,
    pub limits: Limits,
}

impl State {
    pub fn new(ncorr: usize, limits: Limits) -> State {
        State {
            groups: (0..ncorr).map(|_| FxHashMap::default()).collect(),
            lru: BTreeMap::new(),
            tick: 0,
            clock_ms: i64::MIN,
            stats: CorrelationStats::default(),
            limits,
        }
    }

    /// Advance the arrival clock (never backwards) and return it.
    pub fn arrival(&mut self, now_ms: i64) -> i64 {
        self.clock_ms = self.clock_ms.max(now_ms);
        self.clock_ms
    }

    fn evict_one(&mut self) {
        if let Some((_, (c, key))) = self.lru.pop_first() {
            if let Some(m) = self.groups.get_mut(c as usize) {
                m.remove(&key);
            }
            self.stats.evicted_groups += 1;
        }
    }

    /// Insert one entry into `(c, key)`, creating the group if needed;
    /// returns the group's aggregate check afterwards.
    fn feed(&mut self, cor: &Correlator, c: usize, key: Key, entry: Entry) -> bool {
        let Some(spec) = cor.specs.get(c) else {
            return false;
        };
        let exists = self.groups.get(c).is_some_and(|m| m.contains_key(&key));
        if !exists {
            while self.lru.len() >= self.limits.max_groups.max(1) {
                self.evict_one();
            }
        }
        self.tick += 1;
        let tick = self.tick;
        let t = entry.t;
        let Some(map) = self.groups.get_mut(c) else {
            return false;
        };
        let group = map.entry(key.clone()).or_insert_with(|| Group::new(t));
        if exists {
            self.lru.remove(&group.tick);
        }
        group.tick = tick;
        self.lru.insert(tick, (c as u32, key));
        match group.insert(entry, spec.span_ms, self.limits.max_events_per_group) {
            Inserted::Late => {
                self.stats.late += 1;
                false
            }
            Inserted::Ok { dropped } => {
                self.stats.dropped_entries += dropped as u64;
                let fire = group
                    .aggregate(spec)
                    .is_some_and(|v| super::spec::bounds_hold(&spec.bounds, v));
                if fire {
                    group.reset();
                }
                fire
            }
        }
    }

    /// Feed one batch's rows (sorted by row) and return `(row, c)` of every
    /// firing, in row order then dependency order.
    pub fn process(&mut self, cor: &Correlator, rows: &[RowInput], now_ms: i64) -> Vec<(u32, u32)> {
        let arrival = self.arrival(now_ms);
        let mut fired_out = Vec::new();
        let mut fired = vec![false; cor.specs.len()];
        for row in rows {
            fired.iter_mut().for_each(|f| *f = false);
            let time = match cor.time_slot {
                None => Some(arrival),
                Some(_) => row.time,
            };
            for &c in &cor.order {
                let Some(spec) = cor.specs.get(c) else {
                    continue;
                };
                let mut fire = false;
                for (pos, src) in spec.sources.iter().enumerate() {
                    let hit = match src.src {
                        SourceRef::Rule(r) => row.rules.binary_search(&r).is_ok(),
                        SourceRef::Corr(k) => fired.get(k as usize).copied().unwrap_or(false),
                    };
                    if !hit {
                        continue;
                    }
                    self.stats.inputs += 1;
                    let Some(t) = time else {
                        self.stats.missing_time += 1;
                        continue;
                    };
                    let key: Option<Vec<String>> = src
                        .group_slots
                        .iter()
                        .map(|&s| row.values.get(s).cloned().flatten())
                        .collect();
                    let Some(key) = key else {
                        self.stats.missing_group_by += 1;
                        continue;
                    };
                    let v = spec
                        .value_slot
                        .and_then(|s| row.values.get(s).cloned().flatten());
                    let entry = Entry {
                        t,
                        src: pos as u32,
                        v,
                    };
                    fire |= self.feed(cor, c, key.into_boxed_slice(), entry);
                }
                if fire {
                    if let Some(f) = fired.get_mut(c) {
                        *f = true;
                    }
                    self.stats.fired += 1;
                    fired_out.push((row.row, c as u32));
                }
            }
        }
        self.stats.groups = self.lru.len() as u64;
        fired_out
    }
}
