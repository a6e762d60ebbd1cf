//! The optimized evaluator. `CompiledPlan` (immutable, `Send + Sync`) is
//! built once from a `Plan`; `EvalScratch` is per thread. `evaluate` runs:
//! (a) every field's combined cheap matcher once per DISTINCT value of its
//!     column (`matchers::dedup`), scattering the value's predicate hits to
//!     every row holding it (exists/null from column presence); a field
//!     whose column carries keyword values (`carries_keywords`: the strings
//!     of a JSON event at the field's path, or an Arrow string column read
//!     whole) scans them with the keyword matcher in the same pass; the
//!     keyword column (the other keyword values) last, and when keyword
//!     rules are routed (`keyword_gate`), with all keyword patterns only on
//!     the rows of their routes;
//! (b) candidate rules: only those triggered by a predicate that hit in
//!     the batch (plus the few without a trigger, `rules.rs`); a candidate
//!     with a required predicate that has no hit, or whose cheap predicates
//!     all missed when that makes it false, is dropped; otherwise its live
//!     rows = valid ∧ all required hits ∧ some trigger hit;
//! (c) expensive predicates (regex, ungated glob, fieldref, timepart) only on
//!     rows live for at least one rule using them, memoised per distinct
//!     value;
//! (d) live rules' conditions with bitwise ops (`not` within valid rows).
//! Correctness of (c): a rule's result is false outside its live rows, and
//! inside them every expensive predicate it uses was evaluated. Output pairs
//! are sorted by (row, rule); rules with `emit: false` go to a separate list.

use crate::bitset::{Bitset, HitSets, SmallRows};
use crate::json::FieldIndex;
use crate::matchers::dedup::{hash_value, ValueCache};
use crate::matchers::literal::LiteralScannerBuilder;
use crate::matchers::{
    expensive_value_match, fieldref_match, CombinedScanners, CompileError, Expensive,
    ExpensiveKind, FieldMatcher, FieldMatcherBuilder, FieldMatcherStats, ValueScratch,
};
use crate::plan::{Expr, Plan, PredField};
use crate::text::{BatchView, ColumnRef};
use rules::{sorted_preds, CompiledRule};
use serde::Serialize;
use std::sync::{Arc, OnceLock};

mod rules;

/// Values at least this long are scanned with their field's combined
/// field + keyword scanner, so their keyword hits come from the same
/// pass; shorter values are scanned separately.
const COMBINED_MIN_LEN: usize = 128;

/// How the keyword column is scanned when some keyword rules are routed.
///
/// Invariant: on a valid row where no `gate` predicate hits, every rule
/// using keywords is false except those whose keyword predicates `open`
/// holds, so `open` alone scans such rows.
struct KeywordGate {
    /// Cheap non-keyword predicates of which one hits on every row where a
    /// routed rule using keywords can be true.
    gate: Vec<u32>,
    /// The cheap keyword predicates of the rules without a route. None:
    /// there are none, and rows outside the gate are not scanned.
    open: Option<FieldMatcher>,
    /// How many rules using keywords have no route.
    open_rules: usize,
}

/// The immutable, shareable compiled form of a plan.
pub struct CompiledPlan {
    pub plan: Plan,
    pub index: FieldIndex,
    /// Cheap matchers, one per field that has cheap predicates.
    fields: Vec<(PredField, FieldMatcher)>,
    expensive: Vec<Expensive>,
    /// For each expensive entry, the rules that use its predicate.
    expensive_rules: Vec<Vec<u32>>,
    /// For each expensive entry, its field's index in `fields` (whose
    /// distinct-value ids memoise the predicate per distinct value).
    expensive_slot: Vec<Option<usize>>,
    /// Per entry of `fields`: some expensive predicate reads the field.
    field_ids_needed: Vec<bool>,
    rules: Vec<CompiledRule>,
    /// Per predicate: the rules it triggers (see `rules::CompiledRule`).
    trigger_rules: Vec<Vec<u32>>,
    /// Rules without a trigger: candidates in every batch.
    untriggered: Vec<u32>,
    /// Index in `fields` of the keyword matcher.
    kw_slot: Option<usize>,
    /// Set when some rule using keywords is routed (`rules::gate`): the
    /// keyword column is scanned with every keyword pattern only on its
    /// gate's rows. None: on every row.
    keyword_gate: Option<KeywordGate>,
    /// Per field, its scanners extended with the keyword patterns.
    combined: Arc<CombinedSet>,
    pub has_keywords: bool,
    pred_rules: Vec<Vec<u32>>,
}

