//! The JSON path's columns as Arrow: parses an NDJSON chunk with the
//! engine's own parser and turns each field's text column into a Utf8 array,
//! or a `List<Utf8>` array when some row holds several values. Used where JS
//! needs the JSON path's columns as Arrow (Flight output, the equality tests
//! between the JSON and the Arrow path).

use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, Field, Schema};
use sigma_core::json::{FieldIndex, JsonBatch, JsonLimits, JsonParser};
use sigma_core::text::TextColumn;

/// Limits for ad-hoc conversion: generous, as the engine's own limits apply on the evaluation path.
const LIMITS: JsonLimits = JsonLimits {
    max_event_bytes: 64 << 20,
    max_depth: 1000,
    keywords: false,
};

fn column_array(column: &TextColumn, rows: usize) -> ArrayRef {
    if column.is_multi() {
        let mut builder = ListBuilder::new(StringBuilder::new());
        for row in 0..rows as u32 {
            if column.present().get(row as usize) {
                for value in column.row_values(row) {
                    builder.values().append_value(value);
                }
                builder.append(true);
            } else {
                builder.append(false);
            }
        }
        Arc::new(builder.finish())
    } else {
        let mut builder = StringBuilder::new();
        for row in 0..rows as u32 {
            match column.row_values(row).next() {
                Some(value) => builder.append_value(value),
                None => builder.append_null(),
            }
        }
        Arc::new(builder.finish())
    }
}

pub fn to_record_batch(chunk: &[u8], fields: &[String]) -> Result<RecordBatch, ArrowError> {
    let index = FieldIndex::new(fields);
    let mut parser = JsonParser::default();
    let mut batch = JsonBatch::default();
    parser.parse_chunk(&index, LIMITS, chunk, &mut batch);
    let arrays: Vec<ArrayRef> = batch
        .columns
        .iter()
        .map(|c| column_array(c, batch.rows))
        .collect();
    let schema_fields: Vec<Field> = fields
        .iter()
        .zip(&arrays)
        .map(|(name, array)| Field::new(name, array.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(schema_fields)), arrays)
}
