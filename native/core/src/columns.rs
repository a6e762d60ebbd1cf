//! Arrow columns → `TextColumn`s, the uniform read view the matchers use.
//! A plan field is found in a `RecordBatch` as a top-level column named
//! exactly the dotted path and/or a Struct column path (`a` → child `b`); all
//! resolutions contribute values, as both spellings do on the JSON path.
//! Supported value types: Utf8, LargeUtf8, Utf8View, Int8-64, UInt8-64,
//! Float32/64 (text canon of text.rs; Float32 is widened to f64 first),
//! Boolean, Dictionary<int, any supported>, and List/LargeList of those
//! (multi-valued). Nulls are absent values. Keyword values of an Arrow batch
//! are every string value of every column (strings only, as on the JSON path).
//! Arrays are fully validated before reading, so malformed FFI input gives an
//! error value instead of a panic.

use crate::text::{write_f64, write_i64, write_u64, TextColumn};
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, RecordBatch, StructArray};
use arrow_schema::DataType;

/// One way a field is reached: the leaf array plus struct ancestors whose
/// nulls hide it.
struct Resolved {
    leaf: ArrayRef,
    ancestors: Vec<ArrayRef>,
}

fn resolve_in(
    names: &[&str],
    cols: &[ArrayRef],
    path: &str,
    ancestors: &mut Vec<ArrayRef>,
    out: &mut Vec<Resolved>,
) {
    for (name, col) in names.iter().zip(cols.iter()) {
        if *name == path {
            out.push(Resolved {
                leaf: col.clone(),
                ancestors: ancestors.clone(),
            });
        } else if let Some(rest) = path.strip_prefix(name).and_then(|r| r.strip_prefix('.')) {
            if let Some(st) = col.as_struct_opt() {
                let child_names: Vec<&str> = match st.data_type() {
                    DataType::Struct(fs) => fs.iter().map(|f| f.name().as_str()).collect(),
                    _ => continue,
                };
                ancestors.push(col.clone());
                resolve_in(&child_names, st.columns(), rest, ancestors, out);
                ancestors.pop();
            }
        }
    }
}