impl CompiledPlan {
    /// Compile; predicates that fail are reported and never match.
    pub fn new(plan: Plan) -> (CompiledPlan, Vec<CompileError>) {
        let npreds = plan.predicates.len();
        let rule_preds: Vec<Vec<u32>> = plan
            .rules
            .iter()
            .map(|r| sorted_preds(&r.condition))
            .collect();
        let mut pred_rules: Vec<Vec<u32>> = vec![Vec::new(); npreds];
        for (ri, ps) in rule_preds.iter().enumerate() {
            for &p in ps {
                if let Some(v) = pred_rules.get_mut(p as usize) {
                    v.push(ri as u32);
                }
            }
        }
        let mut errors = Vec::new();
        let mut builders: Vec<(PredField, FieldMatcherBuilder)> = Vec::new();
        let mut builder_of = crate::hash::FxHashMap::<PredField, usize>::default();
        let mut expensive = Vec::new();
        let mut cheap = vec![false; npreds];
        let mut has_keywords = false;
        for (i, p) in plan.predicates.iter().enumerate() {
            if p.field == PredField::Keyword {
                has_keywords = true;
            }
            let bi = *builder_of.entry(p.field).or_insert_with(|| {
                builders.push((p.field, FieldMatcherBuilder::default()));
                builders.len() - 1
            });
            let Some((_, b)) = builders.get_mut(bi) else {
                continue;
            };
            match b.add(i as u32, p) {
                Ok(None) => {
                    if let Some(c) = cheap.get_mut(i) {
                        *c = true;
                    }
                }
                Ok(Some(e)) => expensive.push(e),
                Err(message) => errors.push(CompileError {
                    predicate: i as u32,
                    rules: pred_rules.get(i).cloned().unwrap_or_default(),
                    message,
                }),
            }
        }
        let mut fields = Vec::new();
        let mut ac_src = Vec::new();
        for (f, b) in builders {
            ac_src.push(b.ac_sources());
            fields.push((f, b.finish()));
        }
        let cost = rules::trigger_costs(&plan.predicates, &pred_rules);
        let is_keyword = |p: u32| {
            plan.predicates
                .get(p as usize)
                .is_some_and(|x| x.field == PredField::Keyword)
        };
        let keyword_rules: Vec<(&Expr, &[u32])> = plan
            .rules
            .iter()
            .zip(&rule_preds)
            .filter(|(_, ps)| ps.iter().any(|&p| is_keyword(p)))
            .map(|(r, ps)| (&r.condition, ps.as_slice()))
            .collect();
        let cheap_not_keyword: Vec<bool> = (0..npreds as u32)
            .map(|p| cheap.get(p as usize).copied().unwrap_or(false) && !is_keyword(p))
            .collect();
        let (covers, uncovered) = rules::gate(
            keyword_rules.iter().map(|&(e, _)| e),
            &cheap_not_keyword,
            &cost,
        );
        // Without a route for any keyword rule, the keywords ride along in
        // the fields' combined scanners instead.
        let unrouted = !keyword_rules.is_empty() && uncovered.len() == keyword_rules.len();
        let mut keyword_gate = (!unrouted).then(|| {
            let mut open_preds: Vec<u32> = uncovered
                .iter()
                .filter_map(|&i| keyword_rules.get(i))
                .flat_map(|&(_, ps)| ps.iter().copied())
                .filter(|&p| is_keyword(p) && cheap.get(p as usize).copied().unwrap_or(false))
                .collect();
            open_preds.sort_unstable();
            open_preds.dedup();
            let mut open = FieldMatcherBuilder::default();
            for &p in &open_preds {
                if let Some(pred) = plan.predicates.get(p as usize) {
                    // Added once already without error: a cheap predicate.
                    let _ = open.add(p, pred);
                }
            }
            let open = open.finish();
            KeywordGate {
                gate: covers,
                open: open.has_value_tests().then_some(open),
                open_rules: uncovered.len(),
            }
        });
        // Each regex of the plan gets its own slot in every thread's caches.
        let mut slot = 0;
        let mut next_slot = || {
            slot += 1;
            slot - 1
        };
        let open = keyword_gate.as_mut().and_then(|g| g.open.as_mut());
        for m in fields.iter_mut().map(|(_, m)| m).chain(open) {
            for g in &mut m.gated_globs {
                g.regex.set_slot(next_slot());
            }
        }
        for e in &mut expensive {
            match &mut e.kind {
                ExpensiveKind::Regex(r) => r.set_slot(next_slot()),
                ExpensiveKind::Glob(g) => g.regex.set_slot(next_slot()),
                ExpensiveKind::FieldRef { .. } | ExpensiveKind::TimePart { .. } => {}
            }
        }
        let rules: Vec<CompiledRule> = plan
            .rules
            .iter()
            .zip(rule_preds)
            .map(|(r, preds)| CompiledRule::new(&r.condition, preds, r.emit, &cheap, &cost))
            .collect();
        let mut trigger_rules: Vec<Vec<u32>> = vec![Vec::new(); npreds];
        let mut untriggered = Vec::new();
        for (ri, r) in rules.iter().enumerate() {
            match &r.trigger {
                None => untriggered.push(ri as u32),
                Some(ps) => {
                    for &p in ps {
                        if let Some(v) = trigger_rules.get_mut(p as usize) {
                            v.push(ri as u32);
                        }
                    }
                }
            }
        }
        let expensive_rules = expensive
            .iter()
            .map(|e: &Expensive| pred_rules.get(e.pred as usize).cloned().unwrap_or_default())
            .collect();
        let expensive_slot: Vec<Option<usize>> = expensive
            .iter()
            .map(|e: &Expensive| fields.iter().position(|(f, _)| *f == e.field))
            .collect();
        let mut field_ids_needed = vec![false; fields.len()];
        for i in expensive_slot.iter().flatten() {
            if let Some(x) = field_ids_needed.get_mut(*i) {
                *x = true;
            }
        }
        let kw_slot = fields.iter().position(|(f, _)| *f == PredField::Keyword);
        let keywords = kw_slot
            .filter(|&k| fields.get(k).is_some_and(|(_, m)| m.has_value_tests()))
            .and_then(|k| ac_src.get(k))
            .cloned();
        let sources = fields
            .iter()
            .zip(ac_src)
            .enumerate()
            .map(|(i, ((_, m), src))| {
                (keywords.is_some() && Some(i) != kw_slot && m.has_value_tests()).then_some(src)
            })
            .collect();
        // Per plan field: its column's keyword values may stand in the
        // keyword column (`text::BatchView::keyword_fields`), since (a) scans
        // each of them with the keyword matcher too. Such a field has a
        // matcher with value tests, and no keyword predicate reads the
        // keyword column alone: none is expensive ((c)) or tests presence.
        let expensive_keywords = expensive.iter().any(|e| e.field == PredField::Keyword);
        let keyword_presence = kw_slot
            .and_then(|k| fields.get(k))
            .is_some_and(|(_, m)| !m.exists.is_empty() || !m.null.is_empty());
        let mut keyword_carriers = vec![false; plan.fields.len()];
        if keywords.is_some() && !expensive_keywords && !keyword_presence {
            for (f, m) in &fields {
                if let (PredField::Field(id), true) = (f, m.has_value_tests()) {
                    if let Some(c) = keyword_carriers.get_mut(id.idx()) {
                        *c = true;
                    }
                }
            }
        }
        let index = FieldIndex::new(&plan.fields).with_keyword_carriers(keyword_carriers);
        let combined = Arc::new(CombinedSet::new(sources, keywords.unwrap_or_default()));
        (
            CompiledPlan {
                plan,
                index,
                fields,
                expensive,
                expensive_rules,
                expensive_slot,
                field_ids_needed,
                rules,
                trigger_rules,
                untriggered,
                kw_slot,
                keyword_gate,
                combined,
                has_keywords,
                pred_rules,
            },
            errors,
        )
    }

