/**
 * Match record batches: the Arrow form of the match record (DESIGN.md
 * "Records") that Flight replies, the DoGet ring and the Flight sink carry.
 * Columns: rule_id, rule_title, rule_level, rule_tags (list<utf8>), row
 * (uint32, the event's row in its input batch), then the event itself: the
 * input batch's own columns taken at the matched rows when the input was
 * Arrow, or one `event` Utf8 column of JSON text otherwise. An event column
 * whose name collides with a match column is renamed `event.<name>`.
 *
 * `take` copies byte ranges straight into new buffers for Utf8/Binary and
 * fixed-width columns (the builders cost ~0.3 µs a value, which capped DoPut
 * at ~2,500 events/s on attack-heavy data with hundreds of columns); other
 * types go through apache-arrow builders, one value at a time.
 */

import {
  DataType,
  Field,
  Type,
  List,
  RecordBatch,
  Schema,
  Struct,
  Uint32,
  Utf8,
  makeData,
  vectorFromArray,
  type Data,
} from "apache-arrow";
import type { EvalResult, RuleMeta } from "../io/result.ts";
import { batchBytes, type RingEntry } from "./ring.ts";

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

function takeBitmap(source: Data, rows: Uint32Array): { bitmap: Uint8Array | undefined; nulls: number } {
  if (source.nullCount === 0) return { bitmap: undefined, nulls: 0 };
  const bitmap = new Uint8Array((rows.length + 7) >> 3);
  const valid = source.nullBitmap as Uint8Array;
  let nulls = 0;
  for (let i = 0; i < rows.length; i++) {
    const at = source.offset + (rows[i] as number);
    if ((((valid[at >> 3] as number) >> (at & 7)) & 1) === 1) bitmap[i >> 3] = (bitmap[i >> 3] as number) | (1 << (i & 7));
    else nulls++;
  }
  return { bitmap, nulls };
}

/**
 * `length` nulls of `source`'s type, or null when the type needs builders.
 * A wide event batch is mostly columns that no event of the batch has (one
 * log source's ~50 fields of 365): gathering those row by row was most of the
 * cost of a match batch.
 */
function allNull(source: Data, length: number): Data | null {
  const type = source.type;
  const nullBitmap = new Uint8Array((length + 7) >> 3);
  if (type.typeId === Type.Utf8 || type.typeId === Type.Binary) {
    return makeData({ type: type as Utf8, length, nullCount: length, nullBitmap, valueOffsets: new Int32Array(length + 1), data: new Uint8Array(0) }) as Data;
  }
  if ((DataType.isInt(type) || DataType.isFloat(type) || DataType.isTimestamp(type)) && source.stride >= 1) {
    const values = source.values as unknown as { constructor: new (n: number) => unknown };
    return makeData({ type: type as never, length, nullCount: length, nullBitmap, data: new values.constructor(length * source.stride) as never }) as Data;
  }
  return null;
}

/** Values up to this long are copied byte by byte rather than through a subarray view. */
const SHORT_VALUE_BYTES = 32;

/** Gathers `rows` of one single-chunk column without per-value objects, or null when the type needs builders. */
function fastTake(source: Data, rows: Uint32Array): Data | null {
  const type = source.type;
  if (source.length > 0 && source.nullCount === source.length) return allNull(source, rows.length);
  const { bitmap, nulls } = takeBitmap(source, rows);
  if (type.typeId === Type.Utf8 || type.typeId === Type.Binary) {
    const offsets = source.valueOffsets as Int32Array;
    const values = source.values as Uint8Array;
    const base = source.offset;
    const outOffsets = new Int32Array(rows.length + 1);
    let size = 0;
    for (let i = 0; i < rows.length; i++) {
      const r = base + (rows[i] as number);
      size += (offsets[r + 1] as number) - (offsets[r] as number);
      outOffsets[i + 1] = size;
    }
    const out = new Uint8Array(size);
    for (let i = 0; i < rows.length; i++) {
      const r = base + (rows[i] as number);
      const start = offsets[r] as number;
      const length = (offsets[r + 1] as number) - start;
      const at = outOffsets[i] as number;
      // Most cells of a wide event batch are null or short: a subarray view per
      // cell cost more than the copy itself (~36% of DoPut time, 365 columns).
      if (length > SHORT_VALUE_BYTES) out.set(values.subarray(start, start + length), at);
      else for (let j = 0; j < length; j++) out[at + j] = values[start + j] as number;
    }
    return makeData({ type: type as Utf8, length: rows.length, nullCount: nulls, nullBitmap: bitmap, valueOffsets: outOffsets, data: out }) as Data;
  }
  if ((DataType.isInt(type) || DataType.isFloat(type) || DataType.isTimestamp(type)) && source.stride >= 1) {
    const values = source.values as unknown as { subarray(a: number, b: number): ArrayLike<number | bigint>; constructor: new (n: number) => { set(a: ArrayLike<number | bigint>, o: number): void } };
    const stride = source.stride;
    const out = new values.constructor(rows.length * stride);
    for (let i = 0; i < rows.length; i++) {
      const r = (source.offset + (rows[i] as number)) * stride;
      out.set(values.subarray(r, r + stride), i * stride);
    }
    return makeData({ type: type as never, length: rows.length, nullCount: nulls, nullBitmap: bitmap, data: out as never }) as Data;
  }
  return null;
}

/** A rule's match-record columns as UTF-8, encoded once per rule rather than once per match. */
interface EncodedRule {
  id: Uint8Array;
  title: Uint8Array;
  level: Uint8Array | null;
  tags: Uint8Array[];
}

