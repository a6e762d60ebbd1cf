//! Arrow columns → `BorrowedColumn`s, the Arrow path's read view for the
//! matchers: strings are read in place from the batch, never copied.
//! A plan field is found in a `RecordBatch` as a top-level column named
//! exactly the dotted path and/or a Struct column path (`a` → child `b`); all
//! resolutions contribute values, as both spellings do on the JSON path.
//! Supported value types: Utf8, LargeUtf8, Utf8View, Int8-64, UInt8-64,
//! Float32/64 (text canon of text.rs; Float32 is widened to f64 first),
//! Boolean, Dictionary<int, any supported>, and List/LargeList of those
//! (multi-valued). Nulls are absent values. Keyword values of an Arrow batch
//! are every string value of every column (strings only, as on the JSON path).
//! Batches are valid by the time they get here: arrow-rs's safe
//! constructors validate, and the binding checks all that `validate_full`
//! does on every C Data import (validating again here cost 10% of the Arrow
//! path). Reads are bounds-checked all the same, so no input can make them
//! panic.

use crate::text::{write_f64, write_i64, write_u64, BorrowedColumn, Text};
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, OffsetSizeTrait, RecordBatch, StructArray};
use arrow_schema::DataType;

/// One way a field is reached: the leaf array plus struct ancestors whose
/// nulls hide it.
struct Resolved<'a> {
    leaf: &'a ArrayRef,
    ancestors: Vec<&'a ArrayRef>,
}

fn resolve_in<'a>(
    names: &[&str],
    cols: &'a [ArrayRef],
    path: &str,
    ancestors: &mut Vec<&'a ArrayRef>,
    out: &mut Vec<Resolved<'a>>,
) {
    for (name, col) in names.iter().zip(cols.iter()) {
        if *name == path {
            out.push(Resolved {
                leaf: col,
                ancestors: ancestors.clone(),
            });
        } else if let Some(rest) = path.strip_prefix(name).and_then(|r| r.strip_prefix('.')) {
            if let Some(st) = col.as_struct_opt() {
                let child_names: Vec<&str> = match st.data_type() {
                    DataType::Struct(fs) => fs.iter().map(|f| f.name().as_str()).collect(),
                    _ => continue,
                };
                ancestors.push(col);
                resolve_in(&child_names, st.columns(), rest, ancestors, out);
                ancestors.pop();
            }
        }
    }
}

/// Top-level column positions by name (names may repeat), built once per
/// batch so that resolving a field costs a few comparisons, not a schema
/// scan; one allocation (a batch can have hundreds of columns).
pub struct ColumnIndex<'b> {
    /// (name, position), sorted by name; equal names keep column order.
    by_name: Vec<(&'b str, usize)>,
}

impl<'b> ColumnIndex<'b> {
    pub fn new(batch: &'b RecordBatch) -> ColumnIndex<'b> {
        let mut by_name: Vec<(&'b str, usize)> = batch
            .schema_ref()
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name().as_str(), i))
            .collect();
        by_name.sort_by(|a, b| a.0.cmp(b.0));
        ColumnIndex { by_name }
    }

    fn get<'s>(&'s self, name: &'s str) -> impl Iterator<Item = usize> + 's {
        let start = self.by_name.partition_point(|(n, _)| *n < name);
        let tail = self.by_name.get(start..).unwrap_or_default();
        tail.iter()
            .take_while(move |(n, _)| *n == name)
            .map(|&(_, i)| i)
    }
}

