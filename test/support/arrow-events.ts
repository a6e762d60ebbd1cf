/**
 * Builds a RecordBatch from JSON events the way an Arrow client would: one
 * column per top-level key, typed from its values (all numbers → Float64,
 * all booleans → Bool, all objects → Struct, arrays → List<Utf8>, anything
 * else → Utf8), missing keys as nulls. Test support for the Arrow path.
 */

import { Bool, Field, Float64, List, makeData, RecordBatch, Schema, Struct, Utf8, vectorFromArray, type DataType, type Vector } from "apache-arrow";

function typeOf(values: unknown[]): DataType {
  const present = values.filter((v) => v !== null && v !== undefined);
  if (present.length > 0 && present.every((v) => typeof v === "number")) return new Float64();
  if (present.length > 0 && present.every((v) => typeof v === "boolean")) return new Bool();
  if (present.length > 0 && present.every((v) => Array.isArray(v))) return new List(new Field("item", new Utf8(), true));
  if (present.length > 0 && present.every((v) => typeof v === "object" && !Array.isArray(v))) {
    const keys = [...new Set(present.flatMap((v) => Object.keys(v as object)))];
    return new Struct(keys.map((k) => new Field(k, typeOf(present.map((v) => (v as Record<string, unknown>)[k])), true)));
  }
  return new Utf8();
}

function normalise(value: unknown, type: DataType): unknown {
  if (value === null || value === undefined) return null;
  if (type instanceof Utf8) return typeof value === "string" ? value : JSON.stringify(value);
  if (type instanceof List) return (value as unknown[]).map((v) => (typeof v === "string" ? v : JSON.stringify(v)));
  if (type instanceof Struct) {
    const out: Record<string, unknown> = {};
    for (const field of type.children) out[field.name] = normalise((value as Record<string, unknown>)[field.name], field.type);
    return out;
  }
  return value;
}

export function recordBatchFromEvents(events: Record<string, unknown>[]): RecordBatch {
  const keys = [...new Set(events.flatMap((e) => Object.keys(e)))];
  const fields: Field[] = [];
  const columns: Vector[] = [];
  for (const key of keys) {
    const values = events.map((e) => e[key]);
    const type = typeOf(values);
    fields.push(new Field(key, type, true));
    columns.push(vectorFromArray(values.map((v) => normalise(v, type)), type));
  }
  const schema = new Schema(fields);
  const data = makeData({
    type: new Struct(fields),
    length: events.length,
    nullCount: 0,
    children: columns.map((c) => {
      const chunk = c.data[0];
      if (chunk === undefined) throw new Error("empty column");
      return chunk;
    }),
  });
  return new RecordBatch(schema, data);
}
