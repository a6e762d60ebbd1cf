//! Per-field combined matchers: for each referenced field (and the keyword
//! pseudo-field) ONE `FieldMatcher` holds all the cheap predicates on that
//! field — exact hash sets, literal scanners for prefix/suffix/contains
//! and glob gates, gated globs, numeric comparisons, CIDR networks,
//! exists/null — and tests each value once against all of them
//! (`FieldMatcher::scan`). Expensive predicates (regex, ungated glob,
//! fieldref, timepart) become `Expensive` entries that the evaluator runs only
//! on rows some rule still needs. Predicates that fail to compile are
//! reported as `CompileError`s and never match.

pub mod cidr;
pub mod dedup;
pub mod glob;
pub mod literal;
pub mod numeric;
pub mod regex;
pub mod substring;
pub mod timepart;
pub mod window_filter;

use crate::bitset::HitSets;
use crate::fold::{fold, fold_cow};
use crate::plan::{Cmp, FieldId, PredField, Predicate, PredicateOp, StringMode, TimePart};
use glob::GlobMatcher;
use literal::{ExactMap, LiteralHit, LiteralPattern, LiteralScanner, LiteralScannerBuilder};

/// A predicate the engine could not compile; it never matches.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CompileError {
    pub predicate: u32,
    /// Rules whose condition mentions the predicate.
    pub rules: Vec<u32>,
    pub message: String,
}

/// All cheap predicates of one field.
#[derive(Debug, Default)]
pub struct FieldMatcher {
    pub exact_cs: ExactMap,
    pub exact_ci: ExactMap,
    pub ac_cs: Option<LiteralScanner>,
    pub ac_ci: Option<LiteralScanner>,
    /// prefix/suffix/contains "" : every value matches.
    pub any_value: Vec<u32>,
    pub gated_globs: Vec<GlobMatcher>,
    pub numeric: Vec<(u32, Cmp, f64)>,
    pub cidr: Vec<(u32, cidr::Network)>,
    pub exists: Vec<u32>,
    pub null: Vec<u32>,
    needs_fold: bool,
    /// Counts for explain.
    pub stats: FieldMatcherStats,
}

#[derive(Debug, Default, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldMatcherStats {
    pub exact: usize,
    pub prefix: usize,
    pub suffix: usize,
    pub contains: usize,
    pub ac_patterns_cased: usize,
    pub ac_patterns_folded: usize,
    pub glob_gated: usize,
    pub glob_ungated: usize,
    pub regex: usize,
    pub numeric: usize,
    pub cidr: usize,
    pub exists: usize,
    pub null: usize,
    pub fieldref: usize,
    pub timepart: usize,
    /// Heap bytes of the field's literal scanners.
    pub scanner_bytes: usize,
}

/// An expensive predicate, run on candidate rows only.
#[derive(Debug)]
pub struct Expensive {
    pub pred: u32,
    pub field: PredField,
    pub kind: ExpensiveKind,
}

#[derive(Debug)]
pub enum ExpensiveKind {
    Regex(regex::Pattern),
    Glob(GlobMatcher),
    FieldRef {
        other: FieldId,
        mode: StringMode,
        cased: bool,
    },
    TimePart {
        part: TimePart,
        value: f64,
    },
}

/// Per-thread buffers for `FieldMatcher::scan`.
#[derive(Debug, Default)]
pub struct ValueScratch {
    fold: String,
    gates: Vec<u32>,
    kw_gates: Vec<u32>,
    kw_hits: Vec<u32>,
    out: Vec<u32>,
    /// Search caches of the plan's regexes (gated globs and expensive predicates).
    pub regexes: regex::RegexCaches,
}

/// A field's literal scanners extended with the keyword matcher's patterns
/// (`literal::LiteralScannerBuilder::combined`): one pass over a value yields both the
/// field's and the keyword predicates' literal hits.
#[derive(Debug, Default)]
pub struct CombinedScanners {
    pub cs: Option<LiteralScanner>,
    pub ci: Option<LiteralScanner>,
}

