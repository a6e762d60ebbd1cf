//! NDJSON chunk → columns. Splits a byte chunk into lines (memchr). Each
//! line first goes through the single-pass scanner of `json/scan.rs`, which
//! fills the columns directly; any line it does not accept with certainty is
//! rolled back and parsed with simd-json's tape API (the line is copied into
//! a reusable padded scratch buffer, simd-json unescapes in place). The tape
//! path is the reference behaviour described here and the source of every
//! dead-letter reason; tests/json_diff.rs checks that both paths agree.
//! Only the plan's fields are materialised, by dotted path: `a.b` matches
//! `{"a":{"b":..}}`, a top-level key spelled `"a.b"`, and mixes such as
//! `{"a":{"b.c":..}}`; objects inside arrays on the way are descended into.
//! Values become text (text.rs canon); null and absent are both "no value";
//! an array makes the field multi-valued (scalars flattened, nested objects
//! as JSON text); an object as a leaf value is its JSON text. With
//! keywords, every string of the event also goes to the keyword column,
//! except that the scanner marks the strings of fields that carry keywords
//! (`FieldIndex::with_keyword_carriers`) in their own column instead; the
//! tape path marks none, so its keyword column holds every string. Row index =
//! line index in the chunk; blank lines are rows that are not valid; bad
//! lines (not JSON, not an object, too big, too deep) become dead letters and
//! are not valid either. Never panics on any input.

use crate::bitset::Bitset;
use crate::hash::{load_le, FxHashMap};
use crate::plan::FieldId;
use crate::text::{write_f64, write_i64, write_u64, BatchView, ColumnRef, Columns, TextColumn};
use simd_json::{Buffers, Node, StaticNode, Tape};

pub mod lines;
mod scan;

/// Recursion in the tape walkers is bounded by the parse depth limit; this
/// caps `maxDepth` so a huge configured value cannot overflow the stack.
pub const MAX_DEPTH_CAP: u32 = 1000;

/// A line that could not become an event.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DeadLetter {
    /// Line index within the chunk (0-based).
    pub line: u32,
    pub reason: String,
}

#[derive(Clone, Copy, Default, Debug)]
struct PathEntry {
    field: Option<FieldId>,
    /// Some field's path continues below this one.
    prefix: bool,
}

/// Dotted path → field, plus every proper prefix of a field path. Lookups
/// (one per key of every event) go through an open-addressing table keyed
/// by a cheap hash of the key's length and first and last 8 bytes.
#[derive(Debug, Default)]
pub struct FieldIndex {
    keys: Vec<Box<[u8]>>,
    entries: Vec<PathEntry>,
    /// Hash of each key, parallel to `keys`.
    hashes: Vec<u64>,
    /// Index into `keys` + 1; 0 is empty. Length is a power of two.
    slots: Vec<u32>,
    nfields: usize,
    /// Per field: its string values are keyword values the keyword column
    /// leaves out (`with_keyword_carriers`).
    keyword_carriers: Vec<bool>,
}

#[inline]
fn key_hash(k: &[u8]) -> u64 {
    let n = k.len();
    let (a, b) = if n >= 8 {
        (load_le(k), load_le(k.get(n - 8..).unwrap_or(k)))
    } else {
        (load_le(k), 0)
    };
    let h = (a ^ 0x9E37_79B9_7F4A_7C15).wrapping_mul(0xBF58_476D_1CE4_E5B9)
        ^ (b ^ ((n as u64) << 56))
            .rotate_left(31)
            .wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 29)
}

impl FieldIndex {
    pub fn new(fields: &[String]) -> FieldIndex {
        let mut map: FxHashMap<Box<[u8]>, PathEntry> = FxHashMap::default();
        for (i, f) in fields.iter().enumerate() {
            let b = f.as_bytes();
            map.entry(b.into()).or_default().field = Some(FieldId(i as u32));
            for (pos, _) in b.iter().enumerate().filter(|(_, &c)| c == b'.') {
                if let Some(p) = b.get(..pos) {
                    map.entry(p.into()).or_default().prefix = true;
                }
            }
        }
        let mut idx = FieldIndex {
            slots: vec![0; (map.len() * 4).next_power_of_two().max(16)],
            nfields: fields.len(),
            ..FieldIndex::default()
        };
        let mut all: Vec<(Box<[u8]>, PathEntry)> = map.into_iter().collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        let mask = idx.slots.len() - 1;
        for (k, e) in all {
            let h = key_hash(&k);
            idx.keys.push(k);
            idx.entries.push(e);
            idx.hashes.push(h);
            let n = idx.keys.len() as u32;
            let mut i = h as usize & mask;
            while let Some(s) = idx.slots.get_mut(i) {
                if *s == 0 {
                    *s = n;
                    break;
                }
                i = (i + 1) & mask;
            }
        }
        idx
    }