    /// Whether plan field `field` may carry keyword values: it has a
    /// matcher with value tests, and no keyword predicate is expensive or
    /// tests presence (those read the keyword column alone). Then (a) scans
    /// its keyword values with the keyword matcher too, so the keyword
    /// column need not hold them (`text::BatchView::keyword_fields`).
    pub fn carries_keywords(&self, field: usize) -> bool {
        self.index.carries_keywords(field)
    }

    pub fn num_rules(&self) -> usize {
        self.rules.len()
    }

    /// The job that builds every field's combined scanners (`CombinedSet`);
    /// the engine runs it on its pool right after compiling.
    pub fn combined_builder(&self) -> impl FnOnce() + Send + 'static {
        let set = Arc::clone(&self.combined);
        move || set.build_all()
    }
}

/// Each field's scanners extended with the keyword patterns, so that one
/// pass over a long value yields its field and keyword hits. Built off the
/// evaluation path (`build_all`, on the engine's pool after compiling):
/// compiling them inline cost 0.5 s for the unrouted SigmaHQ tree, and
/// building each on its field's first long value put tens of milliseconds
/// into the first batches (max batch latency 47-70 ms vs 17-20 ms). Until a
/// field's scanners exist, its values are scanned separately for keywords;
/// results are the same either way. The slots are the only state that
/// changes after compilation.
pub struct CombinedSet {
    /// Per entry of `CompiledPlan::fields`: its scanner inputs, when the
    /// field's values are scanned for keywords too.
    sources: Vec<Option<(LiteralScannerBuilder, LiteralScannerBuilder)>>,
    keywords: (LiteralScannerBuilder, LiteralScannerBuilder),
    built: Vec<OnceLock<CombinedScanners>>,
}

