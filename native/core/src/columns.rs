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
use arrow_schema::{DataType, Field, Fields, SchemaRef};
use std::sync::Arc;

/// One array that holds a field in batches of a schema: its top-level
/// column, then the child positions down through struct columns, whose
/// nulls hide the leaf.
#[derive(Debug)]
struct ArrayPath {
    column: usize,
    children: Vec<usize>,
}

/// The top-level column a field's paths read whole, if they are one path
/// to a column (no struct children).
fn whole_column(paths: &[ArrayPath]) -> Option<usize> {
    match paths {
        [path] if path.children.is_empty() => Some(path.column),
        _ => None,
    }
}

/// How many schemas a `SchemaCache` keeps resolved.
const SCHEMAS_KEPT: usize = 8;

/// The plan's fields resolved against one schema: for each field, the
/// arrays that hold it in column order (the column named by the field, and
/// struct columns named by a dotted prefix of it), or why it cannot be read.
/// Resolving every plan field by name in every batch was a tenth of the
/// work on a 10-row batch; the batches of a stream share their schema, so
/// the engine resolves it once (`SchemaCache`).
pub struct SchemaFields {
    schema: SchemaRef,
    fields: Vec<Result<Vec<ArrayPath>, String>>,
    /// Per plan field, those of the `carriers` given to `new` that the
    /// schema holds as a whole top-level string column; per column, those
    /// columns. Such a column's values are exactly its field's values, so
    /// the field can take the keyword scan along and the keyword column
    /// need not gather it.
    keyword_fields: Vec<bool>,
    keyword_columns: Vec<bool>,
}

impl SchemaFields {
    /// Resolve each of `paths` (the plan's fields, in plan order) in
    /// `schema`; `carriers(i)`: plan field `i` may carry keyword values.
    fn new(schema: &SchemaRef, paths: &[String], carriers: impl Fn(usize) -> bool) -> SchemaFields {
        let index = NameIndex::new(schema.fields());
        let fields = paths
            .iter()
            .map(|path| {
                let found = resolve(schema.fields(), &index, path);
                for p in &found {
                    if let Some(leaf) = leaf_field(schema.fields(), p) {
                        check_type(leaf.data_type()).map_err(|e| format!("field {path:?}: {e}"))?;
                    }
                }
                Ok(found)
            })
            .collect::<Vec<Result<Vec<ArrayPath>, String>>>();
        let mut keyword_fields = vec![false; fields.len()];
        let mut keyword_columns = vec![false; schema.fields().len()];
        for (i, field) in fields.iter().enumerate() {
            let Some(column) = field.as_deref().ok().and_then(whole_column) else {
                continue;
            };
            let string = schema.fields().get(column).is_some_and(|f| {
                matches!(
                    f.data_type(),
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                )
            });
            if string && carriers(i) {
                if let (Some(f), Some(c)) =
                    (keyword_fields.get_mut(i), keyword_columns.get_mut(column))
                {
                    *f = true;
                    *c = true;
                }
            }
        }
        SchemaFields {
            schema: Arc::clone(schema),
            fields,
            keyword_fields,
            keyword_columns,
        }
    }

    /// Per plan field: whether it carries its keyword values
    /// (`text::BatchView::keyword_fields`).
    pub fn keyword_fields(&self) -> &[bool] {
        &self.keyword_fields
    }

    /// Per column: whether the keyword column leaves it out, its field
    /// carrying its values.
    pub fn keyword_columns(&self) -> &[bool] {
        &self.keyword_columns
    }

    /// Whether batches of `schema` may use this resolution: same fields, in
    /// the same order, of the same types.
    fn describes(&self, schema: &SchemaRef) -> bool {
        Arc::ptr_eq(&self.schema, schema) || self.schema.fields() == schema.fields()
    }
}

/// The resolutions of the last few schemas evaluated (`SCHEMAS_KEPT`, the
/// oldest goes first), so that streams of different schemas can interleave.
#[derive(Default)]
pub struct SchemaCache(Vec<SchemaFields>);