/// Find every array that holds `path` in `batch`, in column order: the
/// column named `path`, and struct columns named by a dotted prefix of it.
fn resolve<'a>(batch: &'a RecordBatch, index: &ColumnIndex<'_>, path: &str) -> Vec<Resolved<'a>> {
    let mut found: Vec<(usize, Vec<Resolved<'a>>)> = Vec::new();
    for i in index.get(path) {
        if let Some(col) = batch.columns().get(i) {
            let leaf = Resolved {
                leaf: col,
                ancestors: Vec::new(),
            };
            found.push((i, vec![leaf]));
        }
    }
    for (dot, _) in path.match_indices('.') {
        let (prefix, rest) = (&path[..dot], &path[dot + 1..]);
        for i in index.get(prefix) {
            let Some(col) = batch.columns().get(i) else {
                continue;
            };
            let Some(st) = col.as_struct_opt() else {
                continue;
            };
            let DataType::Struct(fs) = st.data_type() else {
                continue;
            };
            let names: Vec<&str> = fs.iter().map(|f| f.name().as_str()).collect();
            let mut out = Vec::new();
            resolve_in(&names, st.columns(), rest, &mut vec![col], &mut out);
            found.push((i, out));
        }
    }
    found.sort_by_key(|f| f.0);
    found.into_iter().flat_map(|f| f.1).collect()
}

fn check_type(dt: &DataType) -> Result<(), String> {
    match dt {
        DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float32
        | DataType::Float64
        | DataType::Boolean
        | DataType::Null => Ok(()),
        DataType::Dictionary(_, v) => check_type(v),
        DataType::List(f) | DataType::LargeList(f) => check_type(f.data_type()),
        other => Err(format!("unsupported column type {other}")),
    }
}

/// Values gathered column by column, then emitted in row order: reading
/// one typed array at a time keeps type dispatch and null tests out of the
/// per-value loop (a batch can carry hundreds of mostly-null columns).
/// Strings stay borrowed from the batch, into the column `emit` fills;
/// one `Gather` serves every column of a batch.
#[derive(Debug, Default)]
pub struct Gather<'a> {
    formatted: String,
    /// (row, value), in gathering order.
    values: Vec<(u32, Text<'a>)>,
    /// Rows holding a list (present even when it is empty).
    list_rows: Vec<u32>,
    /// Reused buffers: `values` in row order, per-row counts, top-level
    /// element lists.
    sorted: Vec<(u32, Text<'a>)>,
    counts: Vec<u32>,
    top: Elems,
}

impl<'a> Gather<'a> {
    fn clear(&mut self) {
        self.formatted.clear();
        self.values.clear();
        self.list_rows.clear();
    }

    #[inline]
    fn push_str(&mut self, row: u32, s: &'a str) {
        self.values.push((row, Text::Batch(s)));
    }

    #[inline]
    fn push_with(&mut self, row: u32, f: impl FnOnce(&mut String)) {
        let start = self.formatted.len() as u32;
        f(&mut self.formatted);
        let end = self.formatted.len() as u32;
        self.values.push((row, Text::Formatted(start, end)));
    }

    /// Hand the gathered values to `out` (for `rows` rows) in row order;
    /// values of one row keep their gathering order.
    fn emit(&mut self, rows: usize, out: &mut BorrowedColumn<'a>) {
        let in_order = self.values.windows(2).all(|w| w[0].0 <= w[1].0);
        if !in_order {
            // Counting sort by row (stable): O(values + rows).
            self.counts.clear();
            self.counts.resize(rows + 1, 0);
            for &(row, _) in &self.values {
                if let Some(c) = self.counts.get_mut(row as usize + 1) {
                    *c += 1;
                }
            }
            for i in 1..self.counts.len() {
                self.counts[i] += self.counts[i - 1];
            }
            self.sorted.clear();
            self.sorted
                .resize(self.values.len(), (0, Text::Formatted(0, 0)));
            for &value in &self.values {
                if let Some(next) = self.counts.get_mut(value.0 as usize) {
                    if let Some(slot) = self.sorted.get_mut(*next as usize) {
                        *slot = value;
                    }
                    *next += 1;
                }
            }
            std::mem::swap(&mut self.values, &mut self.sorted);
        }
        out.fill(rows, &mut self.values, &mut self.formatted, &self.list_rows);
    }
}

/// (element index, row) pairs: which elements of an array to read, and
/// the batch row each belongs to.
type Elems = Vec<(u32, u32)>;

/// `elems` without the elements that are null in, or past the end of, `arr`
/// (indices come from validated offsets and keys; the bound keeps every
/// read below panic-free regardless).
fn valid_elems<'e>(
    arr: &dyn Array,
    elems: &'e [(u32, u32)],
) -> impl Iterator<Item = (usize, u32)> + 'e {
    let nulls = arr.nulls().cloned();
    let len = arr.len();
    elems
        .iter()
        .map(|&(i, row)| (i as usize, row))
        .filter(move |&(i, _)| i < len && nulls.as_ref().is_none_or(|n| n.is_valid(i)))
}