impl CombinedSet {
    fn new(
        sources: Vec<Option<(LiteralScannerBuilder, LiteralScannerBuilder)>>,
        keywords: (LiteralScannerBuilder, LiteralScannerBuilder),
    ) -> Self {
        let built = sources.iter().map(|_| OnceLock::new()).collect();
        CombinedSet {
            sources,
            keywords,
            built,
        }
    }

    /// Field `fi`'s combined scanners, if built yet.
    fn get(&self, fi: usize) -> Option<&CombinedScanners> {
        self.built.get(fi)?.get()
    }

    pub fn build_all(&self) {
        for (slot, src) in self.built.iter().zip(&self.sources) {
            if let Some(src) = src {
                slot.get_or_init(|| CombinedScanners::build(src, &self.keywords));
            }
        }
    }
}

/// Per-thread evaluation buffers.
#[derive(Default)]
pub struct EvalScratch {
    hits: HitSets,
    vs: ValueScratch,
    /// Per rule: None = skipped (dead), Some(live rows).
    live: Vec<Option<Bitset>>,
    /// Rows worth a look: in (a) the keyword gate's rows, in (c) the rows
    /// live for some rule of the expensive predicate at hand.
    cand: Bitset,
    tmp: Bitset,
    pool: Vec<Bitset>,
    fold_a: String,
    /// Distinct values of the field being scanned.
    cache: ValueCache,
    /// Batch-wide keyword hits per distinct text: filled by field scans
    /// with combined scanners and by the keyword column's scan.
    kwc: ValueCache,
    /// The keyword texts of rows outside a `KeywordGate`, scanned by its
    /// `open` matcher only.
    kwo: ValueCache,
    /// Per entry of `CompiledPlan::fields` needing them: the distinct-value
    /// id of each value of the column (`NO_ID` for values of rows not scanned),
    /// and the number of ids.
    ids: Vec<(Vec<u32>, usize)>,
    /// Per distinct value: 0 = not evaluated, 1 = no match, 2 = match.
    memo: Vec<u8>,
    /// This batch's candidate rules, ascending; after (b) only the live ones.
    cands: Vec<u32>,
    /// Per rule: the `epoch` of the batch that last made it a candidate.
    rule_seen: Vec<u32>,
    epoch: u32,
}

const NO_ID: u32 = u32::MAX;

/// Xor-ed into the value-cache hash of a carrying column's values that are
/// not keyword values, so that they never share an entry with an equal
/// keyword value.
const NOT_KEYWORD: u64 = 0x6b77_5f6e_6f74_5f6b;

/// Matches of one batch: `(row, rule)` sorted by row then rule.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct EvalResult {
    pub matches: Vec<(u32, u32)>,
    /// Matches of rules with `emit: false` (correlation inputs).
    pub hidden: Vec<(u32, u32)>,
}

/// Nanoseconds spent per phase.
#[derive(Debug, Default, Clone, Copy)]
pub struct PhaseTimes {
    pub match_ns: u64,
    pub condition_ns: u64,
}

fn eval_expr(
    e: &Expr,
    out: &mut Bitset,
    hits: &HitSets,
    valid: &Bitset,
    pool: &mut Vec<Bitset>,
    rows: usize,
) {
    match e {
        Expr::Pred(p) => match hits.get(*p) {
            Some(b) => out.copy_from(b),
            None => out.reset(rows),
        },
        Expr::Const(true) => out.copy_from(valid),
        Expr::Const(false) => out.reset(rows),
        Expr::Not(c) => {
            eval_expr(c, out, hits, valid, pool, rows);
            out.not_within(valid);
        }
        Expr::And(v) => {
            let mut it = v.iter();
            match it.next() {
                None => out.copy_from(valid),
                Some(first) => {
                    eval_expr(first, out, hits, valid, pool, rows);
                    let mut tmp = pool.pop().unwrap_or_default();
                    for c in it {
                        if !out.any() {
                            break;
                        }
                        if let Expr::Pred(p) = c {
                            match hits.get(*p) {
                                Some(b) => out.and_with(b),
                                None => out.reset(rows),
                            }
                            continue;
                        }
                        eval_expr(c, &mut tmp, hits, valid, pool, rows);
                        out.and_with(&tmp);
                    }
                    pool.push(tmp);
                }
            }
        }
        Expr::Or(v) => {
            out.reset(rows);
            let mut tmp = pool.pop().unwrap_or_default();
            for c in v {
                if let Expr::Pred(p) = c {
                    if let Some(b) = hits.get(*p) {
                        out.or_with(b);
                    }
                    continue;
                }
                eval_expr(c, &mut tmp, hits, valid, pool, rows);
                out.or_with(&tmp);
            }
            pool.push(tmp);
        }
    }
}

