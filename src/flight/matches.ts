/**
 * Match record batches: the Arrow form of the match record (DESIGN.md
 * "Records") that Flight replies, the DoGet ring and the Flight sink carry.
 * Columns: rule_id, rule_title, rule_level, rule_tags (list<utf8>), row
 * (uint32, the event's row in its input batch), then the event itself: the
 * input batch's own columns taken at the matched rows when the input was
 * Arrow, or one `event` Utf8 column of JSON text otherwise. An event column
 * whose name collides with a match column is renamed `event.<name>`.
 *
 * A dictionary-encoded event column comes out decoded, as its value type.
 *
 * The batches are built and IPC-encoded in the addon
 * (native/binding/src/match_batch.rs): gathering hundreds of event columns
 * at the matched rows and encoding them with apache-arrow's writer took ~14
 * ms of the JS thread per 1,000-event DoExchange batch. `matchSchema` is the
 * stream schema those messages are read against.
 */

import { DataType, Field, List, Schema, Uint32, Utf8 } from "apache-arrow";
import type { EvalResult } from "../io/result.ts";
import { encodeMatchBatch } from "../native/engine.ts";
import type { EncodedBatch } from "./ipc.ts";
import type { RingEntry } from "./ring.ts";

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
  return input.fields.map((f) => {
    const type = DataType.isDictionary(f.type) ? f.type.dictionary : f.type;
    return new Field(RESERVED.has(f.name) ? `event.${f.name}` : f.name, type, true, f.metadata);
  });
}

const JSON_MATCH_SCHEMA = new Schema([...RULE_FIELDS, ...eventFields(null)]);
/** Per input schema: every batch of a stream shares its schema object, and DoPut asks once per batch. */
const matchSchemas = new WeakMap<Schema, Schema>();

/** The schema of the match batches produced for inputs of schema `input` (null: JSON input). */
export function matchSchema(input: Schema | null): Schema {
  if (input === null) return JSON_MATCH_SCHEMA;
  let schema = matchSchemas.get(input);
  if (schema === undefined) {
    schema = new Schema([...RULE_FIELDS, ...eventFields(input)]);
    matchSchemas.set(input, schema);
  }
  return schema;
}

function inputSchema(result: EvalResult): Schema | null {
  return result.batch.kind === "arrow" ? result.batch.records.schema : null;
}

function encodedWith(schema: Schema, result: EvalResult): EncodedBatch {
  return { schema, numRows: result.matchRows.length, ...encodeMatchBatch(result) };
}

/** The match batch of one evaluated batch. */
export function matchBatch(result: EvalResult): EncodedBatch {
  return encodedWith(matchSchema(inputSchema(result)), result);
}

/** What a match row costs besides the event's columns: rule id, title, level, tag list, row. */
const RULE_COLUMNS_BYTES_PER_MATCH = 64;

/**
 * The match batch of `result` as a ring entry built on first read (DoGet),
 * not when the batch is evaluated: most DoPut match batches are never read.
 * Until built, the entry holds the input batch; once built, only the match
 * batch. `bytes` estimates the larger of the two.
 */
export function lazyMatchBatch(result: EvalResult): RingEntry {
  const matches = result.matchRows.length;
  const inputBytes = result.batch.kind === "arrow" ? result.batch.records.byteLength : result.batch.bytes.byteLength;
  const perRow = result.rows > 0 ? inputBytes / result.rows : 0;
  const bytes = Math.ceil(Math.max(inputBytes, perRow * matches) + matches * RULE_COLUMNS_BYTES_PER_MATCH);
  const schema = matchSchema(inputSchema(result));
  let build: (() => EncodedBatch) | null = () => encodedWith(schema, result);
  let built: EncodedBatch | null = null;
  return {
    schema,
    numRows: matches,
    bytes,
    batch: () => {
      if (built === null) {
        built = (build as () => EncodedBatch)();
        // Lets the input batch and the evaluation result go.
        build = null;
      }
      return built;
    },
  };
}
