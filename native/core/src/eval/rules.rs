//! Per-rule analysis done once at compile time: which cheap predicates a
//! rule needs before its condition is worth evaluating on a row.
//!
//! Three facts are derived from a rule's condition, each a necessary
//! condition for the rule to be true on a row:
//! - `required`: cheap predicates that are top-level conjuncts (all must hit);
//! - `trigger`: cheap predicates of which at least one must hit (a cover of
//!   the condition, chosen to be as rare as the plan lets us guess);
//! - `any_of`: when every predicate is cheap and the all-false assignment is
//!   false, the rule's predicates (some must hit somewhere in the batch).
//!
//! Invariant: if a rule is true on a row, every `required` predicate and at
//! least one `trigger` predicate (when there is a trigger) hit on that row.
//! The evaluator relies on it to visit only rules a batch can match and to
//! restrict expensive predicates to those rules' rows.

use crate::plan::{Expr, Predicate, PredicateOp};

pub(super) struct CompiledRule {
    pub required: Vec<u32>,
    /// None: no cover exists (e.g. a negation at the top), the rule is a
    /// candidate in every batch. Some(empty): the rule can never be true.
    pub trigger: Option<Vec<u32>>,
    pub any_of: Option<Vec<u32>>,
    pub expr: Expr,
    pub emit: bool,
}

fn collect_preds(e: &Expr, out: &mut Vec<u32>) {
    match e {
        Expr::Pred(p) => out.push(*p),
        Expr::And(v) | Expr::Or(v) => v.iter().for_each(|c| collect_preds(c, out)),
        Expr::Not(c) => collect_preds(c, out),
        Expr::Const(_) => {}
    }
}

/// The predicates `e` uses, sorted, each once.
pub(super) fn sorted_preds(e: &Expr) -> Vec<u32> {
    let mut ps = Vec::new();
    collect_preds(e, &mut ps);
    ps.sort_unstable();
    ps.dedup();
    ps
}

fn collect_required(e: &Expr, cheap: &[bool], out: &mut Vec<u32>) {
    match e {
        Expr::Pred(p) if cheap.get(*p as usize).copied().unwrap_or(false) => out.push(*p),
        Expr::And(v) => v.iter().for_each(|c| collect_required(c, cheap, out)),
        _ => {}
    }
}

/// The condition's value when every predicate is false.
fn all_false_value(e: &Expr) -> bool {
    match e {
        Expr::Pred(_) => false,
        Expr::Const(b) => *b,
        Expr::Not(c) => !all_false_value(c),
        Expr::And(v) => v.iter().all(all_false_value),
        Expr::Or(v) => v.iter().any(all_false_value),
    }
}

/// The guessed cost of triggering on each predicate: how often it is
/// likely to hit. Predicates shared by many rules are logsource routing
/// (channel, event id) and hit on most rows of their log; presence tests
/// hit on nearly every row.
pub(super) fn trigger_costs(predicates: &[Predicate], pred_rules: &[Vec<u32>]) -> Vec<u64> {
    let dense = pred_rules.len() as u64 + 1;
    predicates
        .iter()
        .zip(pred_rules)
        .map(|(p, users)| match p.op {
            PredicateOp::Exists | PredicateOp::Null => dense * dense,
            _ => users.len() as u64 + 1,
        })
        .collect()
}

/// The cheapest cover of `e`: cheap predicates at least one of which hits
/// wherever `e` is true, with its cost; None when there is none.
fn trigger(e: &Expr, cheap: &[bool], cost: &[u64]) -> Option<(u64, Vec<u32>)> {
    match e {
        Expr::Pred(p) => {
            let i = *p as usize;
            cheap
                .get(i)
                .copied()
                .unwrap_or(false)
                .then(|| (cost.get(i).copied().unwrap_or(u64::MAX), vec![*p]))
        }
        Expr::Const(false) => Some((0, Vec::new())),
        Expr::Const(true) | Expr::Not(_) => None,
        Expr::Or(v) => v.iter().try_fold((0u64, Vec::new()), |(c, mut ps), x| {
            let (xc, xp) = trigger(x, cheap, cost)?;
            ps.extend(xp);
            Some((c.saturating_add(xc), ps))
        }),
        Expr::And(v) => v
            .iter()
            .filter_map(|x| trigger(x, cheap, cost))
            .min_by_key(|(c, _)| *c),
    }
}

