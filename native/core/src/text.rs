//! The evaluator's in-memory column formats and the canonical text of scalar
//! values. A column holds the values of one field over one batch as text, in
//! row order (every value of row r comes before any value of row r+1), plus
//! a `present` bitset (the field exists with a non-null value). The JSON path
//! (json.rs) writes `TextColumn`s; the Arrow path (columns.rs) fills
//! `BorrowedColumn`s, whose strings stay in the batch. The evaluator reads
//! both through `ColumnRef`, and both paths write scalars with the same
//! functions, so every matcher sees the same text for the same event.
//! Numbers are written with `write_i64`/`write_u64`/`write_f64` (integers
//! exact; floats as the shortest round-trip digits laid out like
//! JavaScript's `Number#toString`).

use crate::bitset::Bitset;
use crate::plan::{FieldId, PredField};

/// A position in a `TextColumn` to roll back to (`TextColumn::rollback`).
#[derive(Clone, Copy, Debug)]
pub struct ColumnMark {
    values: usize,
    data: usize,
    multi: bool,
}

/// The text values of one field over one batch.
#[derive(Debug, Default, Clone)]
pub struct TextColumn {
    data: String,
    ends: Vec<usize>,
    rows: Vec<u32>,
    present: Bitset,
    multi: bool,
    /// Bit i: value i is also a keyword value (`mark_keyword`). No bit is
    /// set at or past the number of values.
    keyword: Vec<u64>,
}

impl TextColumn {
    /// Clear for a batch of `rows` rows, keeping allocations.
    pub fn reset(&mut self, rows: usize) {
        self.data.clear();
        self.ends.clear();
        self.rows.clear();
        self.present.reset(rows);
        self.multi = false;
        self.keyword.clear();
    }

    /// Append one value of `row`. Rows must be pushed in non-decreasing order.
    #[inline]
    pub fn push(&mut self, row: u32, s: &str) {
        if self.rows.last() == Some(&row) {
            self.multi = true;
        }
        self.data.push_str(s);
        self.ends.push(self.data.len());
        self.rows.push(row);
        self.present.set(row as usize);
    }

    /// Append a value built by `f` writing into the column's buffer.
    #[inline]
    pub fn push_with(&mut self, row: u32, f: impl FnOnce(&mut String)) {
        if self.rows.last() == Some(&row) {
            self.multi = true;
        }
        f(&mut self.data);
        self.ends.push(self.data.len());
        self.rows.push(row);
        self.present.set(row as usize);
    }

    /// The current end, for `rollback`.
    #[inline]
    pub fn mark(&self) -> ColumnMark {
        ColumnMark {
            values: self.ends.len(),
            data: self.data.len(),
            multi: self.multi,
        }
    }

    /// Drop every value pushed since `m` and clear `row`'s present bit. `m`
    /// must be taken before the first push (or `mark_present`) of `row`, and
    /// `row` must be the last row pushed since.
    pub fn rollback(&mut self, m: ColumnMark, row: u32) {
        self.ends.truncate(m.values);
        self.rows.truncate(m.values);
        if m.data <= self.data.len() && self.data.is_char_boundary(m.data) {
            self.data.truncate(m.data);
        }
        self.multi = m.multi;
        self.present.unset(row as usize);
        // Clear the marks of the dropped values: the words past the mark,
        // and the high bits of the word holding it.
        self.keyword.truncate(m.values.div_ceil(64));
        if let (Some(w), 1..) = (self.keyword.get_mut(m.values / 64), m.values % 64) {
            *w &= (1u64 << (m.values % 64)) - 1;
        }
    }

    /// Mark the last value pushed as one of its row's keyword values too
    /// (a string of the event), which the keyword column then leaves out
    /// (`BatchView::keyword_fields`).
    #[inline]
    pub fn mark_keyword(&mut self) {
        let Some(i) = self.ends.len().checked_sub(1) else {
            return;
        };
        if self.keyword.len() <= i / 64 {
            self.keyword.resize(i / 64 + 1, 0);
        }
        if let Some(w) = self.keyword.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }

    /// Whether value `i` was marked a keyword value (`mark_keyword`).
    #[inline]
    pub fn is_keyword(&self, i: usize) -> bool {
        self.keyword
            .get(i / 64)
            .is_some_and(|w| (w >> (i % 64)) & 1 != 0)
    }

    /// Mark the field present in `row` without a value (an empty array).
    pub fn mark_present(&mut self, row: u32) {
        self.present.set(row as usize);
    }

    /// The field held an array (or several values) in some row.
    pub fn mark_multi(&mut self) {
        self.multi = true;
    }

    pub fn is_multi(&self) -> bool {
        self.multi
    }