    /// The fields whose string values stand for themselves in the keyword
    /// column (`CompiledPlan::carries_keywords`): the scanner marks them
    /// keyword values in the field's column instead of copying them.
    pub fn with_keyword_carriers(mut self, carriers: Vec<bool>) -> FieldIndex {
        self.keyword_carriers = carriers;
        self
    }

    /// Per field, whether its string values are marked keyword values.
    pub fn keyword_carriers(&self) -> &[bool] {
        &self.keyword_carriers
    }

    #[inline]
    pub fn carries_keywords(&self, field: usize) -> bool {
        self.keyword_carriers.get(field).copied().unwrap_or(false)
    }

    #[inline]
    fn get(&self, path: &[u8]) -> Option<PathEntry> {
        let h = key_hash(path);
        let mask = self.slots.len().wrapping_sub(1);
        let mut i = h as usize & mask;
        loop {
            let s = *self.slots.get(i)? as usize;
            if s == 0 {
                return None;
            }
            if self.hashes.get(s - 1) == Some(&h)
                && self.keys.get(s - 1).map(|k| &**k) == Some(path)
            {
                return self.entries.get(s - 1).copied();
            }
            i = (i + 1) & mask;
        }
    }
}

/// Limits applied per line.
#[derive(Clone, Copy, Debug)]
pub struct JsonLimits {
    pub max_event_bytes: u64,
    pub max_depth: u32,
    pub keywords: bool,
}

/// The columns of one parsed chunk (reused across calls).
#[derive(Debug, Default)]
pub struct JsonBatch {
    pub rows: usize,
    pub valid: Bitset,
    pub columns: Vec<TextColumn>,
    pub keywords: Option<TextColumn>,
    /// `BatchView::keyword_fields`: the index's carriers while keywords are
    /// collected.
    pub keyword_fields: Vec<bool>,
    /// Byte offset of each line start, plus the chunk length: line i is
    /// `chunk[line_offsets[i]..line_offsets[i+1]]` (including its newline).
    pub line_offsets: Vec<u32>,
    pub dead_letters: Vec<DeadLetter>,
}

impl JsonBatch {
    pub fn view(&self) -> BatchView<'_> {
        BatchView {
            rows: self.rows,
            valid: &self.valid,
            columns: Columns::Text(&self.columns),
            keywords: self.keywords.as_ref().map(ColumnRef::Text),
            keyword_fields: &self.keyword_fields,
        }
    }
}

/// Per-thread parser scratch.
pub struct JsonParser {
    buf: Vec<u8>,
    buffers: Buffers,
    tape: Tape<'static>,
    path: Vec<u8>,
    /// The depth limit `buffers` was built with.
    depth: usize,
    scan: scan::ScanScratch,
    /// Try the single-pass scanner (scan.rs) before the tape.
    fast: bool,
    /// Lines the scanner accepted / handed to the tape path.
    fast_lines: u64,
    fallback_lines: u64,
}

impl Default for JsonParser {
    fn default() -> Self {
        JsonParser {
            buf: Vec::new(),
            buffers: Buffers::new(4096),
            tape: Tape(Vec::new()),
            path: Vec::new(),
            depth: 0,
            scan: scan::ScanScratch::default(),
            fast: true,
            fast_lines: 0,
            fallback_lines: 0,
        }
    }
}

/// Line starts of `chunk` (see `JsonBatch::line_offsets`).
pub fn split_lines(chunk: &[u8], out: &mut Vec<u32>) {
    out.clear();
    let mut start = 0usize;
    for nl in memchr::memchr_iter(b'\n', chunk) {
        out.push(start as u32);
        start = nl + 1;
    }
    if start < chunk.len() {
        out.push(start as u32);
    }
    out.push(chunk.len() as u32);
}

fn trim_line(mut l: &[u8]) -> &[u8] {
    while let [rest @ .., last] = l {
        if last.is_ascii_whitespace() {
            l = rest;
        } else {
            break;
        }
    }
    while let [first, rest @ ..] = l {
        if first.is_ascii_whitespace() {
            l = rest;
        } else {
            break;
        }
    }
    l
}

impl JsonParser {
    /// A parser that uses only the simd-json tape path (`fast: false`) or
    /// tries the single-pass scanner first (`fast: true`, the default). Both
    /// produce identical columns and dead letters; the switch exists for
    /// differential tests and benchmarks.
    pub fn with_fast_path(fast: bool) -> JsonParser {
        JsonParser {
            fast,
            ..JsonParser::default()
        }
    }

