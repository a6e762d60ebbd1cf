//! Compiled correlation specs: the immutable part of correlation evaluation,
//! built once from the plan. Resolves field names to slots (the values the
//! engine extracts per matched row), kinds, bounds and sources, and computes
//! the dependency order (a correlation is evaluated after every correlation
//! it consumes).
//!
//! Invariants: every `slot` indexes `Correlator::slot_fields`; every
//! `Source::Corr(k)` has `k < specs.len()` and appears before its consumer in
//! `order`; a correlation whose kind is unknown or that sits on a dependency
//! cycle is left out of `order` (reported as an error, never evaluated).

use crate::plan::{ConditionBound, FieldId, Plan};

/// The seven Sigma correlation types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    EventCount,
    ValueCount,
    Temporal,
    TemporalOrdered,
    ValueSum,
    ValueAvg,
    ValuePercentile,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "event_count" => Kind::EventCount,
            "value_count" => Kind::ValueCount,
            "temporal" => Kind::Temporal,
            "temporal_ordered" => Kind::TemporalOrdered,
            "value_sum" => Kind::ValueSum,
            "value_avg" => Kind::ValueAvg,
            "value_percentile" => Kind::ValuePercentile,
            _ => return None,
        })
    }
}

/// Every bound that is set must hold (Sigma allows e.g. `gte: 3, lt: 10`).
pub fn bounds_hold(b: &ConditionBound, v: f64) -> bool {
    b.gt.is_none_or(|x| v > x)
        && b.gte.is_none_or(|x| v >= x)
        && b.lt.is_none_or(|x| v < x)
        && b.lte.is_none_or(|x| v <= x)
        && b.eq.is_none_or(|x| v == x)
        && b.neq.is_none_or(|x| v != x)
}

/// What one source of a correlation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceRef {
    Rule(u32),
    Corr(u32),
}

#[derive(Clone, Debug)]
pub struct Source {
    pub src: SourceRef,
    /// The stable id of the source (rule or correlation id), for snapshots.
    pub id: String,
    /// Slots of the group-by fields, in group-by order.
    pub group_slots: Vec<usize>,
}

#[derive(Clone, Debug)]
pub struct Spec {
    pub id: String,
    pub kind: Kind,
    pub kind_name: String,
    pub sources: Vec<Source>,
    pub span_ms: i64,
    pub bounds: ConditionBound,
    pub value_slot: Option<usize>,
    /// 0..=100 (value_percentile only).
    pub percentile: f64,
    pub emit: bool,
}

/// All correlations of a plan, compiled.
#[derive(Clone, Debug, Default)]
pub struct Correlator {
    pub specs: Vec<Spec>,
    /// Evaluation order (dependencies first).
    pub order: Vec<usize>,
    /// The fields read per matched row; `slot` indexes this.
    pub slot_fields: Vec<FieldId>,
    /// Slot of the event-time field, when `options.timestampField` is set.
    pub time_slot: Option<usize>,
    /// Per rule: a correlation consumes its matches.
    pub rule_is_source: Vec<bool>,
    pub nrules: u32,
}

/// The field names correlations read: group-by fields, value fields and the
/// timestamp field (only when there are correlations).
pub fn needed_fields(plan: &Plan) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if plan.correlations.is_empty() {
        return out;
    }
    let mut add = |f: &str| {
        if !out.iter().any(|x| x == f) {
            out.push(f.to_string());
        }
    };
    for c in &plan.correlations {
        c.group_by.iter().flatten().for_each(|f| add(f));
        if let Some(v) = &c.value_field {
            add(v);
        }
    }
    if let Some(t) = &plan.options.timestamp_field {
        add(t);
    }
    out
}