/// A gate for a set of conditions: the cheap predicates covering those
/// conditions that have a cover (on a row where none of them hits, each of
/// those conditions is false), and the positions in `exprs` of the
/// conditions without one.
///
/// The keyword column is gated so (`CompiledPlan::keyword_gate`): keyword
/// rules are routed by logsource (channel, provider), and their keywords
/// need scanning only on rows of their logs; an unrouted rule's keywords
/// are scanned on every row.
pub(super) fn gate<'a>(
    exprs: impl IntoIterator<Item = &'a Expr>,
    cheap: &[bool],
    cost: &[u64],
) -> (Vec<u32>, Vec<usize>) {
    let mut preds = Vec::new();
    let mut uncovered = Vec::new();
    for (i, e) in exprs.into_iter().enumerate() {
        match trigger(e, cheap, cost) {
            Some((_, cover)) => preds.extend(cover),
            None => uncovered.push(i),
        }
    }
    preds.sort_unstable();
    preds.dedup();
    (preds, uncovered)
}

impl CompiledRule {
    /// `preds`: `sorted_preds(expr)`.
    pub(super) fn new(
        expr: &Expr,
        preds: Vec<u32>,
        emit: bool,
        cheap: &[bool],
        cost: &[u64],
    ) -> CompiledRule {
        let mut required = Vec::new();
        collect_required(expr, cheap, &mut required);
        required.sort_unstable();
        required.dedup();
        let all_cheap = preds
            .iter()
            .all(|&p| cheap.get(p as usize).copied().unwrap_or(false));
        let any_of = (all_cheap && !all_false_value(expr)).then_some(preds);
        let trigger = trigger(expr, cheap, cost).map(|(_, mut ps)| {
            ps.sort_unstable();
            ps.dedup();
            ps
        });
        CompiledRule {
            required,
            trigger,
            any_of,
            expr: expr.clone(),
            emit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(i: u32) -> Expr {
        Expr::Pred(i)
    }

    #[test]
    fn trigger_picks_the_rarest_conjunct_and_covers_every_branch() {
        let cheap = [true; 6];
        // pred 0 is common (routing), 1..=3 rare.
        let cost = [1000, 2, 3, 4, 5, 6];
        let e = Expr::And(vec![p(0), Expr::Or(vec![p(1), p(2)]), p(3)]);
        let r = CompiledRule::new(&e, sorted_preds(&e), true, &cheap, &cost);
        assert_eq!(r.trigger, Some(vec![3]));
        assert_eq!(r.required, vec![0, 3]);
        let e = Expr::Or(vec![
            Expr::And(vec![p(0), p(1)]),
            Expr::And(vec![p(0), p(2)]),
        ]);
        let r = CompiledRule::new(&e, sorted_preds(&e), true, &cheap, &cost);
        assert_eq!(r.trigger, Some(vec![1, 2]));
        assert!(r.required.is_empty());
    }

    #[test]
    fn gate_covers_the_routed_conditions_and_lists_the_others() {
        // Preds 0 and 1 route two logs; 2 and 3 are keywords, not gates.
        let cheap = [true, true, false, false];
        let cost = [1, 1, 1, 1];
        let routed = [
            Expr::And(vec![p(0), p(2)]),
            Expr::And(vec![Expr::Or(vec![p(0), p(1)]), Expr::Not(Box::new(p(3)))]),
        ];
        assert_eq!(gate(&routed, &cheap, &cost), (vec![0, 1], vec![]));
        let mixed = [p(3), Expr::And(vec![p(1), p(2)]), Expr::Not(Box::new(p(0)))];
        assert_eq!(gate(&mixed, &cheap, &cost), (vec![1], vec![0, 2]));
        assert_eq!(gate(&[], &cheap, &cost), (vec![], vec![]));
    }

    #[test]
    fn negation_and_expensive_predicates_are_not_covers() {
        let cheap = [true, false, true];
        let cost = [1, 1, 1];
        let e = Expr::Not(Box::new(p(0)));
        assert_eq!(
            CompiledRule::new(&e, sorted_preds(&e), true, &cheap, &cost).trigger,
            None
        );
        let e = Expr::Or(vec![p(0), p(1)]);
        assert_eq!(
            CompiledRule::new(&e, sorted_preds(&e), true, &cheap, &cost).trigger,
            None
        );
        let e = Expr::And(vec![p(1), Expr::Not(Box::new(p(2))), p(0)]);
        assert_eq!(
            CompiledRule::new(&e, sorted_preds(&e), true, &cheap, &cost).trigger,
            Some(vec![0])
        );
        let e = Expr::And(vec![p(0), Expr::Const(false)]);
        assert_eq!(
            CompiledRule::new(&e, sorted_preds(&e), true, &cheap, &cost).trigger,
            Some(vec![])
        );
    }
}
