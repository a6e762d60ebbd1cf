//! `eval_small` against `eval_expr`: random condition trees over random
//! hits, for every batch size a `SmallRows` holds.

use super::test_rng::Rng;
use super::*;

const PREDS: u32 = 12;

fn expr(rng: &mut Rng, depth: usize) -> Expr {
    let leaf = depth == 0 || rng.below(3) == 0;
    match rng.below(if leaf { 3 } else { 6 }) {
        0 | 1 => Expr::Pred(rng.below(PREDS as usize) as u32),
        2 => Expr::Const(rng.below(2) == 0),
        3 => Expr::Not(Box::new(expr(rng, depth - 1))),
        k => {
            let children = (0..rng.below(5)).map(|_| expr(rng, depth - 1)).collect();
            if k == 4 {
                Expr::And(children)
            } else {
                Expr::Or(children)
            }
        }
    }
}

#[test]
fn small_batches_evaluate_as_bitsets_do() {
    let mut rng = Rng(0x5EED_C0DE);
    let mut pool = Vec::new();
    let mut out = Bitset::default();
    for round in 0..3000 {
        let rows = 1 + rng.below(SmallRows::CAPACITY);
        let mut valid = Bitset::new(rows);
        let mut hits = HitSets::default();
        hits.reset(PREDS as usize, rows);
        for row in 0..rows {
            if rng.below(8) != 0 {
                valid.set(row);
            }
            for p in 0..PREDS {
                if valid.get(row) && rng.below(3) == 0 {
                    hits.set(p, row);
                }
            }
        }
        let e = expr(&mut rng, 4);
        eval_expr(&e, &mut out, &hits, &valid, &mut pool, rows);
        let small: Vec<usize> = eval_small(&e, &hits, SmallRows::of(&valid))
            .iter_ones()
            .collect();
        let full: Vec<usize> = out.iter_ones().collect();
        assert_eq!(small, full, "round {round}, {rows} rows: {e:?}");
    }
}