impl CombinedScanners {
    /// Build from the scanner sources of a field and of the keywords.
    pub fn build(
        field: &(LiteralScannerBuilder, LiteralScannerBuilder),
        kw: &(LiteralScannerBuilder, LiteralScannerBuilder),
    ) -> Self {
        let (cs, cs_from) = LiteralScannerBuilder::combined(&field.0, &kw.0);
        let (ci, ci_from) = LiteralScannerBuilder::combined(&field.1, &kw.1);
        CombinedScanners {
            cs: cs.build_split(cs_from),
            ci: ci.build_split(ci_from),
        }
    }
}

/// Builds one field's matcher; `finish` yields it.
#[derive(Default)]
pub struct FieldMatcherBuilder {
    m: FieldMatcher,
    ac_cs: LiteralScannerBuilder,
    ac_ci: LiteralScannerBuilder,
}

impl FieldMatcherBuilder {
    /// Add predicate `id`. Cheap ones are absorbed; expensive ones are
    /// returned as `Ok(Some(..))`.
    pub fn add(&mut self, id: u32, p: &Predicate) -> Result<Option<Expensive>, String> {
        let m = &mut self.m;
        let exp = |kind| {
            Ok(Some(Expensive {
                pred: id,
                field: p.field,
                kind,
            }))
        };
        match &p.op {
            PredicateOp::String { mode, value, cased } => {
                let v = if *cased { value.clone() } else { fold(value) };
                match mode {
                    StringMode::Exact => m.stats.exact += 1,
                    StringMode::Prefix => m.stats.prefix += 1,
                    StringMode::Suffix => m.stats.suffix += 1,
                    StringMode::Contains => m.stats.contains += 1,
                }
                if !*cased {
                    m.needs_fold = true;
                }
                if *mode == StringMode::Exact {
                    let map = if *cased {
                        &mut m.exact_cs
                    } else {
                        &mut m.exact_ci
                    };
                    map.entry(v.into_boxed_str()).or_default().push(id);
                } else if v.is_empty() {
                    m.any_value.push(id);
                } else {
                    let b = if *cased {
                        &mut self.ac_cs
                    } else {
                        &mut self.ac_ci
                    };
                    b.add(
                        &v,
                        LiteralPattern::Pred {
                            pred: id,
                            mode: *mode,
                        },
                    );
                }
                Ok(None)
            }
            PredicateOp::Glob { parts, cased } => {
                let parts: Vec<_> = if *cased {
                    parts.clone()
                } else {
                    parts
                        .iter()
                        .map(|p| match p {
                            crate::plan::GlobPart::Lit(l) => crate::plan::GlobPart::Lit(fold(l)),
                            o => o.clone(),
                        })
                        .collect()
                };
                if !parts.is_empty() && parts.iter().all(|p| *p == crate::plan::GlobPart::Any) {
                    // `*`, `**`, ...: every value matches (no regex run).
                    m.stats.glob_gated += 1;
                    m.any_value.push(id);
                    return Ok(None);
                }
                let g = glob::compile(id, &parts, *cased)?;
                if let Some(gate) = g.gate.clone() {
                    m.stats.glob_gated += 1;
                    if !*cased {
                        m.needs_fold = true;
                    }
                    let glob = m.gated_globs.len() as u32;
                    let b = if *cased {
                        &mut self.ac_cs
                    } else {
                        &mut self.ac_ci
                    };
                    b.add(&gate, LiteralPattern::Gate { glob });
                    m.gated_globs.push(g);
                    Ok(None)
                } else {
                    m.stats.glob_ungated += 1;
                    exp(ExpensiveKind::Glob(g))
                }
            }
            PredicateOp::Regex { pattern, flags } => {
                let r = regex::compile(pattern, *flags)?;
                m.stats.regex += 1;
                exp(ExpensiveKind::Regex(r))
            }
            PredicateOp::Compare { cmp, value } => {
                m.stats.numeric += 1;
                m.numeric.push((id, *cmp, *value));
                Ok(None)
            }
            PredicateOp::Cidr { network } => {
                let n = cidr::Network::parse(network)?;
                m.stats.cidr += 1;
                m.cidr.push((id, n));
                Ok(None)
            }
            PredicateOp::Exists => {
                m.stats.exists += 1;
                m.exists.push(id);
                Ok(None)
            }
            PredicateOp::Null => {
                m.stats.null += 1;
                m.null.push(id);
                Ok(None)
            }
            PredicateOp::Fieldref { other, mode, cased } => {
                m.stats.fieldref += 1;
                exp(ExpensiveKind::FieldRef {
                    other: FieldId(*other as u32),
                    mode: *mode,
                    cased: *cased,
                })
            }
            PredicateOp::Timepart { part, value } => {
                m.stats.timepart += 1;
                exp(ExpensiveKind::TimePart {
                    part: *part,
                    value: *value,
                })
            }
        }
    }