const utf8Encoder = new TextEncoder();
const encodedRules = new WeakMap<RuleMeta, EncodedRule>();
const UNKNOWN_RULE: EncodedRule = { id: new Uint8Array(0), title: new Uint8Array(0), level: null, tags: [] };

function encodedRule(rule: RuleMeta | undefined): EncodedRule {
  if (rule === undefined) return UNKNOWN_RULE;
  let encoded = encodedRules.get(rule);
  if (encoded === undefined) {
    encoded = {
      id: utf8Encoder.encode(rule.id),
      title: utf8Encoder.encode(rule.title),
      level: rule.level === null ? null : utf8Encoder.encode(rule.level),
      tags: rule.tags.map((tag) => utf8Encoder.encode(tag)),
    };
    encodedRules.set(rule, encoded);
  }
  return encoded;
}

/**
 * A Utf8 column from encoded values, buffers laid out directly: apache-arrow's
 * builders took ~7 ms per 1,000-event DoExchange batch for the four rule columns.
 */
function utf8Data(values: readonly (Uint8Array | null)[]): Data {
  const count = values.length;
  const offsets = new Int32Array(count + 1);
  let size = 0;
  let nulls = 0;
  for (let i = 0; i < count; i++) {
    const value = values[i];
    if (value === null || value === undefined) nulls++;
    else size += value.byteLength;
    offsets[i + 1] = size;
  }
  const bytes = new Uint8Array(size);
  let bitmap: Uint8Array | undefined;
  if (nulls > 0) bitmap = new Uint8Array((count + 7) >> 3);
  for (let i = 0; i < count; i++) {
    const value = values[i];
    if (value === null || value === undefined) continue;
    bytes.set(value, offsets[i] as number);
    if (bitmap !== undefined) bitmap[i >> 3] = (bitmap[i >> 3] as number) | (1 << (i & 7));
  }
  return makeData({ type: new Utf8(), length: count, nullCount: nulls, nullBitmap: bitmap, valueOffsets: offsets, data: bytes }) as Data;
}

/** The rule_tags column: each match's rule tags as a list<utf8>. */
function tagsData(rules: readonly EncodedRule[]): Data {
  const offsets = new Int32Array(rules.length + 1);
  const items: Uint8Array[] = [];
  for (let i = 0; i < rules.length; i++) {
    for (const tag of (rules[i] as EncodedRule).tags) items.push(tag);
    offsets[i + 1] = items.length;
  }
  const type = (RULE_FIELDS[3] as Field).type as List<Utf8>;
  return makeData({ type, length: rules.length, nullCount: 0, valueOffsets: offsets, child: utf8Data(items) as Data<Utf8> }) as Data;
}

/**
 * The match batch of one evaluated batch. `input` is the input RecordBatch
 * when the batch arrived as Arrow (its columns are taken at the match rows).
 */
export function matchBatch(result: EvalResult, input: RecordBatch | null): RecordBatch {
  const schema = matchSchema(input === null ? null : input.schema);
  const n = result.matchRows.length;
  const rules = new Array<EncodedRule>(n);
  for (let i = 0; i < n; i++) rules[i] = encodedRule(result.rules[result.matchRules[i] ?? 0]);
  const rows = Array.from(result.matchRows);
  const children: Data[] = [
    utf8Data(rules.map((rule) => rule.id)),
    utf8Data(rules.map((rule) => rule.title)),
    utf8Data(rules.map((rule) => rule.level)),
    tagsData(rules),
    makeData({ type: new Uint32(), length: n, nullCount: 0, data: Uint32Array.from(result.matchRows) }),
  ];
  if (input === null) {
    children.push(column(rows.map((r) => result.eventJson(r)), new Utf8()));
  } else {
    input.schema.fields.forEach((field, i) => {
      const source = input.getChildAt(i);
      const only = source !== null && source.data.length === 1 ? source.data[0] : undefined;
      const fast = only === undefined ? null : fastTake(only, result.matchRows);
      children.push(fast ?? column(rows.map((r) => source?.get(r) ?? null), field.type));
    });
  }
  const fixed = children.map((data, i) => (data.length === n ? data : column(new Array<null>(n).fill(null), (schema.fields[i] as Field).type)));
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children: fixed }));
}

/** What a match row costs besides the event's columns: rule id, title, level, tag list, row. */
const RULE_COLUMNS_BYTES_PER_MATCH = 64;

/**
 * The match batch of `result` as a ring entry built on first read (DoGet),
 * not when the batch is evaluated: taking every event column at the matched
 * rows was ~30% of DoPut server time with 365 columns, and most DoPut match
 * batches are never read. Until built, the entry holds the input batch; once
 * built, only the match batch. `bytes` estimates the larger of the two.
 */
export function lazyMatchBatch(result: EvalResult, input: RecordBatch | null): RingEntry {
  const matches = result.matchRows.length;
  const inputBytes = input === null ? (result.batch.kind === "json" ? result.batch.bytes.byteLength : 0) : batchBytes(input);
  const perRow = result.rows > 0 ? inputBytes / result.rows : 0;
  const bytes = Math.ceil(Math.max(inputBytes, perRow * matches) + matches * RULE_COLUMNS_BYTES_PER_MATCH);
  let build: (() => RecordBatch) | null = () => matchBatch(result, input);
  let built: RecordBatch | null = null;
  return {
    schema: matchSchema(input === null ? null : input.schema),
    numRows: matches,
    bytes,
    batch: () => {
      if (built === null) {
        built = (build as () => RecordBatch)();
        // Lets the input batch and the evaluation result go.
        build = null;
      }
      return built;
    },
  };
}