impl SchemaCache {
    /// The plan fields `paths` resolved in `schema`, resolving them now when
    /// no kept schema is equal. Every call must pass the same `paths` and
    /// `carriers` (see `SchemaFields::new`).
    pub fn resolve(
        &mut self,
        schema: &SchemaRef,
        paths: &[String],
        carriers: impl Fn(usize) -> bool,
    ) -> &SchemaFields {
        let at = match self.0.iter().position(|kept| kept.describes(schema)) {
            Some(at) => at,
            None => {
                if self.0.len() >= SCHEMAS_KEPT {
                    self.0.remove(0);
                }
                self.0.push(SchemaFields::new(schema, paths, carriers));
                self.0.len() - 1
            }
        };
        // In bounds: `at` was found in, or just pushed to, the list.
        &self.0[at]
    }
}

/// Top-level field positions by name (names may repeat), so that resolving
/// a plan field costs a few comparisons, not a scan of the schema.
struct NameIndex<'s> {
    /// (name, position), sorted by name; equal names keep column order.
    by_name: Vec<(&'s str, usize)>,
}

impl<'s> NameIndex<'s> {
    fn new(fields: &'s Fields) -> NameIndex<'s> {
        let mut by_name: Vec<(&'s str, usize)> = fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name().as_str(), i))
            .collect();
        by_name.sort_by(|a, b| a.0.cmp(b.0));
        NameIndex { by_name }
    }

    fn get<'q>(&'q self, name: &'q str) -> impl Iterator<Item = usize> + 'q {
        let start = self.by_name.partition_point(|(n, _)| *n < name);
        let tail = self.by_name.get(start..).unwrap_or_default();
        tail.iter()
            .take_while(move |(n, _)| *n == name)
            .map(|&(_, i)| i)
    }
}

/// Every array that holds `path` among top-level `fields`, in column order:
/// the column named `path`, and struct columns named by a dotted prefix.
fn resolve(fields: &Fields, index: &NameIndex<'_>, path: &str) -> Vec<ArrayPath> {
    let mut found: Vec<ArrayPath> = index
        .get(path)
        .map(|column| ArrayPath {
            column,
            children: Vec::new(),
        })
        .collect();
    for (dot, _) in path.match_indices('.') {
        let (prefix, rest) = (&path[..dot], &path[dot + 1..]);
        for column in index.get(prefix) {
            if let Some(DataType::Struct(children)) = fields.get(column).map(|f| f.data_type()) {
                let mut trails = Vec::new();
                resolve_in(children, rest, &mut Vec::new(), &mut trails);
                found.extend(
                    trails
                        .into_iter()
                        .map(|children| ArrayPath { column, children }),
                );
            }
        }
    }
    // Stable: within a column, resolutions keep the order they were found in.
    found.sort_by_key(|p| p.column);
    found
}

/// The child positions of every field under `fields` that holds `path`.
fn resolve_in(fields: &Fields, path: &str, trail: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    for (i, field) in fields.iter().enumerate() {
        let name = field.name().as_str();
        if name == path {
            let mut found = trail.clone();
            found.push(i);
            out.push(found);
        } else if let Some(rest) = path.strip_prefix(name).and_then(|r| r.strip_prefix('.')) {
            if let DataType::Struct(children) = field.data_type() {
                trail.push(i);
                resolve_in(children, rest, trail, out);
                trail.pop();
            }
        }
    }
}

/// The schema field at the end of `path`.
fn leaf_field<'f>(fields: &'f Fields, path: &ArrayPath) -> Option<&'f Field> {
    let mut field = fields.get(path.column)?;
    for &child in &path.children {
        match field.data_type() {
            DataType::Struct(children) => field = children.get(child)?,
            _ => return None,
        }
    }
    Some(field)
}