    /// Copies of the scanner inputs (cased, folded), for `CombinedScanners`.
    pub fn ac_sources(&self) -> (LiteralScannerBuilder, LiteralScannerBuilder) {
        (self.ac_cs.clone(), self.ac_ci.clone())
    }

    pub fn finish(self) -> FieldMatcher {
        let mut m = self.m;
        m.stats.ac_patterns_cased = self.ac_cs.len();
        m.stats.ac_patterns_folded = self.ac_ci.len();
        m.ac_cs = self.ac_cs.build();
        m.ac_ci = self.ac_ci.build();
        m.stats.scanner_bytes = [&m.ac_cs, &m.ac_ci]
            .into_iter()
            .flatten()
            .map(LiteralScanner::memory_usage)
            .sum();
        m
    }
}

impl FieldMatcher {
    /// Whether any per-value test exists (else only exists/null apply).
    /// Gated globs count through their gates, which are scanner patterns.
    pub fn has_value_tests(&self) -> bool {
        !(self.exact_cs.is_empty()
            && self.exact_ci.is_empty()
            && self.ac_cs.is_none()
            && self.ac_ci.is_none()
            && self.any_value.is_empty()
            && self.numeric.is_empty()
            && self.cidr.is_empty())
    }

    /// Test one value against every cheap predicate of the field, appending
    /// the ids of the predicates it satisfies to `out` (possibly repeated).
    #[inline]
    pub fn scan_value(&self, s: &str, vs: &mut ValueScratch, out: &mut Vec<u32>) {
        let ValueScratch {
            fold,
            gates,
            regexes,
            ..
        } = vs;
        gates.clear();
        if let Some(ac) = &self.ac_cs {
            ac.scan(s, |p| out.push(p), |g| gates.push(g));
        }
        let folded = if self.needs_fold {
            fold_cow(s, fold)
        } else {
            s
        };
        if let (true, Some(ac)) = (self.needs_fold, &self.ac_ci) {
            ac.scan(folded, |p| out.push(p), |g| gates.push(g));
        }
        self.scan_rest(s, folded, gates, regexes, out);
    }

    /// `scan_value` for this field and for the keyword matcher `kw` at
    /// once, with `comb` (this field's scanners extended with `kw`'s
    /// patterns) making a single scanner pass per casing. The field's
    /// hits go to `out`, the keyword hits to `kw_out`.
    #[inline]
    pub fn scan_value_kw(
        &self,
        kw: &FieldMatcher,
        comb: &CombinedScanners,
        s: &str,
        vs: &mut ValueScratch,
        out: &mut Vec<u32>,
        kw_out: &mut Vec<u32>,
    ) {
        let ValueScratch {
            fold,
            gates,
            kw_gates,
            regexes,
            ..
        } = vs;
        gates.clear();
        kw_gates.clear();
        let mut route = |k: bool, h: LiteralHit| match (k, h) {
            (false, LiteralHit::Pred(p)) => out.push(p),
            (false, LiteralHit::Gate(g)) => gates.push(g),
            (true, LiteralHit::Pred(p)) => kw_out.push(p),
            (true, LiteralHit::Gate(g)) => kw_gates.push(g),
        };
        if let Some(ac) = &comb.cs {
            ac.scan_split(s, &mut route);
        }
        let folded = if self.needs_fold || kw.needs_fold {
            fold_cow(s, fold)
        } else {
            s
        };
        if let Some(ac) = &comb.ci {
            ac.scan_split(folded, &mut route);
        }
        self.scan_rest(s, folded, gates, regexes, out);
        kw.scan_rest(s, folded, kw_gates, regexes, kw_out);
    }

