//! One group's sliding window and the aggregate of each correlation type.
//!
//! Invariants of `Group`:
//! - `entries` is sorted by time; equal times keep arrival order.
//! - every entry satisfies `max_t - span <= t <= max_t` after `insert`: the
//!   window is the closed interval `[max_t - span, max_t]`, so two events
//!   exactly `timespan` apart are in one window.
//! - `max_t` is the latest event time seen for the group, and survives a
//!   reset (it decides lateness).
//! - `entries.len() <= cap`: on overflow the oldest entries are dropped.

use super::spec::{Kind, Spec};
use serde::{Deserialize, Serialize};

/// One source match in a window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Event time, epoch ms (or arrival ms).
    pub t: i64,
    /// Position of the source in the correlation's `sources`.
    pub src: u32,
    /// The value field's text, when the correlation has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub entries: std::collections::VecDeque<Entry>,
    pub max_t: i64,
    /// Last-update stamp (least-recently-updated eviction).
    pub tick: u64,
}

/// What happened to an inserted entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inserted {
    /// Older than `max_t - span`: not put in the window.
    Late,
    /// In the window; `dropped` old entries fell out over the cap.
    Ok { dropped: usize },
}

impl Group {
    pub fn new(t: i64) -> Group {
        Group {
            entries: Default::default(),
            max_t: t,
            tick: 0,
        }
    }

    pub fn insert(&mut self, e: Entry, span: i64, cap: usize) -> Inserted {
        if e.t < self.max_t.saturating_sub(span) {
            return Inserted::Late;
        }
        self.max_t = self.max_t.max(e.t);
        let at = self.entries.partition_point(|x| x.t <= e.t);
        self.entries.insert(at, e);
        let lo = self.max_t.saturating_sub(span);
        while self.entries.front().is_some_and(|x| x.t < lo) {
            self.entries.pop_front();
        }
        let mut dropped = 0;
        while self.entries.len() > cap.max(1) {
            self.entries.pop_front();
            dropped += 1;
        }
        Inserted::Ok { dropped }
    }

    /// Forget the window after a firing (`max_t` is kept).
    pub fn reset(&mut self) {
        self.entries.clear();
    }

    /// The aggregate the condition is compared with; `None` when it is
    /// undefined (no numeric value for sum/avg/percentile).
    pub fn aggregate(&self, spec: &Spec) -> Option<f64> {
        let values = || self.entries.iter().filter_map(|e| e.v.as_deref());
        let numbers = || {
            values()
                .filter_map(|v| v.trim().parse::<f64>().ok())
                .filter(|x| x.is_finite())
        };
        match spec.kind {
            Kind::EventCount => Some(self.entries.len() as f64),
            Kind::ValueCount => {
                let set: std::collections::HashSet<&str> = values().collect();
                Some(set.len() as f64)
            }
            Kind::Temporal => {
                let mut seen = vec![false; spec.sources.len()];
                for e in &self.entries {
                    if let Some(s) = seen.get_mut(e.src as usize) {
                        *s = true;
                    }
                }
                Some(seen.iter().filter(|&&s| s).count() as f64)
            }
            Kind::TemporalOrdered => {
                // Greedy earliest match of sources[0], sources[1], … in time
                // order: the longest ordered prefix present in the window.
                let mut k = 0u32;
                for e in &self.entries {
                    if e.src == k {
                        k += 1;
                        if k as usize == spec.sources.len() {
                            break;
                        }
                    }
                }
                Some(f64::from(k))
            }
            Kind::ValueSum => {
                let mut n = 0usize;
                let s: f64 = numbers().inspect(|_| n += 1).sum();
                (n > 0).then_some(s)
            }
            Kind::ValueAvg => {
                let mut n = 0usize;
                let s: f64 = numbers().inspect(|_| n += 1).sum();
                (n > 0).then(|| s / n as f64)
            }
            Kind::ValuePercentile => {
                let mut xs: Vec<f64> = numbers().collect();
                if xs.is_empty() {
                    return None;
                }
                xs.sort_by(f64::total_cmp);
                // Linear interpolation between closest ranks (numpy's default).
                let rank = spec.percentile / 100.0 * (xs.len() - 1) as f64;
                let lo = rank.floor() as usize;
                let hi = rank.ceil() as usize;
                let a = xs.get(lo).copied()?;
                let b = xs.get(hi).copied().unwrap_or(a);
                Some(a + (b - a) * (rank - lo as f64))
            }
        }
    }
}