impl Correlator {
    /// Compile; `plan.fields` must already contain `needed_fields(plan)`.
    /// Returns the errors of correlations that will never be evaluated.
    pub fn new(plan: &Plan) -> (Correlator, Vec<String>) {
        let mut errors = Vec::new();
        let mut slot_fields: Vec<FieldId> = Vec::new();
        let mut slot_of = |name: &str| -> Option<usize> {
            let fid = FieldId(plan.fields.iter().position(|f| f == name)? as u32);
            Some(match slot_fields.iter().position(|&f| f == fid) {
                Some(i) => i,
                None => {
                    slot_fields.push(fid);
                    slot_fields.len() - 1
                }
            })
        };
        let nrules = plan.rules.len();
        let time_slot = if plan.correlations.is_empty() {
            None
        } else {
            plan.options
                .timestamp_field
                .as_deref()
                .and_then(&mut slot_of)
        };
        let mut specs = Vec::with_capacity(plan.correlations.len());
        let mut ok = vec![true; plan.correlations.len()];
        let mut rule_is_source = vec![false; nrules];
        for (ci, c) in plan.correlations.iter().enumerate() {
            let kind = Kind::parse(&c.kind);
            if kind.is_none() {
                errors.push(format!("correlation {}: unknown type {:?}", c.id, c.kind));
                if let Some(o) = ok.get_mut(ci) {
                    *o = false;
                }
            }
            let mut sources = Vec::with_capacity(c.sources.len());
            for (si, &s) in c.sources.iter().enumerate() {
                let (src, id) = if (s as usize) < nrules {
                    if let Some(r) = rule_is_source.get_mut(s as usize) {
                        *r = true;
                    }
                    let id = plan.rules.get(s as usize).map(|r| r.id.clone());
                    (SourceRef::Rule(s), id.unwrap_or_default())
                } else {
                    let k = s - nrules as u32;
                    let id = plan.correlations.get(k as usize).map(|r| r.id.clone());
                    (SourceRef::Corr(k), id.unwrap_or_default())
                };
                let names = c.group_by.get(si).map(Vec::as_slice).unwrap_or(&[]);
                let group_slots = names.iter().filter_map(|n| slot_of(n)).collect();
                sources.push(Source {
                    src,
                    id,
                    group_slots,
                });
            }
            let span = if c.timespan_ms.is_finite() && c.timespan_ms >= 0.0 {
                c.timespan_ms.min(1e15) as i64
            } else {
                0
            };
            specs.push(Spec {
                id: c.id.clone(),
                kind: kind.unwrap_or(Kind::EventCount),
                kind_name: c.kind.clone(),
                sources,
                span_ms: span,
                bounds: c.condition.clone(),
                value_slot: c.value_field.as_deref().and_then(&mut slot_of),
                percentile: c.percentile.unwrap_or(50.0).clamp(0.0, 100.0),
                emit: c.emit,
            });
        }
        let order = topo_order(&specs, &mut ok, &mut errors);
        (
            Correlator {
                specs,
                order,
                slot_fields,
                time_slot,
                rule_is_source,
                nrules: nrules as u32,
            },
            errors,
        )
    }

    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }
}

/// Depth-first topological order; correlations on a cycle, depending on a
/// failed one, or failed themselves are left out.
fn topo_order(specs: &[Spec], ok: &mut [bool], errors: &mut Vec<String>) -> Vec<usize> {
    // 0 unvisited, 1 visiting, 2 done-ok, 3 done-failed
    let mut state = vec![0u8; specs.len()];
    let mut order = Vec::with_capacity(specs.len());
    fn visit(
        i: usize,
        specs: &[Spec],
        ok: &[bool],
        state: &mut [u8],
        order: &mut Vec<usize>,
        errors: &mut Vec<String>,
    ) -> bool {
        match state.get(i).copied() {
            Some(2) => return true,
            Some(3) | None => return false,
            Some(1) => {
                if let Some(s) = specs.get(i) {
                    errors.push(format!("correlation {}: dependency cycle", s.id));
                }
                return false;
            }
            _ => {}
        }
        if let Some(s) = state.get_mut(i) {
            *s = 1;
        }
        let mut good = ok.get(i).copied().unwrap_or(false);
        if let Some(spec) = specs.get(i) {
            for src in &spec.sources {
                if let SourceRef::Corr(k) = src.src {
                    good &= visit(k as usize, specs, ok, state, order, errors);
                }
            }
        }
        if let Some(s) = state.get_mut(i) {
            *s = if good { 2 } else { 3 };
        }
        if good {
            order.push(i);
        }
        good
    }
    for i in 0..specs.len() {
        visit(i, specs, ok, &mut state, &mut order, errors);
    }
    for (i, o) in ok.iter_mut().enumerate() {
        *o = state.get(i) == Some(&2);
    }
    order
}