/// Find every array that holds `path` in `batch`.
fn resolve(batch: &RecordBatch, path: &str) -> Vec<Resolved> {
    let schema = batch.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let mut out = Vec::new();
    resolve_in(&names, batch.columns(), path, &mut Vec::new(), &mut out);
    out
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

/// The dictionary key at `i` as an index (None for null or negative keys).
fn dict_key(keys: &dyn Array, i: usize) -> Option<usize> {
    if i >= keys.len() || keys.is_null(i) {
        return None;
    }
    let k: i128 = match keys.data_type() {
        DataType::Int8 => keys.as_primitive::<Int8Type>().value(i).into(),
        DataType::Int16 => keys.as_primitive::<Int16Type>().value(i).into(),
        DataType::Int32 => keys.as_primitive::<Int32Type>().value(i).into(),
        DataType::Int64 => keys.as_primitive::<Int64Type>().value(i).into(),
        DataType::UInt8 => keys.as_primitive::<UInt8Type>().value(i).into(),
        DataType::UInt16 => keys.as_primitive::<UInt16Type>().value(i).into(),
        DataType::UInt32 => keys.as_primitive::<UInt32Type>().value(i).into(),
        DataType::UInt64 => keys.as_primitive::<UInt64Type>().value(i).into(),
        _ => return None,
    };
    usize::try_from(k).ok()
}

/// Push element `i` of `arr` (any supported type) as values of `row`.
fn push_element(arr: &dyn Array, i: usize, row: u32, out: &mut TextColumn) {
    if i >= arr.len() || arr.is_null(i) {
        return;
    }
    match arr.data_type() {
        DataType::Utf8 => out.push(row, arr.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => out.push(row, arr.as_string::<i64>().value(i)),
        DataType::Utf8View => out.push(row, arr.as_string_view().value(i)),
        DataType::Int8 => out.push_with(row, |o| {
            write_i64(arr.as_primitive::<Int8Type>().value(i).into(), o)
        }),
        DataType::Int16 => out.push_with(row, |o| {
            write_i64(arr.as_primitive::<Int16Type>().value(i).into(), o)
        }),
        DataType::Int32 => out.push_with(row, |o| {
            write_i64(arr.as_primitive::<Int32Type>().value(i).into(), o)
        }),
        DataType::Int64 => out.push_with(row, |o| {
            write_i64(arr.as_primitive::<Int64Type>().value(i), o)
        }),
        DataType::UInt8 => out.push_with(row, |o| {
            write_u64(arr.as_primitive::<UInt8Type>().value(i).into(), o)
        }),
        DataType::UInt16 => out.push_with(row, |o| {
            write_u64(arr.as_primitive::<UInt16Type>().value(i).into(), o)
        }),
        DataType::UInt32 => out.push_with(row, |o| {
            write_u64(arr.as_primitive::<UInt32Type>().value(i).into(), o)
        }),
        DataType::UInt64 => out.push_with(row, |o| {
            write_u64(arr.as_primitive::<UInt64Type>().value(i), o)
        }),
        DataType::Float32 => out.push_with(row, |o| {
            write_f64(arr.as_primitive::<Float32Type>().value(i).into(), o)
        }),
        DataType::Float64 => out.push_with(row, |o| {
            write_f64(arr.as_primitive::<Float64Type>().value(i), o)
        }),
        DataType::Boolean => out.push(
            row,
            if arr.as_boolean().value(i) {
                "true"
            } else {
                "false"
            },
        ),
        DataType::Dictionary(_, _) => {
            if let Some(d) = arr.as_any_dictionary_opt() {
                if let Some(k) = dict_key(d.keys(), i) {
                    push_element(d.values().as_ref(), k, row, out);
                }
            }
        }
        DataType::List(_) => {
            let l = arr.as_list::<i32>();
            let sub = l.value(i);
            out.mark_multi();
            out.mark_present(row);
            (0..sub.len()).for_each(|j| push_element(sub.as_ref(), j, row, out));
        }
        DataType::LargeList(_) => {
            let l = arr.as_list::<i64>();
            let sub = l.value(i);
            out.mark_multi();
            out.mark_present(row);
            (0..sub.len()).for_each(|j| push_element(sub.as_ref(), j, row, out));
        }
        _ => {}
    }
}

/// Fill `out` with field `path` of `batch`. Missing field → empty column.
pub fn fill_field(batch: &RecordBatch, path: &str, out: &mut TextColumn) -> Result<(), String> {
    let rows = batch.num_rows();
    out.reset(rows);
    let res = resolve(batch, path);
    for r in &res {
        check_type(r.leaf.data_type()).map_err(|e| format!("field {path:?}: {e}"))?;
    }
    for row in 0..rows {
        for r in &res {
            if r.ancestors.iter().any(|a| a.is_null(row)) {
                continue;
            }
            push_element(r.leaf.as_ref(), row, row as u32, out);
        }
    }
    Ok(())
}

/// Push every string value of element `i` of `arr`, recursively.
fn push_strings(arr: &dyn Array, i: usize, row: u32, out: &mut TextColumn) {
    if i >= arr.len() || arr.is_null(i) {
        return;
    }
    match arr.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => push_element(arr, i, row, out),
        DataType::Dictionary(_, _) => {
            if let Some(d) = arr.as_any_dictionary_opt() {
                if let Some(k) = dict_key(d.keys(), i) {
                    push_strings(d.values().as_ref(), k, row, out);
                }
            }
        }
        DataType::List(_) => {
            let sub = arr.as_list::<i32>().value(i);
            (0..sub.len()).for_each(|j| push_strings(sub.as_ref(), j, row, out));
        }
        DataType::LargeList(_) => {
            let sub = arr.as_list::<i64>().value(i);
            (0..sub.len()).for_each(|j| push_strings(sub.as_ref(), j, row, out));
        }
        DataType::Struct(_) => {
            if let Some(st) = arr.as_any().downcast_ref::<StructArray>() {
                for c in st.columns() {
                    push_strings(c.as_ref(), i, row, out);
                }
            }
        }
        _ => {}
    }
}

/// Fill `out` with every string value of each row of `batch`.
pub fn fill_keywords(batch: &RecordBatch, out: &mut TextColumn) {
    let rows = batch.num_rows();
    out.reset(rows);
    for row in 0..rows {
        for c in batch.columns() {
            push_strings(c.as_ref(), row, row as u32, out);
        }
    }
}

/// Validate every column's buffers (offsets, UTF-8, dictionary keys) so the
/// readers above cannot index out of bounds.
pub fn validate(batch: &RecordBatch) -> Result<(), String> {
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        if c.len() != batch.num_rows() {
            return Err(format!("column {:?} length differs from batch", f.name()));
        }
        c.to_data()
            .validate_full()
            .map_err(|e| format!("column {:?}: {e}", f.name()))?;
    }
    Ok(())
}
