//! Match batches: the Arrow form of match records (DESIGN.md "Records") that
//! Flight replies, the DoGet ring and the Flight sink carry, built here so
//! that no per-match work runs in JS (src/flight/matches.ts documents the
//! columns and is the only caller).
//!
//! Columns: `rule_id`, `rule_title`, `rule_level` (nullable), `rule_tags`
//! (`list<utf8>`), `row` (uint32, the event's row in its input batch), then the
//! event: every column of an Arrow input taken at the matched rows, or one
//! `event` Utf8 column holding the JSON line of each matched row. An event
//! column whose name is a match column's is renamed `event.<name>`.
//!
//! A match batch leaves encoded as one IPC RecordBatch message (`encode`):
//! what Flight's data_header and data_body carry, so JS only frames it. The
//! stream's schema message comes from the TS side (matchSchema), so a batch
//! must have exactly the buffers that schema implies: dictionary-encoded
//! event columns are decoded to their value type (the TS schema says so
//! too), and a dictionary nested inside another type is refused.
//!
//! Invariants: row `i` of a match batch is match `i` of the evaluation (the
//! order of `rows`/`rules`); a rule index past the table gives an empty id
//! and title, a null level and no tags, rather than an error, so that a
//! result from an older rule table still renders.

use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::{ArrayRef, RecordBatch, StringArray, UInt32Array};
use arrow_ipc::writer::{DictionaryTracker, IpcDataGenerator, IpcWriteContext, IpcWriteOptions};
use arrow_ipc::MetadataVersion;
use arrow_schema::{ArrowError, DataType, Field, Schema};
use arrow_select::take::{take, TakeOptions};

/// The match columns that come before the event's own.
const RULE_COLUMNS: [&str; 5] = ["rule_id", "rule_title", "rule_level", "rule_tags", "row"];

/// What a match row says about its rule, indexed like match rule ids.
#[derive(Debug, Default, serde::Deserialize)]
pub struct RuleTable {
    rules: Vec<RuleColumns>,
}

#[derive(Debug, serde::Deserialize)]
pub struct RuleColumns {
    id: String,
    title: String,
    level: Option<String>,
    tags: Vec<String>,
}

impl RuleTable {
    /// Parses `[{id, title, level, tags}, ...]`, extra keys ignored.
    pub fn from_json(json: &str) -> Result<RuleTable, serde_json::Error> {
        Ok(RuleTable {
            rules: serde_json::from_str(json)?,
        })
    }

    fn rule_arrays(&self, rows: &[u32], rules: &[u32]) -> Vec<ArrayRef> {
        let n = rules.len();
        let mut ids = StringBuilder::with_capacity(n, n * 36);
        let mut titles = StringBuilder::with_capacity(n, n * 48);
        let mut levels = StringBuilder::with_capacity(n, n * 8);
        let mut tags = ListBuilder::new(StringBuilder::new());
        for &rule in rules {
            match self.rules.get(rule as usize) {
                Some(r) => {
                    ids.append_value(&r.id);
                    titles.append_value(&r.title);
                    levels.append_option(r.level.as_deref());
                    for tag in &r.tags {
                        tags.values().append_value(tag);
                    }
                }
                None => {
                    ids.append_value("");
                    titles.append_value("");
                    levels.append_null();
                }
            }
            tags.append(true);
        }
        vec![
            Arc::new(ids.finish()),
            Arc::new(titles.finish()),
            Arc::new(levels.finish()),
            Arc::new(tags.finish()),
            Arc::new(UInt32Array::from(rows.to_vec())),
        ]
    }
}

fn rule_fields() -> Vec<Field> {
    vec![
        Field::new(RULE_COLUMNS[0], DataType::Utf8, false),
        Field::new(RULE_COLUMNS[1], DataType::Utf8, false),
        Field::new(RULE_COLUMNS[2], DataType::Utf8, true),
        Field::new(
            RULE_COLUMNS[3],
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            false,
        ),
        Field::new(RULE_COLUMNS[4], DataType::UInt32, false),
    ]
}

fn event_field(field: &Field, data_type: &DataType) -> Field {
    let name = if RULE_COLUMNS.contains(&field.name().as_str()) {
        format!("event.{}", field.name())
    } else {
        field.name().clone()
    };
    Field::new(name, data_type.clone(), true).with_metadata(field.metadata().clone())
}

