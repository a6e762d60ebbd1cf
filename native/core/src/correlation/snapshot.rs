//! Snapshot and restore of correlation state, as versioned JSON:
//! `{"format":"sigma-correlation-state","version":1,"clockMs":..,"tick":..,
//!   "correlations":[{"id","kind","sources":[ids],"groups":[{"key","maxT","tick","entries"}]}]}`.
//!
//! Restore rules: the format and version must match (else an error and the
//! current state is untouched). State is matched to the current plan by
//! correlation id; it is kept only when the kind and the source ids (in
//! order) are unchanged, because window entries refer to sources by
//! position. State of correlations that no longer exist (or changed) is
//! ignored and reported. Groups beyond the current group cap are dropped,
//! least recently updated first. Counters are not part of a snapshot.

use super::spec::Correlator;
use super::state::{Limits, State};
use super::window::Group;
use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "sigma-correlation-state";
pub const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Snapshot {
    format: String,
    version: u32,
    clock_ms: i64,
    tick: u64,
    correlations: Vec<CorrSnap>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CorrSnap {
    id: String,
    kind: String,
    sources: Vec<String>,
    groups: Vec<GroupSnap>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupSnap {
    key: Vec<String>,
    #[serde(flatten)]
    group: Group,
}

/// Why a snapshot was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "camelCase")]
pub enum RestoreError {
    Malformed { message: String },
    UnsupportedVersion { format: String, version: u32 },
}

impl std::fmt::Display for RestoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestoreError::Malformed { message } => write!(f, "malformed correlation snapshot: {message}"),
            RestoreError::UnsupportedVersion { format, version } => write!(
                f,
                "unsupported correlation snapshot {format:?} version {version} (expected {FORMAT:?} {VERSION})"
            ),
        }
    }
}

impl std::error::Error for RestoreError {}

/// What a restore kept and ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreReport {
    pub groups: u64,
    /// Ids of snapshot correlations not in the plan, or changed.
    pub ignored: Vec<String>,
    /// Groups dropped by the group cap.
    pub dropped_groups: u64,
}

pub fn snapshot(cor: &Correlator, st: &State) -> Vec<u8> {
    let correlations = cor
        .specs
        .iter()
        .zip(&st.groups)
        .map(|(spec, groups)| CorrSnap {
            id: spec.id.clone(),
            kind: spec.kind_name.clone(),
            sources: spec.sources.iter().map(|s| s.id.clone()).collect(),
            groups: groups
                .iter()
                .map(|(k, g)| GroupSnap {
                    key: k.to_vec(),
                    group: g.clone(),
                })
                .collect(),
        })
        .collect();
    let snap = Snapshot {
        format: FORMAT.into(),
        version: VERSION,
        clock_ms: st.clock_ms,
        tick: st.tick,
        correlations,
    };
    serde_json::to_vec(&snap).unwrap_or_default()
}

/// Build a new state from `bytes` (the caller swaps it in on success).
pub fn restore(
    cor: &Correlator,
    bytes: &[u8],
    limits: Limits,
) -> Result<(State, RestoreReport), RestoreError> {
    #[derive(Deserialize)]
    struct Header {
        format: String,
        version: u32,
    }
    let h: Header = serde_json::from_slice(bytes).map_err(|e| RestoreError::Malformed {
        message: e.to_string(),
    })?;
    if h.format != FORMAT || h.version != VERSION {
        return Err(RestoreError::UnsupportedVersion {
            format: h.format,
            version: h.version,
        });
    }
    let snap: Snapshot = serde_json::from_slice(bytes).map_err(|e| RestoreError::Malformed {
        message: e.to_string(),
    })?;
    let mut st = State::new(cor.specs.len(), limits);
    st.clock_ms = snap.clock_ms;
    let mut report = RestoreReport::default();
    let mut all: Vec<(u64, usize, Vec<String>, Group)> = Vec::new();
    for cs in snap.correlations {
        let target = cor.specs.iter().position(|s| {
            s.id == cs.id
                && s.kind_name == cs.kind
                && s.sources.len() == cs.sources.len()
                && s.sources.iter().zip(&cs.sources).all(|(a, b)| &a.id == b)
        });
        let Some(ci) = target else {
            report.ignored.push(cs.id);
            continue;
        };
        let nsrc = cs.sources.len() as u32;
        for g in cs.groups {
            let mut group = g.group;
            group.entries.retain(|e| e.src < nsrc);
            all.push((group.tick, ci, g.key, group));
        }
    }
    // Newest first, so the cap drops the least recently updated.
    all.sort_by_key(|x| std::cmp::Reverse(x.0));
    let cap = limits.max_groups.max(1);
    if all.len() > cap {
        report.dropped_groups = (all.len() - cap) as u64;
        all.truncate(cap);
    }
    // Re-stamp ticks densely, preserving order.
    let n = all.len() as u64;
    for (i, (_, ci, key, mut group)) in all.into_iter().enumerate() {
        let tick = n - i as u64;
        group.tick = tick;
        let key: Box<[String]> = key.into_boxed_slice();
        if let Some(m) = st.groups.get_mut(ci) {
            if let Some(old) = m.insert(key.clone(), group) {
                st.lru.remove(&old.tick);
            }
            st.lru.insert(tick, (ci as u32, key));
        }
    }
    st.tick = n.max(snap.tick);
    report.groups = st.lru.len() as u64;
    st.stats.groups = report.groups;
    Ok((st, report))
}
