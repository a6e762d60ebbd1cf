/**
 * Match record batches built by the addon from an evaluation result: rule
 * columns (null levels, several or no tags, an unknown rule index), event
 * columns taken at the matched rows or the JSON line of NDJSON input, and the
 * lazy ring entry building the same batch on first read. Every batch also
 * goes through the Flight wire and the server's validating decoder against
 * matchSchema, so a batch whose buffers disagree with that schema fails here.
 */

import { describe, expect, test } from "bun:test";
import { Dictionary, Int32, Int8, Table, Utf8, vectorFromArray, type RecordBatch } from "apache-arrow";
import { IpcDecoder, IpcEncoder, type EncodedBatch } from "../../src/flight/ipc.ts";
import { lazyMatchBatch, matchBatch } from "../../src/flight/matches.ts";
import { decodeFlightData, encodeFlightData } from "../../src/flight/protocol.ts";
import { recordsOf } from "../../src/batch/batch.ts";
import type { EvalResult } from "../../src/io/result.ts";
import type { RuleHeader } from "../../src/plan/types.ts";
import { eventsBatch } from "./helpers.ts";

const RULES: RuleHeader[] = [
  { id: "r-1", title: "Evil command", level: "high", status: "test", tags: ["attack.t1059", "attack.execution"], name: null, path: "a.yml" },
  { id: "r-2", title: "Ünïcode title", level: null, status: null, tags: [], name: null, path: "b.yml" },
];

function result(input: RecordBatch, matchRows: number[], matchRules: number[]): EvalResult {
  return {
    batch: { kind: "arrow", records: recordsOf(input), origin: { position: (row) => ({ descriptor: "d", batch: 0, row }) } },
    rows: input.numRows,
    events: input.numRows,
    matchRows: Uint32Array.from(matchRows),
    matchRules: Uint32Array.from(matchRules),
    deadLetters: [],
    rules: RULES,
    renderedMatches: null,
    eventJson: () => "{}",
    rawInput: () => "{}",
  };
}

/** The batch as a Flight stream would carry it, read back by the server's own validating decoder. */
function roundTrip(batch: EncodedBatch): Record<string, unknown>[] {
  const decoder = new IpcDecoder();
  let read: RecordBatch | undefined;
  for (const message of new IpcEncoder().encoded(batch)) {
    const decoded = decoder.push(decodeFlightData(encodeFlightData(message)));
    if (decoded?.kind === "batch") read = decoded.records.record();
  }
  if (read === undefined) throw new Error("no batch read back");
  return [...read].map((row) => {
    const json = row.toJSON() as Record<string, unknown>;
    return { ...json, rule_tags: json.rule_tags === null ? null : [...(json.rule_tags as Iterable<string>)] };
  });
}

describe("matchBatch", () => {
  const input = eventsBatch(["cmd /c evil", "calc.exe", "évil ünïcode"]);
  const matches = result(input, [0, 0, 2, 2], [0, 1, 1, 7]);
  const expected = [
    { rule_id: "r-1", rule_title: "Evil command", rule_level: "high", rule_tags: ["attack.t1059", "attack.execution"], row: 0, CommandLine: "cmd /c evil", Pid: 0 },
    { rule_id: "r-2", rule_title: "Ünïcode title", rule_level: null, rule_tags: [], row: 0, CommandLine: "cmd /c evil", Pid: 0 },
    { rule_id: "r-2", rule_title: "Ünïcode title", rule_level: null, rule_tags: [], row: 2, CommandLine: "évil ünïcode", Pid: 2 },
    { rule_id: "", rule_title: "", rule_level: null, rule_tags: [], row: 2, CommandLine: "évil ünïcode", Pid: 2 },
  ];

  test("rule columns and event columns at the matched rows", () => {
    expect(roundTrip(matchBatch(matches))).toEqual(expected);
  });

  test("a lazy entry builds the same batch once, on first read", () => {
    const entry = lazyMatchBatch(matches);
    expect(entry.numRows).toBe(4);
    expect(entry.schema.fields.map((f) => f.name)).toEqual(["rule_id", "rule_title", "rule_level", "rule_tags", "row", "CommandLine", "Pid"]);
    const first = entry.batch();
    expect(entry.batch()).toBe(first);
    expect(roundTrip(first)).toEqual(expected);
  });

  test("columns no event of the batch has come out as nulls", () => {
    const sparse = new Table({
      CommandLine: vectorFromArray(["a", "b", "c"], new Utf8()),
      Missing: vectorFromArray([null, null, null], new Utf8()),
      MissingPid: vectorFromArray([null, null, null], new Int32()),
    }).batches[0] as RecordBatch;
    const rows = roundTrip(matchBatch(result(sparse, [1, 2], [0, 0])));
    expect(rows.map((row) => [row.CommandLine, row.Missing, row.MissingPid])).toEqual([
      ["b", null, null],
      ["c", null, null],
    ]);
  });

  test("dictionary-encoded event columns come out decoded", () => {
    const images = vectorFromArray(["a.exe", null, "b.exe"], new Dictionary(new Utf8(), new Int8()));
    const encoded = new Table({ Image: images }).batches[0] as RecordBatch;
    const batch = matchBatch(result(encoded, [2, 0], [0, 0]));
    expect(String(batch.schema.fields[5]?.type)).toBe("Utf8");
    expect(roundTrip(batch).map((row) => row.Image)).toEqual(["b.exe", "a.exe"]);
  });

  test("no matches: an empty batch with the match schema", () => {
    const batch = matchBatch(result(input, [], []));
    expect(batch.numRows).toBe(0);
    expect(roundTrip(batch)).toEqual([]);
  });
});

describe("matchBatch of NDJSON input", () => {
  test("the event column is each matched line without its line break", () => {
    const bytes = new TextEncoder().encode('{"a":"évil"}\r\n\n{"b":2}');
    const json: EvalResult = {
      ...result(eventsBatch(["x"]), [0, 2], [1, 0]),
      batch: { kind: "json", bytes, origin: { position: (row) => ({ descriptor: "d", batch: 0, row }) } },
      rows: 3,
      events: 2,
      lineOffsets: Uint32Array.from([0, 15, 16]),
    };
    const rows = roundTrip(matchBatch(json));
    expect(rows.map((row) => [row.rule_id, row.row, row.event])).toEqual([
      ["r-2", 0, '{"a":"évil"}'],
      ["r-1", 2, '{"b":2}'],
    ]);
  });

  test("without line offsets it is an error, not a guess", () => {
    const json: EvalResult = { ...result(eventsBatch(["x"]), [0], [0]), batch: { kind: "json", bytes: new Uint8Array(3), origin: { position: (row) => ({ descriptor: "d", batch: 0, row }) } } };
    expect(() => matchBatch(json)).toThrow("line offsets");
  });
});