fn has_dictionary(data_type: &DataType) -> bool {
    match data_type {
        DataType::Dictionary(_, _) => true,
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::FixedSizeList(f, _)
        | DataType::Map(f, _) => has_dictionary(f.data_type()),
        DataType::Struct(fields) => fields.iter().any(|f| has_dictionary(f.data_type())),
        _ => false,
    }
}

const CHECKED: Option<TakeOptions> = Some(TakeOptions { check_bounds: true });

/// `column` at `indices`, a top-level dictionary decoded to its values.
fn take_decoded(
    name: &str,
    column: &ArrayRef,
    indices: &UInt32Array,
) -> Result<ArrayRef, ArrowError> {
    // Bounds-checked: a row past the input is an error, never a read (unchecked `take` panics).
    let taken = take(column.as_ref(), indices, CHECKED)?;
    let decoded = match taken.as_any_dictionary_opt() {
        Some(dictionary) => take(dictionary.values().as_ref(), dictionary.keys(), CHECKED)?,
        None => taken,
    };
    if has_dictionary(decoded.data_type()) {
        return Err(ArrowError::NotYetImplemented(format!(
            "column {name}: a dictionary inside {} cannot go into a match batch",
            column.data_type()
        )));
    }
    Ok(decoded)
}

fn check_lengths(rows: &[u32], rules: &[u32]) -> Result<(), ArrowError> {
    if rows.len() == rules.len() {
        Ok(())
    } else {
        Err(ArrowError::InvalidArgumentError(format!(
            "{} match rows but {} match rules",
            rows.len(),
            rules.len()
        )))
    }
}