    pub fn present(&self) -> &Bitset {
        &self.present
    }

    pub fn num_values(&self) -> usize {
        self.ends.len()
    }

    /// Value `i` (in push order) and its row.
    #[inline]
    pub fn value(&self, i: usize) -> Option<(u32, &str)> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { *self.ends.get(i - 1)? };
        let row = *self.rows.get(i)?;
        Some((row, self.data.get(start..end)?))
    }

    /// Every `(row, value)` in row order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &str)> + '_ {
        (0..self.ends.len()).filter_map(move |i| self.value(i))
    }

    /// The value indexes of `row`.
    pub fn row_range(&self, row: u32) -> std::ops::Range<usize> {
        let lo = self.rows.partition_point(|&r| r < row);
        let hi = self.rows.partition_point(|&r| r <= row);
        lo..hi
    }

    /// The values of `row`.
    pub fn row_values(&self, row: u32) -> impl Iterator<Item = &str> + '_ {
        self.row_range(row)
            .filter_map(move |i| self.value(i).map(|(_, s)| s))
    }
}

/// A value of a `BorrowedColumn`: a string of the batch itself, or a scalar
/// written as text into the column's `formatted` buffer (start, end).
#[derive(Clone, Copy, Debug)]
pub enum Text<'a> {
    Batch(&'a str),
    Formatted(u32, u32),
}

/// The Arrow path's column: the values of one field over one batch, like a
/// `TextColumn`, but its strings are read in place from the batch's buffers;
/// only other scalars (numbers, booleans) are written out as text. Values
/// are in row order, as in a `TextColumn`.
#[derive(Debug, Default)]
pub struct BorrowedColumn<'a> {
    /// (row, value), rows non-decreasing.
    values: Vec<(u32, Text<'a>)>,
    formatted: String,
    present: Bitset,
    multi: bool,
}

impl<'a> BorrowedColumn<'a> {
    /// This column emptied, its allocations kept, for a batch of another
    /// lifetime (the engine's scratch outlives every batch).
    pub fn recycle<'b>(self) -> BorrowedColumn<'b> {
        let BorrowedColumn {
            mut values,
            mut formatted,
            present,
            ..
        } = self;
        values.clear();
        formatted.clear();
        BorrowedColumn {
            // Collected in place: the empty vector changes type, not memory.
            values: values
                .into_iter()
                .map(|(row, _)| (row, Text::Formatted(0, 0)))
                .collect(),
            formatted,
            present,
            multi: false,
        }
    }

    /// Replace the contents by `values` (sorted by row; their `Formatted`
    /// ranges index `formatted`) and the rows holding a list (present and
    /// multi-valued even when empty), for a batch of `rows` rows. The
    /// buffers passed in get this column's old ones, cleared, in exchange.
    pub fn fill(
        &mut self,
        rows: usize,
        values: &mut Vec<(u32, Text<'a>)>,
        formatted: &mut String,
        list_rows: &[u32],
    ) {
        self.values.clear();
        self.formatted.clear();
        std::mem::swap(&mut self.values, values);
        std::mem::swap(&mut self.formatted, formatted);
        self.present.reset(rows);
        self.multi = !list_rows.is_empty();
        let mut last = None;
        for &(row, _) in &self.values {
            self.multi |= last == Some(row);
            last = Some(row);
            self.present.set(row as usize);
        }
        for &row in list_rows {
            self.present.set(row as usize);
        }
    }

    #[inline]
    fn value(&self, i: usize) -> Option<(u32, &str)> {
        let &(row, text) = self.values.get(i)?;
        let v = match text {
            Text::Batch(s) => s,
            Text::Formatted(a, b) => self.formatted.get(a as usize..b as usize)?,
        };
        Some((row, v))
    }

    fn row_range(&self, row: u32) -> std::ops::Range<usize> {
        let lo = self.values.partition_point(|&(r, _)| r < row);
        let hi = self.values.partition_point(|&(r, _)| r <= row);
        lo..hi
    }
}

/// One column as the evaluator reads it, whichever path filled it.
#[derive(Clone, Copy, Debug)]
pub enum ColumnRef<'a> {
    Text(&'a TextColumn),
    Borrowed(&'a BorrowedColumn<'a>),
}

impl<'a> ColumnRef<'a> {
    #[inline]
    pub fn num_values(self) -> usize {
        match self {
            ColumnRef::Text(c) => c.num_values(),
            ColumnRef::Borrowed(c) => c.values.len(),
        }
    }

    /// Value `i` (in row order) and its row.
    #[inline]
    pub fn value(self, i: usize) -> Option<(u32, &'a str)> {
        match self {
            ColumnRef::Text(c) => c.value(i),
            ColumnRef::Borrowed(c) => c.value(i),
        }
    }