/// `eval_expr` for a batch of at most `SmallRows::CAPACITY` rows: the same
/// result, combined by value (no pool, no copies into `Bitset`s).
/// Predicates of an `and`/`or` list are read in place and an `and` starts
/// from its first operand: a recursive call per predicate, starting from
/// the valid rows, made (b) + (d) of a 100-event batch 58–63 µs instead of
/// 48–50.
fn eval_small(e: &Expr, hits: &HitSets, valid: SmallRows) -> SmallRows {
    let pred = |p: u32| hits.get(p).map_or(SmallRows::EMPTY, SmallRows::of);
    match e {
        Expr::Pred(p) => pred(*p),
        Expr::Const(true) => valid,
        Expr::Const(false) => SmallRows::EMPTY,
        Expr::Not(c) => valid.and_not(eval_small(c, hits, valid)),
        Expr::And(v) => {
            let mut out = valid;
            for (i, c) in v.iter().enumerate() {
                if i > 0 && !out.any() {
                    break;
                }
                let x = match c {
                    Expr::Pred(p) => pred(*p),
                    c => eval_small(c, hits, valid),
                };
                out = if i == 0 { x } else { out.and(x) };
            }
            out
        }
        Expr::Or(v) => v.iter().fold(SmallRows::EMPTY, |out, c| match c {
            Expr::Pred(p) => out.or(pred(*p)),
            c => out.or(eval_small(c, hits, valid)),
        }),
    }
}

/// The keyword column of a plan with a `KeywordGate`: every keyword
/// pattern (`all`) on the rows where a gate predicate hit, `gate.open` on
/// the other valid rows. Each kind of row has its own cache of distinct
/// texts (`kwc`, `kwo`), since a text's hits differ between the two; ids
/// of the open rows' texts are numbered after the gated ones. Returns the
/// number of ids.
fn scan_gated_keywords(
    gate: &KeywordGate,
    all: &FieldMatcher,
    col: ColumnRef<'_>,
    rows: usize,
    valid: &Bitset,
    s: &mut EvalScratch,
    ids: &mut Vec<u32>,
) -> usize {
    /// Marks an id of `kwo` until the gated ids are counted.
    const OPEN: u32 = 1 << 31;
    let EvalScratch {
        hits,
        vs,
        cand,
        kwc,
        kwo,
        ..
    } = s;
    cand.reset(rows);
    for &p in &gate.gate {
        if let Some(b) = hits.get(p) {
            cand.or_with(b);
        }
    }
    cand.and_with(valid);
    let n = col.num_values();
    kwc.reset(n);
    kwo.reset(n);
    for i in 0..n {
        let Some((row, v)) = col.value(i) else {
            ids.push(NO_ID);
            continue;
        };
        let r = row as usize;
        let (m, cache, mark) = match (cand.get(r), valid.get(r), &gate.open) {
            (true, _, _) => (all, &mut *kwc, 0),
            (false, true, Some(open)) => (open, &mut *kwo, OPEN),
            _ => {
                ids.push(NO_ID);
                continue;
            }
        };
        let id = cache.get_or_scan(
            hash_value(v),
            v,
            i as u32,
            |j| col.value(j as usize).map(|x| x.1),
            |out| m.scan_value(v, vs, out),
        );
        for &p in cache.preds(id) {
            hits.set(p, r);
        }
        ids.push(id | mark);
    }
    let gated = kwc.len() as u32;
    if !kwo.is_empty() {
        for id in ids
            .iter_mut()
            .filter(|id| **id != NO_ID && **id & OPEN != 0)
        {
            *id = gated + (*id & !OPEN);
        }
    }
    gated as usize + kwo.len()
}

