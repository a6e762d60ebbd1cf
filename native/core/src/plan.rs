//! The serialized rule plan, mirroring `src/plan/types.ts` (the one contract
//! between the TypeScript rule compiler and this engine). `Plan::from_json`
//! deserializes and validates: every field index, predicate index, fieldref
//! target and correlation source is checked to be in range, so the rest of the
//! crate can index plan vectors by `FieldId`/`PredicateId`/`RuleId` without
//! further checks. Errors are values (`PlanError`), never panics; a predicate
//! whose `op` does not parse (e.g. an unknown `kind`) is reported with its index.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The plan version this engine understands (`PLAN_VERSION` in types.ts).
pub const PLAN_VERSION: u32 = 1;

/// Index into `Plan::fields`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FieldId(pub u32);

/// Index into `Plan::predicates`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct PredicateId(pub u32);

/// Index into `Plan::rules`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RuleId(pub u32);

impl FieldId {
    pub fn idx(self) -> usize {
        self.0 as usize
    }
}
impl PredicateId {
    pub fn idx(self) -> usize {
        self.0 as usize
    }
}
impl RuleId {
    pub fn idx(self) -> usize {
        self.0 as usize
    }
}

/// Which values a predicate looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PredField {
    /// `KEYWORD_FIELD` (-1): every string value anywhere in the event.
    Keyword,
    Field(FieldId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StringMode {
    Exact,
    Prefix,
    Suffix,
    Contains,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum GlobPart {
    Lit(String),
    Any,
    One,
}

#[derive(Deserialize)]
struct RawGlobPart {
    lit: Option<String>,
    #[serde(default)]
    any: bool,
    #[serde(default)]
    one: bool,
}

impl<'de> Deserialize<'de> for GlobPart {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawGlobPart::deserialize(d)?;
        match (raw.lit, raw.any, raw.one) {
            (Some(l), false, false) => Ok(GlobPart::Lit(l)),
            (None, true, false) => Ok(GlobPart::Any),
            (None, false, true) => Ok(GlobPart::One),
            _ => Err(serde::de::Error::custom(
                "glob part must be exactly one of {lit}, {any: true}, {one: true}",
            )),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
pub struct RegexFlags {
    #[serde(default)]
    pub i: bool,
    #[serde(default)]
    pub m: bool,
    #[serde(default)]
    pub s: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cmp {
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimePart {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

/// One predicate operation (`PredicateOp` in types.ts).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum PredicateOp {
    String {
        mode: StringMode,
        value: String,
        cased: bool,
    },
    Glob {
        parts: Vec<GlobPart>,
        cased: bool,
    },
    Regex {
        pattern: String,
        #[serde(default)]
        flags: RegexFlags,
    },
    Compare {
        cmp: Cmp,
        value: f64,
    },
    Cidr {
        network: String,
    },
    Exists,
    Null,
    Fieldref {
        other: i64,
        mode: StringMode,
        cased: bool,
    },
    Timepart {
        part: TimePart,
        value: f64,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Predicate {
    pub field: PredField,
    pub op: PredicateOp,
}

/// A boolean expression over predicate ids (`Expr` in types.ts).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expr {
    Pred(u32),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Const(bool),
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RulePlan {
    pub id: String,
    pub title: String,
    pub level: Option<String>,
    pub status: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub name: Option<String>,
    #[serde(default)]
    pub path: String,
    #[serde(skip_serializing)]
    pub condition: Expr,
    pub emit: bool,
}

impl Serialize for Expr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        match self {
            Expr::Pred(p) => m.serialize_entry("pred", p)?,
            Expr::And(v) => m.serialize_entry("and", v)?,
            Expr::Or(v) => m.serialize_entry("or", v)?,
            Expr::Not(e) => m.serialize_entry("not", e)?,
            Expr::Const(b) => m.serialize_entry("const", b)?,
        }
        m.end()
    }
}

#[derive(Clone, Debug, PartialEq, Default, Deserialize, Serialize)]
pub struct ConditionBound {
    pub gt: Option<f64>,
    pub gte: Option<f64>,
    pub lt: Option<f64>,
    pub lte: Option<f64>,
    pub eq: Option<f64>,
    pub neq: Option<f64>,
}

/// A correlation rule, deserialized and range-checked here;
/// [`crate::correlation`] compiles it and feeds it the batches'
/// `correlation_inputs`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CorrelationPlan {
    pub id: String,
    pub title: String,
    pub level: Option<String>,
    pub status: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub name: Option<String>,
    #[serde(default)]
    pub path: String,
    pub kind: String,
    pub sources: Vec<u32>,
    pub group_by: Vec<Vec<String>>,
    pub timespan_ms: f64,
    #[serde(default)]
    pub condition: ConditionBound,
    pub value_field: Option<String>,
    pub percentile: Option<f64>,
    pub emit: bool,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineOptions {
    pub max_event_bytes: u64,
    pub max_depth: u32,
    pub timestamp_field: Option<String>,
    pub threads: u32,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            max_event_bytes: 1 << 20,
            max_depth: 64,
            timestamp_field: None,
            threads: 1,
        }
    }
}

/// The validated plan.
#[derive(Clone, Debug)]
pub struct Plan {
    pub version: u32,
    pub fields: Vec<String>,
    pub predicates: Vec<Predicate>,
    pub rules: Vec<RulePlan>,
    pub correlations: Vec<CorrelationPlan>,
    pub options: EngineOptions,
}

#[derive(Deserialize)]
struct RawPredicate {
    field: i64,
    op: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPlan {
    version: u32,
    fields: Vec<String>,
    predicates: Vec<RawPredicate>,
    rules: Vec<RulePlan>,
    #[serde(default)]
    correlations: Vec<CorrelationPlan>,
    options: EngineOptions,
}

/// Why a plan was refused as a whole.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "camelCase")]
pub enum PlanError {
    /// The JSON does not have the plan's shape.
    Json {
        message: String,
    },
    UnsupportedVersion {
        version: u32,
    },
    DuplicateField {
        field: String,
    },
    /// A predicate is malformed (unknown kind, bad field index, ...).
    Predicate {
        predicate: u32,
        message: String,
    },
    /// A rule's condition is malformed.
    Rule {
        rule: u32,
        message: String,
    },
    Correlation {
        correlation: u32,
        message: String,
    },
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::Json { message } => write!(f, "plan JSON: {message}"),
            PlanError::UnsupportedVersion { version } => {
                write!(
                    f,
                    "plan version {version} unsupported (expected {PLAN_VERSION})"
                )
            }
            PlanError::DuplicateField { field } => write!(f, "field {field:?} listed twice"),
            PlanError::Predicate { predicate, message } => {
                write!(f, "predicate {predicate}: {message}")
            }
            PlanError::Rule { rule, message } => write!(f, "rule {rule}: {message}"),
            PlanError::Correlation {
                correlation,
                message,
            } => write!(f, "correlation {correlation}: {message}"),
        }
    }
}

impl std::error::Error for PlanError {}

fn check_expr(e: &Expr, npreds: usize, depth: u32) -> Result<(), String> {
    if depth > 10_000 {
        return Err("condition nested too deep".into());
    }
    match e {
        Expr::Pred(p) => {
            if (*p as usize) < npreds {
                Ok(())
            } else {
                Err(format!("predicate index {p} out of range (0..{npreds})"))
            }
        }
        Expr::And(v) | Expr::Or(v) => v.iter().try_for_each(|c| check_expr(c, npreds, depth + 1)),
        Expr::Not(c) => check_expr(c, npreds, depth + 1),
        Expr::Const(_) => Ok(()),
    }
}

impl Plan {
    /// Deserialize and validate a plan.
    pub fn from_json(json: &str) -> Result<Plan, PlanError> {
        let raw: RawPlan = serde_json::from_str(json).map_err(|e| PlanError::Json {
            message: e.to_string(),
        })?;
        if raw.version != PLAN_VERSION {
            return Err(PlanError::UnsupportedVersion {
                version: raw.version,
            });
        }
        let nfields = raw.fields.len();
        {
            let mut seen = std::collections::HashSet::new();
            for f in &raw.fields {
                if !seen.insert(f.as_str()) {
                    return Err(PlanError::DuplicateField { field: f.clone() });
                }
            }
        }
        if nfields >= u32::MAX as usize || raw.predicates.len() >= u32::MAX as usize {
            return Err(PlanError::Json {
                message: "plan too large".into(),
            });
        }
        let mut predicates = Vec::with_capacity(raw.predicates.len());
        for (i, rp) in raw.predicates.into_iter().enumerate() {
            let perr = |message: String| PlanError::Predicate {
                predicate: i as u32,
                message,
            };
            let field = match rp.field {
                -1 => PredField::Keyword,
                f if f >= 0 && (f as u64) < nfields as u64 => PredField::Field(FieldId(f as u32)),
                f => return Err(perr(format!("field index {f} out of range (0..{nfields})"))),
            };
            let op: PredicateOp = serde_json::from_value(rp.op).map_err(|e| perr(e.to_string()))?;
            match &op {
                PredicateOp::Fieldref { other, .. }
                    if !(*other >= 0 && (*other as u64) < nfields as u64) =>
                {
                    return Err(perr(format!(
                        "fieldref other index {other} out of range (0..{nfields})"
                    )));
                }
                PredicateOp::Glob { parts, .. } if parts.is_empty() => {
                    return Err(perr("glob with no parts".into()));
                }
                _ => {}
            }
            predicates.push(Predicate { field, op });
        }
        if raw.rules.len() >= u32::MAX as usize {
            return Err(PlanError::Json {
                message: "too many rules".into(),
            });
        }
        for (i, r) in raw.rules.iter().enumerate() {
            check_expr(&r.condition, predicates.len(), 0).map_err(|message| PlanError::Rule {
                rule: i as u32,
                message,
            })?;
        }
        let nsources = raw.rules.len() + raw.correlations.len();
        for (i, c) in raw.correlations.iter().enumerate() {
            let cerr = |message: String| PlanError::Correlation {
                correlation: i as u32,
                message,
            };
            for s in &c.sources {
                if *s as usize >= nsources || *s as usize == raw.rules.len() + i {
                    return Err(cerr(format!("source {s} out of range or self-reference")));
                }
            }
            if c.group_by.len() != c.sources.len() && !c.group_by.is_empty() {
                return Err(cerr("groupBy must have one entry per source".into()));
            }
        }
        Ok(Plan {
            version: raw.version,
            fields: raw.fields,
            predicates,
            rules: raw.rules,
            correlations: raw.correlations,
            options: raw.options,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_with_pred(op: &str) -> String {
        format!(
            r#"{{"version":1,"fields":["a"],"predicates":[{{"field":0,"op":{op}}}],
            "rules":[{{"id":"r","title":"t","level":null,"status":null,"tags":[],"name":null,"path":"p","condition":{{"pred":0}},"emit":true}}],
            "correlations":[],"options":{{"maxEventBytes":1000,"maxDepth":10,"timestampField":null,"threads":1}}}}"#
        )
    }

    #[test]
    fn parses_all_kinds() {
        for op in [
            r#"{"kind":"string","mode":"exact","value":"x","cased":false}"#,
            r#"{"kind":"glob","parts":[{"lit":"a"},{"any":true},{"one":true}],"cased":true}"#,
            r#"{"kind":"regex","pattern":"a.*b","flags":{"i":true,"m":false,"s":false}}"#,
            r#"{"kind":"compare","cmp":"gte","value":3.5}"#,
            r#"{"kind":"cidr","network":"10.0.0.0/8"}"#,
            r#"{"kind":"exists"}"#,
            r#"{"kind":"null"}"#,
            r#"{"kind":"fieldref","other":0,"mode":"exact","cased":false}"#,
            r#"{"kind":"timepart","part":"hour","value":3}"#,
        ] {
            let p = Plan::from_json(&plan_with_pred(op));
            assert!(p.is_ok(), "{op}: {p:?}");
        }
    }

    #[test]
    fn unknown_kind_names_predicate() {
        let e = Plan::from_json(&plan_with_pred(r#"{"kind":"bogus"}"#)).unwrap_err();
        assert!(
            matches!(e, PlanError::Predicate { predicate: 0, .. }),
            "{e:?}"
        );
    }

    #[test]
    fn bad_indexes() {
        let e = Plan::from_json(&plan_with_pred(
            r#"{"kind":"fieldref","other":5,"mode":"exact","cased":false}"#,
        ))
        .unwrap_err();
        assert!(matches!(e, PlanError::Predicate { .. }));
        let bad = plan_with_pred(r#"{"kind":"exists"}"#).replace(r#"{"pred":0}"#, r#"{"pred":7}"#);
        assert!(matches!(
            Plan::from_json(&bad),
            Err(PlanError::Rule { rule: 0, .. })
        ));
        assert!(matches!(
            Plan::from_json("not json"),
            Err(PlanError::Json { .. })
        ));
    }
}
