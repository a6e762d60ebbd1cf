/**
 * Match record batches: the Arrow form of the match record (DESIGN.md
 * "Records") that Flight replies, the DoGet ring and the Flight sink carry.
 * Columns: rule_id, rule_title, rule_level, rule_tags (list<utf8>), row
 * (uint32, the event's row in its input batch), then the event itself: the
 * input batch's own columns taken at the matched rows when the input was
 * Arrow, or one `event` Utf8 column of JSON text otherwise. An event column
 * whose name collides with a match column is renamed `event.<name>`.
 *
 * `take` is done with apache-arrow builders, one value at a time. Matches are
 * a small share of events, so this stays off the hot path; a Rust-side take
 * through the C Data Interface is the upgrade if that ever changes.
 */

import {
  Field,
  List,
  RecordBatch,
  Schema,
  Struct,
  Uint32,
  Utf8,
  makeData,
  vectorFromArray,
  type Data,
  type DataType,
} from "apache-arrow";
import type { EvalResult } from "../io/result.ts";

const RULE_FIELDS = [
  new Field("rule_id", new Utf8(), false),
  new Field("rule_title", new Utf8(), false),
  new Field("rule_level", new Utf8(), true),
  new Field("rule_tags", new List(new Field("item", new Utf8(), true)), false),
  new Field("row", new Uint32(), false),
];

const RESERVED = new Set(RULE_FIELDS.map((f) => f.name));

function eventFields(input: Schema | null): Field[] {
  if (input === null) return [new Field("event", new Utf8(), true)];
  return input.fields.map((f) => (RESERVED.has(f.name) ? new Field(`event.${f.name}`, f.type, true, f.metadata) : new Field(f.name, f.type, true, f.metadata)));
}

/** The schema of the match batches produced for inputs of schema `input` (null: JSON input). */
export function matchSchema(input: Schema | null): Schema {
  return new Schema([...RULE_FIELDS, ...eventFields(input)]);
}

function column(values: unknown[], type: DataType): Data {
  const vector = vectorFromArray(values, type);
  const data = vector.data[0];
  if (data !== undefined && vector.data.length === 1) return data;
  // Builders may chunk long columns; a record batch needs one contiguous chunk.
  return makeData({ type, length: 0, nullCount: 0 }) as Data;
}

/**
 * The match batch of one evaluated batch. `input` is the input RecordBatch
 * when the batch arrived as Arrow (its columns are taken at the match rows).
 */
export function matchBatch(result: EvalResult, input: RecordBatch | null): RecordBatch {
  const schema = matchSchema(input === null ? null : input.schema);
  const n = result.matchRows.length;
  const ids: string[] = new Array<string>(n);
  const titles: string[] = new Array<string>(n);
  const levels: (string | null)[] = new Array<string | null>(n);
  const tags: string[][] = new Array<string[]>(n);
  for (let i = 0; i < n; i++) {
    const rule = result.rules[result.matchRules[i] ?? 0];
    ids[i] = rule?.id ?? "";
    titles[i] = rule?.title ?? "";
    levels[i] = rule?.level ?? null;
    tags[i] = rule?.tags ?? [];
  }
  const rows = Array.from(result.matchRows);
  const children: Data[] = [
    column(ids, new Utf8()),
    column(titles, new Utf8()),
    column(levels, new Utf8()),
    column(tags, (RULE_FIELDS[3] as Field).type),
    makeData({ type: new Uint32(), length: n, nullCount: 0, data: Uint32Array.from(result.matchRows) }),
  ];
  if (input === null) {
    children.push(column(rows.map((r) => result.eventJson(r)), new Utf8()));
  } else {
    input.schema.fields.forEach((field, i) => {
      const source = input.getChildAt(i);
      children.push(column(rows.map((r) => source?.get(r) ?? null), field.type));
    });
  }
  const fixed = children.map((data, i) => (data.length === n ? data : column(new Array<null>(n).fill(null), (schema.fields[i] as Field).type)));
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children: fixed }));
}