/// Evaluate the plan over one batch.
pub fn evaluate(
    cp: &CompiledPlan,
    view: &BatchView<'_>,
    s: &mut EvalScratch,
    times: &mut PhaseTimes,
) -> EvalResult {
    let t0 = std::time::Instant::now();
    let rows = view.rows;
    let valid = view.valid;
    s.hits.reset(cp.plan.predicates.len(), rows);

    // (a) cheap matchers, once per distinct value of each column; hits are
    // scattered to every row holding the value. The keyword column goes
    // last: its distinct texts live in the batch-wide `kwc`, which long
    // field values already entered (with their keyword hits) through their
    // field's combined scanner, so such texts are scanned once.
    s.ids.resize_with(cp.fields.len(), Default::default);
    let kw = cp
        .kw_slot
        .and_then(|k| cp.fields.get(k))
        .map(|(_, m)| m)
        .filter(|m| m.has_value_tests());
    let kw_col = view.keywords;
    // A gated keyword column is scanned last, on its gate's rows only, so
    // long field values do not take the keyword patterns along.
    let combine = kw.is_some() && kw_col.is_some() && cp.keyword_gate.is_none();
    let mut kw_texts: Vec<&str> = Vec::new();
    s.kwc.reset(kw_col.map_or(0, |c| c.num_values()));
    let order = (0..cp.fields.len())
        .filter(|&i| Some(i) != cp.kw_slot)
        .chain(cp.kw_slot);
    for fi in order {
        let Some((field, m)) = cp.fields.get(fi) else {
            continue;
        };
        let is_kw = Some(fi) == cp.kw_slot;
        let col = view.column(*field);
        let want_ids = cp.field_ids_needed.get(fi).copied().unwrap_or(false);
        let tests = m.has_value_tests();
        // A field carrying keyword values (`BatchView::keyword_fields`)
        // scans each of them with the keyword matcher too, into the same
        // cache entry, so the keyword column does not hold them.
        let carried = match (field, kw) {
            (PredField::Field(id), Some(_)) => view.carries_keywords(id.idx()),
            _ => false,
        };
        if let (Some(col), true) = (col, (tests || want_ids) && valid.any()) {
            let mut ids = s
                .ids
                .get_mut(fi)
                .map(|x| std::mem::take(&mut x.0))
                .unwrap_or_default();
            ids.clear();
            // Every other field is scanned by now, so the gate's hits are known.
            let distinct = if let (true, Some(gate)) = (is_kw, &cp.keyword_gate) {
                scan_gated_keywords(gate, m, col, rows, valid, s, &mut ids)
            } else {
                let n = col.num_values();
                if !is_kw {
                    s.cache.reset(n);
                }
                // Only fields with tests have combined scanners, never the keyword slot.
                let comb = if combine || carried {
                    cp.combined.get(fi)
                } else {
                    None
                };
                for i in 0..n {
                    let Some((row, v)) = col.value(i) else {
                        ids.push(NO_ID);
                        continue;
                    };
                    if !valid.get(row as usize) {
                        ids.push(NO_ID);
                        continue;
                    }
                    let h = hash_value(v);
                    if is_kw {
                        let before = s.kwc.len();
                        let id = s.kwc.get_or_scan(
                            h,
                            v,
                            kw_texts.len() as u32,
                            |j| kw_texts.get(j as usize).copied(),
                            |out| {
                                if tests {
                                    m.scan_value(v, &mut s.vs, out);
                                }
                            },
                        );
                        if s.kwc.len() > before {
                            kw_texts.push(v);
                        }
                        ids.push(id);
                        for &p in s.kwc.preds(id) {
                            s.hits.set(p, row as usize);
                        }
                        continue;
                    }
                    // In a carrying column only keyword values take the keyword
                    // patterns; the others (a JSON number, say) are cached apart,
                    // since their text may equal a keyword value's.
                    let keyword = carried && col.is_keyword(i);
                    let key = if carried && !keyword {
                        h ^ NOT_KEYWORD
                    } else {
                        h
                    };
                    let (vs, kwc) = (&mut s.vs, &mut s.kwc);
                    let id = s.cache.get_or_scan(
                        key,
                        v,
                        i as u32,
                        |j| col.value(j as usize).map(|x| x.1),
                        |out| match kw {
                            Some(kwm) if keyword => {
                                m.scan_value_and_keywords(kwm, comb, v, vs, out);
                            }
                            _ if !tests => {}
                            // A long value's keyword hits come from its field's
                            // combined scanner, into the batch-wide `kwc`.
                            Some(kwm) if combine && v.len() >= COMBINED_MIN_LEN => {
                                match (comb, kwc.find(h, v, |j| kw_texts.get(j as usize).copied()))
                                {
                                    (Some(comb), Err(kslot)) => {
                                        let kstart = kwc.mark();
                                        m.scan_value_kw(kwm, comb, v, vs, out, kwc.preds_mut());
                                        kwc.commit(kslot, h, kw_texts.len() as u32, kstart);
                                        kw_texts.push(v);
                                    }
                                    _ => m.scan_value(v, vs, out),
                                }
                            }
                            _ => m.scan_value(v, vs, out),
                        },
                    );
                    ids.push(id);
                    for &p in s.cache.preds(id) {
                        s.hits.set(p, row as usize);
                    }
                }
                if is_kw {
                    s.kwc.len()
                } else {
                    s.cache.len()
                }
            };
            if let Some(x) = s.ids.get_mut(fi) {
                *x = (ids, distinct);
            }
        } else if let Some(x) = s.ids.get_mut(fi) {
            x.0.clear();
            x.1 = 0;
        }
        if !m.exists.is_empty() || !m.null.is_empty() {
            s.tmp.copy_from(valid);
            if let Some(col) = col {
                s.tmp.and_with(col.present());
            } else {
                s.tmp.reset(rows);
            }
            for &p in &m.exists {
                s.hits.set_all(p, &s.tmp);
            }
            s.tmp.not_within(valid);
            for &p in &m.null {
                s.hits.set_all(p, &s.tmp);
            }
        }
    }
    let t1 = std::time::Instant::now();

    // (b) candidate rules: those a predicate hit in this batch triggers,
    // and those without a trigger; live rows = valid ∧ required hits ∧
    // some trigger hit.
    s.live.resize_with(cp.rules.len(), || None);
    s.rule_seen.resize(cp.rules.len(), 0);
    s.epoch = s.epoch.wrapping_add(1);
    if s.epoch == 0 {
        s.rule_seen.iter_mut().for_each(|x| *x = 0);
        s.epoch = 1;
    }
    s.cands.clear();
    s.cands.extend_from_slice(&cp.untriggered);
    for &p in s.hits.touched() {
        for &r in cp.trigger_rules.get(p as usize).map_or(&[][..], |v| v) {
            if let Some(seen) = s.rule_seen.get_mut(r as usize) {
                if *seen != s.epoch {
                    *seen = s.epoch;
                    s.cands.push(r);
                }
            }
        }
    }
    s.cands.sort_unstable();
    let mut kept = 0;
    for ci in 0..s.cands.len() {
        let Some(&r) = s.cands.get(ci) else {
            continue;
        };
        let (Some(rule), Some(slot)) = (cp.rules.get(r as usize), s.live.get_mut(r as usize))
        else {
            continue;
        };
        if let Some(ps) = &rule.any_of {
            if !ps.iter().any(|&p| s.hits.get(p).is_some()) {
                continue;
            }
        }
        let mut live = slot.take().unwrap_or_default();
        live.copy_from(valid);
        let mut alive = true;
        for &p in &rule.required {
            match s.hits.get(p) {
                Some(b) => live.and_with(b),
                None => {
                    alive = false;
                    break;
                }
            }
        }
        if let (true, Some(ts)) = (alive, &rule.trigger) {
            s.tmp.reset(rows);
            for &p in ts {
                if let Some(b) = s.hits.get(p) {
                    s.tmp.or_with(b);
                }
            }
            live.and_with(&s.tmp);
        }
        if alive && live.any() {
            *slot = Some(live);
            if let Some(c) = s.cands.get_mut(kept) {
                *c = r;
            }
            kept += 1;
        } else {
            s.pool.push(live);
        }
    }
    s.cands.truncate(kept);
    let t2 = std::time::Instant::now();

    // (c) expensive predicates on candidate rows.
    for (ei, (e, users)) in cp
        .expensive
        .iter()
        .zip(cp.expensive_rules.iter())
        .enumerate()
    {
        s.cand.reset(rows);
        for &r in users {
            if let Some(Some(l)) = s.live.get(r as usize) {
                s.cand.or_with(l);
            }
        }
        if !s.cand.any() {
            continue;
        }
        let Some(col) = view.column(e.field) else {
            continue;
        };
        match &e.kind {
            ExpensiveKind::FieldRef { other, mode, cased } => {
                let Some(ocol) = view.field(other.idx()) else {
                    continue;
                };
                for row in s.cand.iter_ones() {
                    let row = row as u32;
                    let hit = col.row_values(row).any(|a| {
                        ocol.row_values(row)
                            .any(|b| fieldref_match(*mode, *cased, a, b))
                    });
                    if hit {
                        s.hits.set(e.pred, row as usize);
                    }
                }
            }
            kind => {
                // Memoise per distinct value when the column's ids are known.
                let ids = cp
                    .expensive_slot
                    .get(ei)
                    .copied()
                    .flatten()
                    .and_then(|f| s.ids.get(f))
                    .filter(|x| x.0.len() == col.num_values());
                if let Some((ids, distinct)) = ids {
                    s.memo.clear();
                    s.memo.resize(*distinct, 0);
                    for (i, &id) in ids.iter().enumerate() {
                        let Some((row, v)) = col.value(i) else {
                            continue;
                        };
                        if !s.cand.get(row as usize)
                            || s.hits.get(e.pred).is_some_and(|b| b.get(row as usize))
                        {
                            continue;
                        }
                        let hit = match s.memo.get_mut(id as usize) {
                            Some(0) | None => {
                                let r = expensive_value_match(
                                    kind,
                                    v,
                                    &mut s.fold_a,
                                    &mut s.vs.regexes,
                                );
                                if let Some(x) = s.memo.get_mut(id as usize) {
                                    *x = if r { 2 } else { 1 };
                                }
                                r
                            }
                            Some(x) => *x == 2,
                        };
                        if hit {
                            s.hits.set(e.pred, row as usize);
                        }
                    }
                    continue;
                }
                for (row, v) in col.iter() {
                    if s.cand.get(row as usize)
                        && !s.hits.get(e.pred).is_some_and(|b| b.get(row as usize))
                        && expensive_value_match(kind, v, &mut s.fold_a, &mut s.vs.regexes)
                    {
                        s.hits.set(e.pred, row as usize);
                    }
                }
            }
        }
    }
    let t3 = std::time::Instant::now();

    // (d) conditions.
    let mut res = EvalResult::default();
    let mut out = s.pool.pop().unwrap_or_default();
    let small = (rows <= SmallRows::CAPACITY).then(|| SmallRows::of(valid));
    for &r in &s.cands {
        let (Some(rule), Some(Some(live))) = (cp.rules.get(r as usize), s.live.get(r as usize))
        else {
            continue;
        };
        let list = if rule.emit {
            &mut res.matches
        } else {
            &mut res.hidden
        };
        if let Some(valid) = small {
            let rows = eval_small(&rule.expr, &s.hits, valid).and(SmallRows::of(live));
            list.extend(rows.iter_ones().map(|row| (row as u32, r)));
            continue;
        }
        eval_expr(&rule.expr, &mut out, &s.hits, valid, &mut s.pool, rows);
        out.and_with(live);
        list.extend(out.iter_ones().map(|row| (row as u32, r)));
    }
    s.pool.push(out);
    // Return live bitsets to the pool for the next batch.
    for &r in &s.cands {
        if let Some(b) = s.live.get_mut(r as usize).and_then(Option::take) {
            s.pool.push(b);
        }
    }
    s.pool.truncate(64);
    res.matches.sort_unstable();
    res.hidden.sort_unstable();
    let t4 = std::time::Instant::now();
    times.match_ns += (t1 - t0).as_nanos() as u64 + (t3 - t2).as_nanos() as u64;
    times.condition_ns += (t2 - t1).as_nanos() as u64 + (t4 - t3).as_nanos() as u64;
    res
}