    /// `scan_value` for this field and for the keyword matcher `kw`, every
    /// hit to `out`: one scanner pass per casing with `comb` (this field's
    /// combined scanners) once they are built, a pass for each before.
    #[inline]
    pub fn scan_value_and_keywords(
        &self,
        kw: &FieldMatcher,
        comb: Option<&CombinedScanners>,
        s: &str,
        vs: &mut ValueScratch,
        out: &mut Vec<u32>,
    ) {
        let Some(comb) = comb else {
            self.scan_value(s, vs, out);
            kw.scan_value(s, vs, out);
            return;
        };
        let mut kw_hits = std::mem::take(&mut vs.kw_hits);
        kw_hits.clear();
        self.scan_value_kw(kw, comb, s, vs, out, &mut kw_hits);
        out.extend_from_slice(&kw_hits);
        vs.kw_hits = kw_hits;
    }

    /// Everything but the literal scanners: exact sets, any-value, gated
    /// globs (whose gates the scanners found), numeric and CIDR tests. `folded` is
    /// `s` folded when `needs_fold`.
    #[inline]
    fn scan_rest(
        &self,
        s: &str,
        folded: &str,
        gates: &mut Vec<u32>,
        regexes: &mut regex::RegexCaches,
        out: &mut Vec<u32>,
    ) {
        if let Some(ps) = self.exact_cs.get(s) {
            out.extend_from_slice(ps);
        }
        out.extend_from_slice(&self.any_value);
        if self.needs_fold {
            if let Some(ps) = self.exact_ci.get(folded) {
                out.extend_from_slice(ps);
            }
        }
        if !gates.is_empty() {
            gates.sort_unstable();
            gates.dedup();
            for &g in gates.iter() {
                if let Some(gm) = self.gated_globs.get(g as usize) {
                    let text = if gm.cased { s } else { folded };
                    if gm.regex.is_match(text, regexes) {
                        out.push(gm.pred);
                    }
                }
            }
        }
        if !self.numeric.is_empty() {
            if let Some(v) = numeric::parse_number(s) {
                for &(p, cmp, bound) in &self.numeric {
                    if numeric::compare(v, cmp, bound) {
                        out.push(p);
                    }
                }
            }
        }
        if !self.cidr.is_empty() {
            if let Some(ip) = cidr::parse_ip(s) {
                for (p, n) in &self.cidr {
                    if n.contains(&ip) {
                        out.push(*p);
                    }
                }
            }
        }
    }

    /// Test one value of `row` against every cheap predicate of the field,
    /// setting hits directly (no value cache).
    #[inline]
    pub fn scan(&self, row: u32, s: &str, hits: &mut HitSets, vs: &mut ValueScratch) {
        let mut out = std::mem::take(&mut vs.out);
        out.clear();
        self.scan_value(s, vs, &mut out);
        for &p in &out {
            hits.set(p, row as usize);
        }
        vs.out = out;
    }
}

/// Test one value against an expensive predicate (fieldref excluded: it
/// needs the row).
#[inline]
pub fn expensive_value_match(
    kind: &ExpensiveKind,
    s: &str,
    fold_buf: &mut String,
    regexes: &mut regex::RegexCaches,
) -> bool {
    match kind {
        ExpensiveKind::Regex(r) => r.is_match(s, regexes),
        ExpensiveKind::Glob(g) => {
            if g.cased {
                g.regex.is_match(s, regexes)
            } else {
                g.regex.is_match(fold_cow(s, fold_buf), regexes)
            }
        }
        ExpensiveKind::TimePart { part, value } => timepart::matches(s, *part, *value),
        ExpensiveKind::FieldRef { .. } => false,
    }
}

/// Fieldref comparison of two values.
pub fn fieldref_match(mode: StringMode, cased: bool, a: &str, b: &str) -> bool {
    if cased {
        literal::string_mode_match(mode, a, b)
    } else {
        literal::string_mode_match(mode, &fold(a), &fold(b))
    }
}
