/**
 * The Arrow C Data Interface across the JS/Rust boundary: RecordBatches of
 * every supported type go to the addon through ArrowSchema/ArrowArray
 * structs (no copy) and come back through the addon's own export, equal
 * value for value; the JSON path's columns come back as Arrow too; evalArrow
 * validates on the engine's threads and can build the match batch there.
 */

import { describe, expect, test } from "bun:test";
import {
  Bool, Field, Float64, Int32, Int64, LargeUtf8, List, makeData, RecordBatch, Schema, Struct, TimestampMillisecond, Uint8, Utf8,
  vectorFromArray, type DataType, type Vector,
} from "apache-arrow";
import { exportRecordBatch, importRecordBatch, packArrays, type CDataArray, type PackedArrays } from "../../src/batch/c-data.ts";
import { addon } from "../../src/native/addon.ts";
import { Engine, encodeMatchBatch, jsonToArrow, roundTripArrow, roundTripDescription } from "../../src/native/engine.ts";
import { LineOrigin, recordsOf } from "../../src/batch/batch.ts";
import { buildPlan } from "../../src/plan/build.ts";
import { describePhysicalStages, type PhysicalPlan } from "../../src/plan/explain-physical.ts";
import { loadYaml, ruleWith } from "../rules/helpers.ts";

function batchOf(columns: Record<string, [DataType, unknown[]]>): RecordBatch {
  const fields: Field[] = [];
  const vectors: Vector[] = [];
  for (const [name, [type, values]] of Object.entries(columns)) {
    fields.push(new Field(name, type, true));
    vectors.push(vectorFromArray(values, type));
  }
  const length = vectors[0]?.length ?? 0;
  const data = makeData({ type: new Struct(fields), length, nullCount: 0, children: vectors.map((v) => v.data[0]!) });
  return new RecordBatch(new Schema(fields), data);
}

function rows(batch: RecordBatch): unknown[] {
  return batch.toArray().map((row) => JSON.parse(JSON.stringify(row.toJSON(), (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))));
}

describe("C Data round trip", () => {
  test("every supported type survives JS → Rust → JS", () => {
    const batch = batchOf({
      text: [new Utf8(), ["a", null, "ünïcode", ""]],
      large: [new LargeUtf8(), ["x", "y", null, "z"]],
      int: [new Int32(), [1, -2, null, 2147483647]],
      big: [new Int64(), [1n, 9007199254740993n, null, -5n]],
      byte: [new Uint8(), [0, 255, 7, null]],
      float: [new Float64(), [1.5, null, -0.25, 1e300]],
      flag: [new Bool(), [true, false, null, true]],
      time: [new TimestampMillisecond(), [0, 1700000000000, null, 1]],
      list: [new List(new Field("item", new Utf8(), true)), [["a", "b"], [], null, ["c"]]],
      nested: [new Struct([new Field("inner", new Utf8(), true)]), [{ inner: "q" }, null, { inner: null }, { inner: "r" }]],
    });
    const back = roundTripArrow(batch);
    expect(back.schema.fields.map((f) => f.name)).toEqual(batch.schema.fields.map((f) => f.name));
    expect(back.schema.fields.map((f) => String(f.type))).toEqual(batch.schema.fields.map((f) => String(f.type)));
    expect(rows(back)).toEqual(rows(batch));
  });

  test("a sliced batch exports only its rows", () => {
    const batch = batchOf({
      text: [new Utf8(), ["a", "b", "c", "d", "e"]],
      int: [new Int32(), [1, 2, 3, null, 5]],
    }).slice(2, 5);
    expect(rows(roundTripArrow(batch))).toEqual([
      { text: "c", int: 3 },
      { text: "d", int: null },
      { text: "e", int: 5 },
    ]);
  });

  test("a description that lies about its buffers is an error, not a crash", () => {
    const batch = batchOf({ text: [new Utf8(), ["a", "b"]] });
    const description = exportRecordBatch(batch);
    const column = description.children[0]!;
    column.buffers = [null, new Uint8Array(4), new Uint8Array(0)]; // offsets too short for 2 rows
    column.format = "u";
    expect(() => roundTripDescription(description)).toThrow(/invalid|C Data/i);
  });

  test("an all-null column is checked for structure only; a lying null count is not trusted", () => {
    const batch = batchOf({ text: [new Utf8(), [null, null]] });
    const description = exportRecordBatch(batch);
    const column = description.children[0]!;
    // Offsets that would be out of range if any element were read: nothing reads them.
    // (The last offset still sizes the values buffer, so the addon checks that one.)
    const badOffsets = new Uint8Array(new Int32Array([0, 99, 7]).buffer);
    column.buffers = [new Uint8Array([0]), badOffsets, new Uint8Array(7)];
    column.nullCount = 2;
    expect(rows(importRecordBatch(roundTripDescription(description)))).toEqual([{ text: null }, { text: null }]);
    // The bitmap says both elements are valid: the null count does not get them past validation.
    column.buffers = [new Uint8Array([3]), badOffsets, new Uint8Array(7)];
    expect(() => roundTripDescription(description)).toThrow(/invalid|C Data/i);
  });
});