/// The physical plan, for `sigma explain`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explain {
    pub fields: Vec<FieldExplain>,
    pub predicates: usize,
    pub rules: usize,
    /// Rules visited only in batches where one of their trigger predicates
    /// hit (`rules.rs`), and the rules visited in every batch.
    pub rules_triggered: usize,
    pub rules_untriggered: usize,
    /// Rules that can never match (a trigger set with no predicate).
    pub rules_never: usize,
    /// The predicates gating the keyword column (`CompiledPlan::keyword_gate`);
    /// None when it is scanned on every row.
    pub keyword_gate: Option<usize>,
    /// With a gate, the rules using keywords without a route, whose
    /// keywords alone are scanned on the other rows.
    pub keyword_open_rules: usize,
    /// Fields whose columns carry their keyword values
    /// (`CompiledPlan::carries_keywords`).
    pub keyword_carriers: usize,
    pub shared_predicates: usize,
    pub expensive_predicates: usize,
    pub correlations: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldExplain {
    /// Field name, or `*` for keywords.
    pub field: String,
    #[serde(flatten)]
    pub counts: FieldMatcherStats,
}

impl CompiledPlan {
    pub fn explain(&self) -> Explain {
        let fields = self
            .fields
            .iter()
            .map(|(f, m)| FieldExplain {
                field: match f {
                    PredField::Keyword => "*".to_string(),
                    PredField::Field(id) => {
                        self.plan.fields.get(id.idx()).cloned().unwrap_or_default()
                    }
                },
                counts: m.stats.clone(),
            })
            .collect();
        let never = self
            .rules
            .iter()
            .filter(|r| r.trigger.as_ref().is_some_and(Vec::is_empty))
            .count();
        Explain {
            fields,
            predicates: self.plan.predicates.len(),
            rules: self.rules.len(),
            rules_triggered: self.rules.len() - self.untriggered.len() - never,
            rules_untriggered: self.untriggered.len(),
            rules_never: never,
            keyword_gate: self.keyword_gate.as_ref().map(|g| g.gate.len()),
            keyword_open_rules: self.keyword_gate.as_ref().map_or(0, |g| g.open_rules),
            keyword_carriers: self.index.keyword_carriers().iter().filter(|&&c| c).count(),
            shared_predicates: self.pred_rules.iter().filter(|r| r.len() > 1).count(),
            expensive_predicates: self.expensive.len(),
            correlations: self.plan.correlations.len(),
        }
    }
}

#[cfg(test)]
mod condition_tests;
#[cfg(test)]
mod keyword_tests;
#[cfg(test)]
#[path = "../../tests/common/rng.rs"]
mod test_rng;