    pub fn present(self) -> &'a Bitset {
        match self {
            ColumnRef::Text(c) => c.present(),
            ColumnRef::Borrowed(c) => &c.present,
        }
    }

    pub fn is_multi(self) -> bool {
        match self {
            ColumnRef::Text(c) => c.is_multi(),
            ColumnRef::Borrowed(c) => c.multi,
        }
    }

    /// Whether value `i` is a keyword value of its row, when this is the
    /// column of a field flagged in `BatchView::keyword_fields`: in a JSON
    /// batch the strings of the event, not its numbers or booleans; every
    /// value of a flagged Arrow column (a string column read whole).
    #[inline]
    pub fn is_keyword(self, i: usize) -> bool {
        match self {
            ColumnRef::Text(c) => c.is_keyword(i),
            ColumnRef::Borrowed(_) => true,
        }
    }

    /// Every `(row, value)` in row order.
    pub fn iter(self) -> impl Iterator<Item = (u32, &'a str)> {
        (0..self.num_values()).filter_map(move |i| self.value(i))
    }

    /// The value indexes of `row`.
    pub fn row_range(self, row: u32) -> std::ops::Range<usize> {
        match self {
            ColumnRef::Text(c) => c.row_range(row),
            ColumnRef::Borrowed(c) => c.row_range(row),
        }
    }

    /// The values of `row`.
    pub fn row_values(self, row: u32) -> impl Iterator<Item = &'a str> {
        self.row_range(row)
            .filter_map(move |i| self.value(i).map(|(_, s)| s))
    }
}

/// The columns of a batch, one per plan field (indexed by `FieldId`).
#[derive(Clone, Copy, Debug)]
pub enum Columns<'a> {
    Text(&'a [TextColumn]),
    Borrowed(&'a [BorrowedColumn<'a>]),
}

/// What the evaluator reads: a batch of `rows` rows, the rows that may match
/// (`valid`: parsed events, never blank or dead lines), one column per plan
/// field and, when the plan has keyword predicates, the keyword column
/// (every string value of each event).
///
/// Invariant: the keyword values of a row are its values in `keywords` and
/// its keyword values (`ColumnRef::is_keyword`) in the columns of the
/// fields flagged in `keyword_fields`, which `keywords` leaves out: a string
/// that is a field's value need not be gathered, hashed and scanned twice.
/// Only fields `CompiledPlan::carries_keywords` accepts are flagged.
#[derive(Clone, Copy)]
pub struct BatchView<'a> {
    pub rows: usize,
    pub valid: &'a Bitset,
    pub columns: Columns<'a>,
    pub keywords: Option<ColumnRef<'a>>,
    /// Per plan field (by index; missing = false).
    pub keyword_fields: &'a [bool],
}

impl<'a> BatchView<'a> {
    pub fn column(&self, f: PredField) -> Option<ColumnRef<'a>> {
        match f {
            PredField::Keyword => self.keywords,
            PredField::Field(FieldId(i)) => self.field(i as usize),
        }
    }

    /// Whether plan field `i`'s values are keyword values left out of `keywords`.
    pub fn carries_keywords(&self, i: usize) -> bool {
        self.keyword_fields.get(i).copied().unwrap_or(false)
    }

    /// The keyword values of `row` (see the invariant).
    pub fn keyword_values(&self, row: u32) -> impl Iterator<Item = &'a str> + '_ {
        let own = self
            .keywords
            .into_iter()
            .flat_map(move |c| c.row_values(row));
        let carried = (0..self.keyword_fields.len())
            .filter(|&i| self.carries_keywords(i))
            .filter_map(|i| self.field(i))
            .flat_map(move |c| {
                c.row_range(row)
                    .filter(move |&i| c.is_keyword(i))
                    .filter_map(move |i| c.value(i).map(|(_, v)| v))
            });
        own.chain(carried)
    }

    /// The column of plan field `i`.
    pub fn field(&self, i: usize) -> Option<ColumnRef<'a>> {
        match self.columns {
            Columns::Text(c) => c.get(i).map(ColumnRef::Text),
            Columns::Borrowed(c) => c.get(i).map(ColumnRef::Borrowed),
        }
    }
}

pub fn write_i64(v: i64, out: &mut String) {
    let mut b = itoa::Buffer::new();
    out.push_str(b.format(v));
}

pub fn write_u64(v: u64, out: &mut String) {
    let mut b = itoa::Buffer::new();
    out.push_str(b.format(v));
}