    /// Non-blank lines the scanner accepted, and lines it handed to the
    /// tape path (bad lines included), since this parser was created.
    pub fn fast_path_counts(&self) -> (u64, u64) {
        (self.fast_lines, self.fallback_lines)
    }

    /// Parse `chunk` (must be < 4 GiB; the engine checks) into `out`.
    pub fn parse_chunk(
        &mut self,
        index: &FieldIndex,
        limits: JsonLimits,
        chunk: &[u8],
        out: &mut JsonBatch,
    ) {
        split_lines(chunk, &mut out.line_offsets);
        let rows = out.line_offsets.len().saturating_sub(1);
        out.rows = rows;
        out.valid.reset(rows);
        out.dead_letters.clear();
        out.columns.resize_with(index.nfields, TextColumn::default);
        out.columns.iter_mut().for_each(|c| c.reset(rows));
        out.keyword_fields.clear();
        if limits.keywords {
            out.keywords
                .get_or_insert_with(Default::default)
                .reset(rows);
            out.keyword_fields
                .extend_from_slice(index.keyword_carriers());
        } else {
            out.keywords = None;
        }
        let max_depth = limits.max_depth.clamp(1, MAX_DEPTH_CAP) as usize;
        if self.depth != max_depth {
            self.buffers = Buffers::with_max_depth(4096, max_depth);
            self.depth = max_depth;
        }
        for row in 0..rows {
            let (Some(&s), Some(&e)) = (out.line_offsets.get(row), out.line_offsets.get(row + 1))
            else {
                continue;
            };
            let Some(raw) = chunk.get(s as usize..e as usize) else {
                continue;
            };
            let line = trim_line(raw);
            if line.is_empty() {
                continue;
            }
            if line.len() as u64 > limits.max_event_bytes {
                out.dead_letters.push(DeadLetter {
                    line: row as u32,
                    reason: format!(
                        "event exceeds maxEventBytes ({} > {})",
                        line.len(),
                        limits.max_event_bytes
                    ),
                });
                continue;
            }
            if self.fast
                && scan::scan_line(
                    line,
                    index,
                    row as u32,
                    max_depth,
                    &mut out.columns,
                    out.keywords.as_mut(),
                    &mut self.scan,
                )
                .is_ok()
            {
                self.fast_lines += 1;
                out.valid.set(row);
                continue;
            }
            self.fallback_lines += u64::from(self.fast);
            match self.parse_line(index, line, row as u32, max_depth, out) {
                Ok(()) => out.valid.set(row),
                Err(reason) => out.dead_letters.push(DeadLetter {
                    line: row as u32,
                    reason,
                }),
            }
        }
    }

    fn parse_line(
        &mut self,
        index: &FieldIndex,
        line: &[u8],
        row: u32,
        max_depth: usize,
        out: &mut JsonBatch,
    ) -> Result<(), String> {
        let JsonParser {
            buf,
            buffers,
            tape,
            path,
            ..
        } = self;
        buf.clear();
        buf.extend_from_slice(line);
        buf.resize(line.len() + simd_json::INPUT_PADDING, 0);
        let mut t: Tape<'_> = std::mem::replace(tape, Tape(Vec::new())).reset();
        let res = Self::fill(buf, line.len(), buffers, &mut t, max_depth);
        let result = match res {
            Err(e) => Err(e),
            Ok(()) => match t.0.first() {
                Some(Node::Object { .. }) => {
                    path.clear();
                    walk_object(&t.0, 0, path, index, row, &mut out.columns);
                    if let Some(kw) = out.keywords.as_mut() {
                        collect_strings(&t.0, 0, row, kw);
                    }
                    Ok(())
                }
                _ => Err("not a JSON object".to_string()),
            },
        };
        *tape = t.reset();
        result
    }

    fn fill<'de>(
        buf: &'de mut [u8],
        len: usize,
        buffers: &mut Buffers,
        tape: &mut Tape<'de>,
        max_depth: usize,
    ) -> Result<(), String> {
        simd_json::fill_tape_padded(buf, len, buffers, tape).map_err(|e| match e.error() {
            simd_json::ErrorType::DepthLimitExceeded => {
                format!("nested deeper than maxDepth ({max_depth})")
            }
            _ => format!("invalid JSON: {e}"),
        })
    }
}