/// The array at the end of `path` in `batch`, with the struct arrays above
/// it in `ancestors`.
fn follow<'a>(
    batch: &'a RecordBatch,
    path: &ArrayPath,
    ancestors: &mut Vec<&'a ArrayRef>,
) -> Option<&'a ArrayRef> {
    ancestors.clear();
    let mut array = batch.columns().get(path.column)?;
    for &child in &path.children {
        ancestors.push(array);
        array = array.as_struct_opt()?.columns().get(child)?;
    }
    Some(array)
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
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            push_strings(arr, valid_elems(arr, elems), g);
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

/// Push the values at `(index, row)` of string array `arr`; false (and
/// nothing pushed) for other types.
fn push_strings<'a>(
    arr: &'a dyn Array,
    at: impl Iterator<Item = (usize, u32)>,
    g: &mut Gather<'a>,
) -> bool {
    match arr.data_type() {
        DataType::Utf8 => {
            let a = arr.as_string::<i32>();
            at.for_each(|(i, row)| g.push_str(row, a.value(i)));
        }
        DataType::LargeUtf8 => {
            let a = arr.as_string::<i64>();
            at.for_each(|(i, row)| g.push_str(row, a.value(i)));
        }
        DataType::Utf8View => {
            let a = arr.as_string_view();
            at.for_each(|(i, row)| g.push_str(row, a.value(i)));
        }
        _ => return false,
    }
    true
}

/// The values of a top-level string column, straight from its null bitmap
/// (the common Flight input: no element lists to build); false for other
/// types.
fn top_level_strings<'a>(column: &'a dyn Array, g: &mut Gather<'a>) -> bool {
    match column.nulls() {
        Some(nulls) => push_strings(column, nulls.valid_indices().map(|i| (i, i as u32)), g),
        None => push_strings(column, (0..column.len()).map(|i| (i, i as u32)), g),
    }
}

/// Fill `cols` (one per plan field, in plan order) with the fields of
/// `batch`, resolved in its schema by `resolved`. A missing field is an
/// empty column.
pub fn fill_fields<'a>(
    batch: &'a RecordBatch,
    resolved: &SchemaFields,
    g: &mut Gather<'a>,
    cols: &mut [BorrowedColumn<'a>],
) -> Result<(), String> {
    let rows = batch.num_rows();
    let mut ancestors = Vec::new();
    for (field, out) in resolved.fields.iter().zip(cols.iter_mut()) {
        let paths = field.as_ref().map_err(Clone::clone)?;
        g.clear();
        let top = whole_column(paths).and_then(|c| batch.columns().get(c));
        if top.is_some_and(|column| top_level_strings(column.as_ref(), g)) {
            g.emit(rows, out);
            continue;
        }
        let mut elems = std::mem::take(&mut g.top);
        for path in paths {
            let Some(leaf) = follow(batch, path, &mut ancestors) else {
                continue;
            };
            top_level_elems(leaf.as_ref(), &mut elems);
            for a in &ancestors {
                elems.retain(|&(i, _)| a.is_valid(i as usize));
            }
            gather(leaf.as_ref(), &elems, false, g);
        }
        g.top = elems;
        g.emit(rows, out);
    }
    Ok(())
}

/// Fill `out` with every string value of each row of `batch`, but for the
/// columns flagged in `skip`.
pub fn fill_keywords<'a>(
    batch: &'a RecordBatch,
    skip: &[bool],
    g: &mut Gather<'a>,
    out: &mut BorrowedColumn<'a>,
) {
    let rows = batch.num_rows();
    g.clear();
    let mut elems = std::mem::take(&mut g.top);
    for (i, c) in batch.columns().iter().enumerate() {
        if skip.get(i).copied().unwrap_or(false) {
            continue;
        }
        top_level_elems(c.as_ref(), &mut elems);
        gather(c.as_ref(), &elems, true, g);
    }
    g.top = elems;
    g.emit(rows, out);
}
