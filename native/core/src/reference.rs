//! THE ORACLE — a deliberately naive evaluator, for tests only. It walks
//! every valid row and every rule, evaluates the condition recursively and
//! tests each predicate directly on the row's values (plain string
//! functions, a dynamic-programming glob matcher, no automata, no bitsets, no
//! required-predicate skipping). The optimized evaluator in eval.rs must give
//! exactly the same `(row, rule)` pairs on the same `BatchView`. Do not use
//! it in production paths.

use crate::eval::EvalResult;
use crate::fold::fold;
use crate::matchers::literal::string_mode_match;
use crate::matchers::{cidr, fieldref_match, glob, numeric, regex, timepart};
use crate::plan::{Expr, FieldId, GlobPart, Plan, PredField, PredicateOp};
use crate::text::BatchView;

enum Prepared {
    Op,
    Regex(regex::Pattern),
    Cidr(cidr::Network),
    Broken,
}

/// Naive evaluation: emitted matches and emit:false matches, both sorted.
pub fn evaluate(plan: &Plan, view: &BatchView<'_>) -> EvalResult {
    let prepared: Vec<Prepared> = plan
        .predicates
        .iter()
        .map(|p| match &p.op {
            PredicateOp::Regex { pattern, flags } => {
                regex::compile(pattern, *flags).map_or(Prepared::Broken, Prepared::Regex)
            }
            PredicateOp::Cidr { network } => {
                cidr::Network::parse(network).map_or(Prepared::Broken, Prepared::Cidr)
            }
            _ => Prepared::Op,
        })
        .collect();
    let mut out = EvalResult::default();
    for row in 0..view.rows {
        if !view.valid.get(row) {
            continue;
        }
        for (ri, r) in plan.rules.iter().enumerate() {
            if eval(&r.condition, plan, &prepared, view, row as u32) {
                if r.emit {
                    out.matches.push((row as u32, ri as u32));
                } else {
                    out.hidden.push((row as u32, ri as u32));
                }
            }
        }
    }
    out
}

fn eval(e: &Expr, plan: &Plan, prep: &[Prepared], view: &BatchView<'_>, row: u32) -> bool {
    match e {
        Expr::Pred(p) => test(*p as usize, plan, prep, view, row),
        Expr::And(v) => v.iter().all(|c| eval(c, plan, prep, view, row)),
        Expr::Or(v) => v.iter().any(|c| eval(c, plan, prep, view, row)),
        Expr::Not(c) => !eval(c, plan, prep, view, row),
        Expr::Const(b) => *b,
    }
}

fn test(p: usize, plan: &Plan, prep: &[Prepared], view: &BatchView<'_>, row: u32) -> bool {
    let (Some(pred), Some(pr)) = (plan.predicates.get(p), prep.get(p)) else {
        return false;
    };
    if matches!(pr, Prepared::Broken) {
        return false;
    }
    let col = view.column(pred.field);
    let present = col.is_some_and(|c| c.present().get(row as usize));
    let values: Vec<&str> = match pred.field {
        PredField::Keyword => view.keyword_values(row).collect(),
        PredField::Field(_) => col.map(|c| c.row_values(row).collect()).unwrap_or_default(),
    };
    match (&pred.op, pr) {
        (PredicateOp::Exists, _) => present,
        (PredicateOp::Null, _) => !present,
        (PredicateOp::String { mode, value, cased }, _) => values.iter().any(|v| {
            if *cased {
                string_mode_match(*mode, v, value)
            } else {
                string_mode_match(*mode, &fold(v), &fold(value))
            }
        }),
        (PredicateOp::Glob { parts, cased }, _) => values.iter().any(|v| {
            if *cased {
                glob::naive_match(parts, v)
            } else {
                let fp: Vec<GlobPart> = parts
                    .iter()
                    .map(|p| match p {
                        GlobPart::Lit(l) => GlobPart::Lit(fold(l)),
                        o => o.clone(),
                    })
                    .collect();
                glob::naive_match(&fp, &fold(v))
            }
        }),
        (PredicateOp::Regex { .. }, Prepared::Regex(r)) => values
            .iter()
            .any(|v| r.is_match(v, &mut regex::RegexCaches::default())),
        (PredicateOp::Compare { cmp, value }, _) => values
            .iter()
            .any(|v| numeric::parse_number(v).is_some_and(|x| numeric::compare(x, *cmp, *value))),
        (PredicateOp::Cidr { .. }, Prepared::Cidr(n)) => values
            .iter()
            .any(|v| cidr::parse_ip(v).is_some_and(|ip| n.contains(&ip))),
        (PredicateOp::Fieldref { other, mode, cased }, _) => {
            let o = view.column(PredField::Field(FieldId(*other as u32)));
            let ovals: Vec<&str> = o.map(|c| c.row_values(row).collect()).unwrap_or_default();
            values
                .iter()
                .any(|a| ovals.iter().any(|b| fieldref_match(*mode, *cased, a, b)))
        }
        (PredicateOp::Timepart { part, value }, _) => {
            values.iter().any(|v| timepart::matches(v, *part, *value))
        }
        _ => false,
    }
}