/// Number of tape nodes taken by the value at `i`.
#[inline]
fn span(nodes: &[Node<'_>], i: usize) -> usize {
    match nodes.get(i) {
        Some(Node::Object { count, .. }) | Some(Node::Array { count, .. }) => count + 1,
        _ => 1,
    }
}

fn walk_object(
    nodes: &[Node<'_>],
    i: usize,
    path: &mut Vec<u8>,
    index: &FieldIndex,
    row: u32,
    cols: &mut [TextColumn],
) {
    let Some(Node::Object { len, .. }) = nodes.get(i) else {
        return;
    };
    let mut j = i + 1;
    for _ in 0..*len {
        let Some(Node::String(key)) = nodes.get(j) else {
            return;
        };
        let vi = j + 1;
        let plen = path.len();
        if plen > 0 {
            path.push(b'.');
        }
        path.extend_from_slice(key.as_bytes());
        if let Some(entry) = index.get(path) {
            if let Some(f) = entry.field {
                if let Some(col) = cols.get_mut(f.idx()) {
                    emit_value(nodes, vi, row, col);
                }
            }
            if entry.prefix {
                descend(nodes, vi, path, index, row, cols);
            }
        }
        path.truncate(plen);
        j = vi + span(nodes, vi);
    }
}

/// Continue a path below the value at `i`: into an object, or into the
/// objects of an array.
fn descend(
    nodes: &[Node<'_>],
    i: usize,
    path: &mut Vec<u8>,
    index: &FieldIndex,
    row: u32,
    cols: &mut [TextColumn],
) {
    match nodes.get(i) {
        Some(Node::Object { .. }) => walk_object(nodes, i, path, index, row, cols),
        Some(Node::Array { len, .. }) => {
            let mut j = i + 1;
            for _ in 0..*len {
                descend(nodes, j, path, index, row, cols);
                j += span(nodes, j);
            }
        }
        _ => {}
    }
}

fn push_static(s: &StaticNode, row: u32, col: &mut TextColumn) {
    match s {
        StaticNode::Null => {}
        StaticNode::Bool(b) => col.push(row, if *b { "true" } else { "false" }),
        StaticNode::I64(v) => col.push_with(row, |o| write_i64(*v, o)),
        StaticNode::U64(v) => col.push_with(row, |o| write_u64(*v, o)),
        StaticNode::F64(v) => col.push_with(row, |o| write_f64(*v, o)),
    }
}

fn emit_value(nodes: &[Node<'_>], i: usize, row: u32, col: &mut TextColumn) {
    match nodes.get(i) {
        Some(Node::String(s)) => col.push(row, s),
        Some(Node::Static(s)) => push_static(s, row, col),
        Some(Node::Object { .. }) => col.push_with(row, |o| {
            write_json(nodes, i, o);
        }),
        Some(Node::Array { len, .. }) => {
            col.mark_multi();
            col.mark_present(row);
            let mut j = i + 1;
            for _ in 0..*len {
                emit_value(nodes, j, row, col);
                j += span(nodes, j);
            }
        }
        None => {}
    }
}

/// Every string value (not keys) under the value at `i`.
fn collect_strings(nodes: &[Node<'_>], i: usize, row: u32, col: &mut TextColumn) {
    match nodes.get(i) {
        Some(Node::String(s)) => col.push(row, s),
        Some(Node::Object { len, .. }) => {
            let mut j = i + 1;
            for _ in 0..*len {
                collect_strings(nodes, j + 1, row, col);
                j += 1 + span(nodes, j + 1);
            }
        }
        Some(Node::Array { len, .. }) => {
            let mut j = i + 1;
            for _ in 0..*len {
                collect_strings(nodes, j, row, col);
                j += span(nodes, j);
            }
        }
        _ => {}
    }
}

/// Append `s` as a JSON string literal.
pub fn write_json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                use std::fmt::Write;
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Compact JSON text of the value at `i`.
fn write_json(nodes: &[Node<'_>], i: usize, out: &mut String) {
    match nodes.get(i) {
        Some(Node::String(s)) => write_json_str(s, out),
        Some(Node::Static(StaticNode::Null)) => out.push_str("null"),
        Some(Node::Static(StaticNode::Bool(b))) => out.push_str(if *b { "true" } else { "false" }),
        Some(Node::Static(StaticNode::I64(v))) => write_i64(*v, out),
        Some(Node::Static(StaticNode::U64(v))) => write_u64(*v, out),
        Some(Node::Static(StaticNode::F64(v))) => write_f64(*v, out),
        Some(Node::Object { len, .. }) => {
            out.push('{');
            let mut j = i + 1;
            for k in 0..*len {
                if k > 0 {
                    out.push(',');
                }
                if let Some(Node::String(key)) = nodes.get(j) {
                    write_json_str(key, out);
                }
                out.push(':');
                write_json(nodes, j + 1, out);
                j += 1 + span(nodes, j + 1);
            }
            out.push('}');
        }
        Some(Node::Array { len, .. }) => {
            out.push('[');
            let mut j = i + 1;
            for k in 0..*len {
                if k > 0 {
                    out.push(',');
                }
                write_json(nodes, j, out);
                j += span(nodes, j);
            }
            out.push(']');
        }
        None => {}
    }
}