/// The match batch of an Arrow input: its columns taken at `rows`.
pub fn from_record_batch(
    table: &RuleTable,
    input: &RecordBatch,
    rows: &[u32],
    rules: &[u32],
) -> Result<RecordBatch, ArrowError> {
    check_lengths(rows, rules)?;
    let indices = UInt32Array::from(rows.to_vec());
    let mut fields = rule_fields();
    let mut columns = table.rule_arrays(rows, rules);
    for (field, column) in input.schema().fields().iter().zip(input.columns()) {
        let taken = take_decoded(field.name(), column, &indices)?;
        fields.push(event_field(field, taken.data_type()));
        columns.push(taken);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

/// A batch as one IPC RecordBatch message.
pub struct EncodedBatch {
    /// The Message flatbuffer (Flight's data_header).
    pub header: Vec<u8>,
    /// The message body (Flight's data_body), buffers 8-byte aligned.
    pub body: Vec<u8>,
}

/// Encodes a match batch; it has no dictionaries (see the module invariants).
pub fn encode(batch: &RecordBatch) -> Result<EncodedBatch, ArrowError> {
    let options = IpcWriteOptions::try_new(8, false, MetadataVersion::V5)?;
    let mut tracker = DictionaryTracker::new(false);
    let (dictionaries, encoded) = IpcDataGenerator::default().encode(
        batch,
        &mut tracker,
        &options,
        &mut IpcWriteContext::default(),
    )?;
    if !dictionaries.is_empty() {
        return Err(ArrowError::InvalidArgumentError(
            "a match batch carries no dictionaries".into(),
        ));
    }
    Ok(EncodedBatch {
        header: encoded.ipc_message,
        body: encoded.arrow_data,
    })
}

/// The match batch of an NDJSON input: `event` is line `row` of `chunk`
/// (`line_offsets[row]..line_offsets[row + 1]`) less its line break.
pub fn from_json_lines(
    table: &RuleTable,
    chunk: &[u8],
    line_offsets: &[u32],
    rows: &[u32],
    rules: &[u32],
) -> Result<RecordBatch, ArrowError> {
    check_lengths(rows, rules)?;
    let mut events = StringBuilder::with_capacity(rows.len(), 0);
    for &row in rows {
        let line = line_offsets
            .get(row as usize)
            .and_then(|&start| {
                let end = line_offsets
                    .get(row as usize + 1)
                    .map_or(chunk.len(), |&e| e as usize);
                chunk.get(start as usize..end)
            })
            .ok_or_else(|| {
                ArrowError::InvalidArgumentError(format!(
                    "match row {row} is not a line of the chunk"
                ))
            })?;
        let trimmed = line.strip_suffix(b"\n").unwrap_or(line);
        let trimmed = trimmed.strip_suffix(b"\r").unwrap_or(trimmed);
        // Matched lines parsed as JSON, so they are UTF-8; lossy keeps a bad byte from failing the batch.
        events.append_value(String::from_utf8_lossy(trimmed));
    }
    let events: StringArray = events.finish();
    let mut fields = rule_fields();
    fields.push(Field::new("event", DataType::Utf8, true));
    let mut columns = table.rule_arrays(rows, rules);
    columns.push(Arc::new(events));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Array, Int32Array, ListArray};

    fn table() -> RuleTable {
        RuleTable::from_json(
            r#"[{"id":"r-1","title":"Evil","level":"high","tags":["a","b"],"path":"x"},
                {"id":"r-2","title":"Ünï","level":null,"tags":[]}]"#,
        )
        .expect("rule table")
    }

    fn strings(batch: &RecordBatch, column: usize) -> Vec<Option<String>> {
        let array = batch
            .column(column)
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("utf8 column");
        (0..array.len())
            .map(|i| array.is_valid(i).then(|| array.value(i).to_string()))
            .collect()
    }

    #[test]
    fn takes_event_columns_and_renames_collisions() {
        let schema = Schema::new(vec![
            Field::new("CommandLine", DataType::Utf8, true),
            Field::new("row", DataType::Int32, true),
        ]);
        let input = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from(vec![Some("a"), None, Some("c")])),
                Arc::new(Int32Array::from(vec![10, 11, 12])),
            ],
        )
        .expect("input");
        let batch =
            from_record_batch(&table(), &input, &[0, 0, 2, 1], &[0, 1, 1, 9]).expect("batch");
        let names: Vec<_> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(
            names,
            [
                "rule_id",
                "rule_title",
                "rule_level",
                "rule_tags",
                "row",
                "CommandLine",
                "event.row"
            ]
        );
        assert_eq!(
            strings(&batch, 0),
            [Some("r-1"), Some("r-2"), Some("r-2"), Some("")].map(|s| s.map(String::from))
        );
        assert_eq!(
            strings(&batch, 2),
            [Some("high"), None, None, None].map(|s| s.map(String::from))
        );
        assert_eq!(
            strings(&batch, 5),
            [Some("a"), Some("a"), Some("c"), None].map(|s| s.map(String::from))
        );
        let tags = batch
            .column(3)
            .as_any()
            .downcast_ref::<ListArray>()
            .expect("list");
        assert_eq!(tags.value_length(0), 2);
        assert_eq!(tags.value_length(1), 0);
        let pids = batch
            .column(6)
            .as_any()
            .downcast_ref::<Int32Array>()
            .expect("int32");
        assert_eq!(pids.values().to_vec(), [10, 10, 12, 11]);
    }

    #[test]
    fn dictionary_columns_come_out_decoded() {
        use arrow_array::types::Int8Type;
        use arrow_array::DictionaryArray;
        let dictionary: DictionaryArray<Int8Type> =
            vec![Some("x"), None, Some("y")].into_iter().collect();
        let schema = Schema::new(vec![Field::new(
            "Image",
            dictionary.data_type().clone(),
            true,
        )]);
        let input =
            RecordBatch::try_new(Arc::new(schema), vec![Arc::new(dictionary)]).expect("input");
        let batch = from_record_batch(&table(), &input, &[2, 1, 0], &[0, 0, 0]).expect("batch");
        assert_eq!(batch.schema().field(5).data_type(), &DataType::Utf8);
        assert_eq!(
            strings(&batch, 5),
            [Some("y"), None, Some("x")].map(|s| s.map(String::from))
        );
        let encoded = encode(&batch).expect("encoded");
        assert!(!encoded.header.is_empty() && encoded.body.len().is_multiple_of(8));
    }

    #[test]
    fn a_row_past_the_input_is_an_error() {
        let input = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("a", DataType::Utf8, true)])),
            vec![Arc::new(StringArray::from(vec!["x"]))],
        )
        .expect("input");
        assert!(from_record_batch(&table(), &input, &[3], &[0]).is_err());
        assert!(from_record_batch(&table(), &input, &[0, 0], &[0]).is_err());
    }

    #[test]
    fn json_lines_lose_their_line_breaks() {
        let chunk = b"{\"a\":1}\r\n\n{\"b\":2}";
        let batch = from_json_lines(&table(), chunk, &[0, 9, 10], &[0, 2], &[1, 0]).expect("batch");
        assert_eq!(
            strings(&batch, 5),
            [Some("{\"a\":1}"), Some("{\"b\":2}")].map(|s| s.map(String::from))
        );
        assert!(from_json_lines(&table(), chunk, &[0, 9, 10], &[3], &[0]).is_err());
    }
}