describe("packed arrays", () => {
  const description = (): CDataArray => exportRecordBatch(batchOf({ text: [new Utf8(), ["a", "bc"]], int: [new Int32(), [1, null]] }));
  const schemaOf = (d: CDataArray) => new addon.BatchSchema(d);

  test("numbers in pre-order, buffers as regions of shared backings", () => {
    const d = description();
    const { geometry, backings } = packArrays(d);
    // The struct: 2 rows, no nulls, offset 0, 2 children, no dictionary, 1 absent buffer.
    expect(Array.from(geometry.subarray(0, 9))).toEqual([2, 0, 0, 2, 0, 1, -1, 0, 0]);
    // Every present buffer is named by its backing, offset and length, and the backing holds it.
    let at = 9;
    for (const child of d.children) {
      expect(Array.from(geometry.subarray(at, at + 6))).toEqual([child.length, child.nullCount, child.offset, 0, 0, child.buffers.length]);
      at += 6;
      for (const buffer of child.buffers) {
        const [backing, offset, length] = Array.from(geometry.subarray(at, at + 3)) as [number, number, number];
        at += 3;
        if (buffer === null) {
          expect(backing).toBe(-1);
          continue;
        }
        expect(backings[backing]?.buffer).toBe(buffer.buffer);
        expect([offset, length]).toEqual([buffer.byteOffset, buffer.byteLength]);
      }
    }
    expect(at).toBe(geometry.length);
  });

  test("a region outside its backing, a short or long geometry, or a shape unlike the schema's is refused", () => {
    const d = description();
    const schema = schemaOf(d);
    const good = packArrays(d);
    expect(rows(importRecordBatch(addon.roundTripArrow(good, schema)))).toEqual([{ text: "a", int: 1 }, { text: "bc", int: null }]);
    const edited = (edit: (g: Float64Array) => Float64Array) => ({ geometry: edit(Float64Array.from(good.geometry)), backings: good.backings });
    // The first child's offsets buffer (struct header 9, child header 6, validity 3): made longer than its backing.
    const beyond = edited((g) => {
      g[9 + 6 + 3 + 2] = (good.backings[g[9 + 6 + 3] as number]?.byteLength ?? 0) + 1;
      return g;
    });
    expect(() => addon.roundTripArrow(beyond, schema)).toThrow(/outside its .*backing/);
    expect(() => addon.roundTripArrow(edited((g) => g.subarray(0, g.length - 1)), schema)).toThrow(/ends before/);
    expect(() => addon.roundTripArrow(edited((g) => Float64Array.from([...g, 0])), schema)).toThrow(/continues past/);
    expect(() => addon.roundTripArrow(edited((g) => ((g[3] = 1), g)), schema)).toThrow(/differ from its schema/);
    expect(() => addon.roundTripArrow(edited((g) => ((g[0] = 1.5), g)), schema)).toThrow(/not an integer/);
    expect(() => addon.roundTripArrow({ geometry: good.geometry, backings: [] }, schema)).toThrow(/backing/);
    // Other element types than the addon reads are errors too (a JS caller is not held to the types).
    const wrongGeometry = { geometry: Float32Array.from(good.geometry), backings: good.backings } as unknown as PackedArrays;
    expect(() => addon.roundTripArrow(wrongGeometry, schema)).toThrow(/Float64Array/);
    const wrongBackings = { geometry: good.geometry, backings: good.backings.map((b) => new Int8Array(b.buffer)) } as unknown as PackedArrays;
    expect(() => addon.roundTripArrow(wrongBackings, schema)).toThrow(/Uint8Array/);
  });
});

describe("JSON path columns as Arrow", () => {
  test("referenced fields only, text values, arrays as lists, absent as null", () => {
    const ndjson = [
      `{"EventID":4688,"CommandLine":"a","nested":{"x":"1"},"skip":"me"}`,
      `{"CommandLine":["p","q"],"EventID":"4689"}`,
      `not json`,
      `{"big":18446744073709551615,"flag":true}`,
    ].join("\n");
    const batch = jsonToArrow(new TextEncoder().encode(ndjson), ["EventID", "CommandLine", "nested.x", "big", "flag"]);
    expect(batch.schema.fields.map((f) => f.name)).toEqual(["EventID", "CommandLine", "nested.x", "big", "flag"]);
    expect(batch.numRows).toBe(4);
    expect(batch.getChild("EventID")?.toArray()).toEqual(["4688", "4689", null, null]);
    expect(String(batch.schema.fields[1]?.type)).toContain("List");
    expect(batch.getChild("CommandLine")?.get(1)?.toArray()).toEqual(["p", "q"]);
    expect(batch.getChild("nested.x")?.get(0)).toBe("1");
    expect(batch.getChild("big")?.get(3)).toBe("18446744073709551615");
    expect(batch.getChild("flag")?.get(3)).toBe("true");
  });
});

