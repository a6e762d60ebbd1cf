/**
 * Match record batches built from an evaluation result: rule columns laid out
 * by hand (null levels, several or no tags, an unknown rule index), event
 * columns taken at the matched rows, and the lazy ring entry building the
 * same batch on first read. Every batch also goes through an IPC round trip,
 * so hand-made buffers that Arrow would reject fail here.
 */

import { describe, expect, test } from "bun:test";
import { Int32, RecordBatchReader, RecordBatchStreamWriter, Table, Utf8, vectorFromArray, type RecordBatch } from "apache-arrow";
import { lazyMatchBatch, matchBatch } from "../../src/flight/matches.ts";
import type { EvalResult, RuleMeta } from "../../src/io/result.ts";
import { eventsBatch } from "./helpers.ts";

const RULES: RuleMeta[] = [
  { id: "r-1", title: "Evil command", level: "high", status: "test", tags: ["attack.t1059", "attack.execution"], path: "a.yml" },
  { id: "r-2", title: "Ünïcode title", level: null, status: null, tags: [], path: "b.yml" },
];

function result(input: RecordBatch, matchRows: number[], matchRules: number[]): EvalResult {
  return {
    batch: { kind: "arrow", batch: input, origin: { position: (row) => ({ descriptor: "d", batch: 0, row }) } },
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

function roundTrip(batch: RecordBatch): Record<string, unknown>[] {
  const bytes = RecordBatchStreamWriter.writeAll([batch]).toUint8Array(true);
  const read = [...RecordBatchReader.from(bytes)][0];
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
    expect(roundTrip(matchBatch(matches, input))).toEqual(expected);
  });

  test("a lazy entry builds the same batch once, on first read", () => {
    const entry = lazyMatchBatch(matches, input);
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
    const rows = roundTrip(matchBatch(result(sparse, [1, 2], [0, 0]), sparse));
    expect(rows.map((row) => [row.CommandLine, row.Missing, row.MissingPid])).toEqual([
      ["b", null, null],
      ["c", null, null],
    ]);
  });

  test("no matches: an empty batch with the match schema", () => {
    const batch = matchBatch(result(input, [], []), input);
    expect(batch.numRows).toBe(0);
    expect(roundTrip(batch)).toEqual([]);
  });
});