/// Shortest round-trip digits, laid out as JavaScript's `Number#toString`:
/// `1` for 1.0, `0.5`, `1e+21`, `1.5e-7`, `NaN`, `Infinity`.
pub fn write_f64(v: f64, out: &mut String) {
    use std::fmt::Write;
    if v.is_nan() {
        out.push_str("NaN");
        return;
    }
    if v.is_infinite() {
        out.push_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    if v == 0.0 {
        out.push('0');
        return;
    }
    let mut tmp = String::with_capacity(32);
    let _ = write!(tmp, "{:e}", v.abs());
    let (mant, exp) = tmp.split_once('e').unwrap_or((tmp.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let k = digits.len() as i32;
    let n = exp + 1;
    if v < 0.0 {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(&digits);
        (0..n - k).for_each(|_| out.push('0'));
    } else if 0 < n && n <= 21 {
        let (a, b) = digits.split_at(n as usize);
        out.push_str(a);
        out.push('.');
        out.push_str(b);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        (0..-n).for_each(|_| out.push('0'));
        out.push_str(&digits);
    } else {
        let (a, b) = digits.split_at(1);
        out.push_str(a);
        if !b.is_empty() {
            out.push('.');
            out.push_str(b);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        let _ = write!(out, "{}", (n - 1).abs());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: f64) -> String {
        let mut s = String::new();
        write_f64(v, &mut s);
        s
    }

    #[test]
    fn float_canon() {
        assert_eq!(f(1.0), "1");
        assert_eq!(f(-2.5), "-2.5");
        assert_eq!(f(0.1), "0.1");
        assert_eq!(f(1e21), "1e+21");
        assert_eq!(f(1e20), "100000000000000000000");
        assert_eq!(f(1.5e-7), "1.5e-7");
        assert_eq!(f(0.000001), "0.000001");
        assert_eq!(f(123.456), "123.456");
        assert_eq!(f(1.8446744073709552e19), "18446744073709552000");
        assert_eq!(f(-0.0), "0");
    }

    #[test]
    fn column_rows() {
        let mut c = TextColumn::default();
        c.reset(5);
        c.push(1, "a");
        c.push(3, "b");
        c.push(3, "c");
        assert!(c.is_multi());
        assert_eq!(c.row_values(3).collect::<Vec<_>>(), vec!["b", "c"]);
        assert_eq!(c.row_values(2).count(), 0);
        assert!(c.present().get(1) && !c.present().get(0));
    }

    #[test]
    fn borrowed_column_reads_batch_text_and_formatted_scalars() {
        let batch_text = String::from("abc");
        let mut values = vec![
            (0, Text::Batch(&batch_text[..1])),
            (2, Text::Formatted(0, 2)),
            (2, Text::Batch(&batch_text[1..])),
        ];
        let mut formatted = String::from("42");
        let mut c = BorrowedColumn::default();
        c.fill(4, &mut values, &mut formatted, &[3]);
        assert!(values.is_empty() && formatted.is_empty());
        let col = ColumnRef::Borrowed(&c);
        assert_eq!(col.num_values(), 3);
        assert_eq!(col.value(1), Some((2, "42")));
        assert_eq!(col.row_values(2).collect::<Vec<_>>(), vec!["42", "bc"]);
        assert_eq!(col.row_values(1).count(), 0);
        assert!(col.is_multi());
        // Row 3 holds an empty list: present, without values.
        let present: Vec<bool> = (0..4).map(|r| col.present().get(r)).collect();
        assert_eq!(present, vec![true, false, true, true]);
        let again: BorrowedColumn<'static> = c.recycle();
        assert_eq!(ColumnRef::Borrowed(&again).num_values(), 0);
        assert!(!ColumnRef::Borrowed(&again).is_multi());
    }

    #[test]
    fn rollback_keeps_the_keyword_marks_of_earlier_values_only() {
        let cases = [(100, 40), (64, 63), (70, 69), (5, 3)];
        for ((kept, marked), rolled_back_marked) in
            cases.into_iter().flat_map(|c| [(c, false), (c, true)])
        {
            let mut c = TextColumn::default();
            c.reset(200);
            for i in 0..kept {
                c.push(i as u32, "v");
                if i <= marked && i % 2 == 1 {
                    c.mark_keyword();
                }
            }
            let m = c.mark();
            for _ in 0..70 {
                c.push(kept as u32, "w");
                if rolled_back_marked {
                    c.mark_keyword();
                }
            }
            c.rollback(m, kept as u32);
            c.push(kept as u32, "x");
            let marks: Vec<usize> = (0..=kept).filter(|&i| c.is_keyword(i)).collect();
            let want: Vec<usize> = (0..kept).filter(|&i| i <= marked && i % 2 == 1).collect();
            assert_eq!(marks, want, "{kept} values kept, marked up to {marked}");
        }
    }
}