describe("evalArrow", () => {
  const rules = loadYaml(ruleWith("CommandLine|contains: evil"));
  const { engine } = Engine.compile(buildPlan(rules).plan);
  const origin = new LineOrigin("c-data", 1);

  test("a batch that fails validation rejects; the next batch is not held behind it", async () => {
    const native = new addon.NativeEngine(JSON.stringify(buildPlan(rules).plan));
    const good = (): CDataArray => exportRecordBatch(batchOf({ CommandLine: [new Utf8(), ["evil", "calc"]] }));
    const schema = new addon.BatchSchema(good());
    const bad = good();
    bad.children[0]!.buffers = [null, new Uint8Array(new Int32Array([0, 9, 2]).buffer), new Uint8Array(4)]; // offsets past the values
    await expect(native.evalArrow(packArrays(bad), schema, null)).rejects.toThrow(/invalid/i);
    const started = performance.now();
    expect(Array.from((await native.evalArrow(packArrays(good()), schema, null)).matchRows)).toEqual([0]);
    // An unsettled correlation ticket would hold the next batch for the 30 s order limit.
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  test("one schema serves every batch of a stream; a batch laid out otherwise is refused, not misread", async () => {
    const native = new addon.NativeEngine(JSON.stringify(buildPlan(rules).plan));
    const schema = new addon.BatchSchema(exportRecordBatch(batchOf({ CommandLine: [new Utf8(), ["x"]] })));
    for (const values of [["evil"], ["calc", "so evil", "evil too"]]) {
      const output = await native.evalArrow(packArrays(exportRecordBatch(batchOf({ CommandLine: [new Utf8(), values] }))), schema, null);
      expect(Array.from(output.matchRows)).toEqual(values.flatMap((v, row) => (v.includes("evil") ? [row] : [])));
    }
    const ints = exportRecordBatch(batchOf({ CommandLine: [new Int32(), [1, 2]] }));
    await expect(native.evalArrow(packArrays(ints), schema, null)).rejects.toThrow(/buffers/);
  });

  test("keywords are found in every string column: a referenced field's own (scanned with it), an unreferenced one, a list", async () => {
    const keywordRules = loadYaml(`title: Keywords
id: 0e7f0a52-0000-4000-8000-000000000005
logsource: {product: windows}
detection:
  selection: {Image|endswith: '\\calc.exe'}
  keywords: ['sekurlsa::']
  condition: selection or keywords
`);
    const { engine: keywordEngine } = Engine.compile(buildPlan(keywordRules).plan);
    const explained = keywordEngine.explain() as PhysicalPlan;
    expect(explained.keywordCarriers).toBe(1);
    expect(describePhysicalStages(explained)[0]).toContain("1 fields scan their string values as keywords too");
    const batch = batchOf({
      Image: [new Utf8(), ["C:\\x\\sekurlsa::pth", "C:\\x\\other.exe", null, "C:\\x\\none.exe", "C:\\x\\calc.exe"]],
      Note: [new Utf8(), [null, "run SEKURLSA::logonpasswords", null, "nothing", null]],
      Tags: [new List(new Field("item", new Utf8(), true)), [[], [], ["a", "sekurlsa::x"], ["b"], null]],
    });
    const result = await keywordEngine.evalArrow({ kind: "arrow", records: recordsOf(batch), origin });
    expect(Array.from(result.matchRows)).toEqual([0, 1, 2, 4]);
  });

  test("a match batch built with the evaluation equals one built afterwards", async () => {
    const batch = batchOf({ CommandLine: [new Utf8(), ["evil 1", "calc", "more evil"]], Pid: [new Int32(), [1, 2, 3]] });
    const eager = await engine.evalArrow({ kind: "arrow", records: recordsOf(batch), origin, replyWithMatches: true });
    const lazy = await engine.evalArrow({ kind: "arrow", records: recordsOf(batch), origin });
    expect(eager.matchBatch).toBeDefined();
    expect(lazy.matchBatch).toBeUndefined();
    const later = encodeMatchBatch(lazy);
    expect(Buffer.from(eager.matchBatch!.header).equals(Buffer.from(later.header))).toBe(true);
    expect(Buffer.from(eager.matchBatch!.body).equals(Buffer.from(later.body))).toBe(true);
  });
});