/// The dictionary keys of `elems` as (value index, row); null and negative
/// keys are dropped.
fn dict_elems(keys: &dyn Array, elems: &[(u32, u32)]) -> Elems {
    fn typed<T: ArrowPrimitiveType>(keys: &dyn Array, elems: &[(u32, u32)]) -> Elems
    where
        T::Native: TryInto<u32>,
    {
        let k = keys.as_primitive::<T>();
        valid_elems(keys, elems)
            .filter_map(|(i, row)| Some((k.values().get(i).copied()?.try_into().ok()?, row)))
            .collect()
    }
    match keys.data_type() {
        DataType::Int8 => typed::<Int8Type>(keys, elems),
        DataType::Int16 => typed::<Int16Type>(keys, elems),
        DataType::Int32 => typed::<Int32Type>(keys, elems),
        DataType::Int64 => typed::<Int64Type>(keys, elems),
        DataType::UInt8 => typed::<UInt8Type>(keys, elems),
        DataType::UInt16 => typed::<UInt16Type>(keys, elems),
        DataType::UInt32 => typed::<UInt32Type>(keys, elems),
        DataType::UInt64 => typed::<UInt64Type>(keys, elems),
        _ => Elems::new(),
    }
}

/// The child elements of the list elements `elems`, with their rows.
fn list_children(
    offsets: impl Fn(usize) -> Option<(usize, usize)>,
    arr: &dyn Array,
    elems: &[(u32, u32)],
    g: &mut Gather<'_>,
    mark: bool,
) -> Elems {
    let mut children = Elems::new();
    for (i, row) in valid_elems(arr, elems) {
        if mark {
            g.list_rows.push(row);
        }
        if let Some((a, b)) = offsets(i) {
            children.extend((a..b).map(|j| (j as u32, row)));
        }
    }
    children
}

fn gather_ints<T: ArrowPrimitiveType>(
    arr: &dyn Array,
    elems: &[(u32, u32)],
    g: &mut Gather<'_>,
    write: impl Fn(T::Native, &mut String),
) {
    let a = arr.as_primitive::<T>();
    for (i, row) in valid_elems(arr, elems) {
        if let Some(&v) = a.values().get(i) {
            g.push_with(row, |o| write(v, o));
        }
    }
}

/// `gather` for the elements of the lists `elems` of `arr`.
fn gather_list<'a, O: OffsetSizeTrait>(
    arr: &'a dyn Array,
    elems: &[(u32, u32)],
    strings_only: bool,
    g: &mut Gather<'a>,
) {
    let l = arr.as_list::<O>();
    let offs = l.value_offsets();
    let at = |i: usize| Some((offs.get(i)?.to_usize()?, offs.get(i + 1)?.to_usize()?));
    let children = list_children(at, arr, elems, g, !strings_only);
    gather(l.values().as_ref(), &children, strings_only, g);
}

/// Gather the values of `elems` of `arr`: every supported type as text
/// (`strings_only`: string values only, descending into structs, the
/// keyword view). Lists mark their rows present and multi-valued.
fn gather<'a>(arr: &'a dyn Array, elems: &[(u32, u32)], strings_only: bool, g: &mut Gather<'a>) {
    if elems.is_empty() {
        return;
    }
    match arr.data_type() {
        DataType::Utf8 => {
            let a = arr.as_string::<i32>();
            valid_elems(arr, elems).for_each(|(i, row)| g.push_str(row, a.value(i)));
        }
        DataType::LargeUtf8 => {
            let a = arr.as_string::<i64>();
            valid_elems(arr, elems).for_each(|(i, row)| g.push_str(row, a.value(i)));
        }
        DataType::Utf8View => {
            let a = arr.as_string_view();
            valid_elems(arr, elems).for_each(|(i, row)| g.push_str(row, a.value(i)));
        }
        DataType::Dictionary(_, _) => {
            if let Some(d) = arr.as_any_dictionary_opt() {
                let mapped = dict_elems(d.keys(), elems);
                gather(d.values().as_ref(), &mapped, strings_only, g);
            }
        }
        DataType::List(_) => gather_list::<i32>(arr, elems, strings_only, g),
        DataType::LargeList(_) => gather_list::<i64>(arr, elems, strings_only, g),
        DataType::Struct(_) if strings_only => {
            if let Some(st) = arr.as_any().downcast_ref::<StructArray>() {
                let valid: Elems = valid_elems(arr, elems)
                    .map(|(i, row)| (i as u32, row))
                    .collect();
                for c in st.columns() {
                    gather(c.as_ref(), &valid, strings_only, g);
                }
            }
        }
        _ if strings_only => {}
        DataType::Int8 => gather_ints::<Int8Type>(arr, elems, g, |v, o| write_i64(v.into(), o)),
        DataType::Int16 => gather_ints::<Int16Type>(arr, elems, g, |v, o| write_i64(v.into(), o)),
        DataType::Int32 => gather_ints::<Int32Type>(arr, elems, g, |v, o| write_i64(v.into(), o)),
        DataType::Int64 => gather_ints::<Int64Type>(arr, elems, g, write_i64),
        DataType::UInt8 => gather_ints::<UInt8Type>(arr, elems, g, |v, o| write_u64(v.into(), o)),
        DataType::UInt16 => gather_ints::<UInt16Type>(arr, elems, g, |v, o| write_u64(v.into(), o)),
        DataType::UInt32 => gather_ints::<UInt32Type>(arr, elems, g, |v, o| write_u64(v.into(), o)),
        DataType::UInt64 => gather_ints::<UInt64Type>(arr, elems, g, write_u64),
        DataType::Float32 => {
            gather_ints::<Float32Type>(arr, elems, g, |v, o| write_f64(v.into(), o))
        }
        DataType::Float64 => gather_ints::<Float64Type>(arr, elems, g, write_f64),
        DataType::Boolean => {
            let a = arr.as_boolean();
            valid_elems(arr, elems)
                .for_each(|(i, row)| g.push_str(row, if a.value(i) { "true" } else { "false" }));
        }
        _ => {}
    }
}

/// The non-null rows of top-level column `col` as (element, row) pairs,
/// into `out`; null runs are skipped a word of the bitmap at a time.
fn top_level_elems(col: &dyn Array, out: &mut Elems) {
    out.clear();
    match col.nulls() {
        Some(n) => out.extend(n.valid_indices().map(|r| (r as u32, r as u32))),
        None => out.extend((0..col.len() as u32).map(|r| (r, r))),
    }
}

/// Fill `out` with field `path` of `batch`. Missing field → empty column.
pub fn fill_field<'a>(
    batch: &'a RecordBatch,
    index: &ColumnIndex<'_>,
    path: &str,
    g: &mut Gather<'a>,
    out: &mut BorrowedColumn<'a>,
) -> Result<(), String> {
    let rows = batch.num_rows();
    let res = resolve(batch, index, path);
    for r in &res {
        check_type(r.leaf.data_type()).map_err(|e| format!("field {path:?}: {e}"))?;
    }
    g.clear();
    let mut elems = std::mem::take(&mut g.top);
    for r in &res {
        top_level_elems(r.leaf.as_ref(), &mut elems);
        for a in &r.ancestors {
            elems.retain(|&(i, _)| a.is_valid(i as usize));
        }
        gather(r.leaf.as_ref(), &elems, false, g);
    }
    g.top = elems;
    g.emit(rows, out);
    Ok(())
}

/// Fill `out` with every string value of each row of `batch`.
pub fn fill_keywords<'a>(batch: &'a RecordBatch, g: &mut Gather<'a>, out: &mut BorrowedColumn<'a>) {
    let rows = batch.num_rows();
    g.clear();
    let mut elems = std::mem::take(&mut g.top);
    for c in batch.columns() {
        top_level_elems(c.as_ref(), &mut elems);
        gather(c.as_ref(), &elems, true, g);
    }
    g.top = elems;
    g.emit(rows, out);
}
