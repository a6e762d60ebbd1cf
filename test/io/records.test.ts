/**
 * The byte renderer of match records (Kafka values) against the string one:
 * the same record format must come out of both, byte for byte, whether the
 * result hands out event bytes (NDJSON input) or only event text.
 */

import { describe, expect, test } from "bun:test";
import { LineOrigin } from "../../src/batch/batch.ts";
import { matchRecord, matchRecordBuffers } from "../../src/io/records.ts";
import type { EvalResult } from "../../src/io/result.ts";
import type { RuleHeader } from "../../src/plan/types.ts";

const RULES: RuleHeader[] = [
  { id: "r-1", title: "first \"quoted\" rule", level: "high", status: "test", tags: ["attack.t1059"], name: null, path: "a.yml" },
  { id: "r-2", title: "zweite Regel — ünïcode", level: null, status: null, tags: [], name: null, path: "b.yml" },
];

const LINES = ['{"EventID":4688,"CommandLine":"cmd.exe /c \\"whoami\\""}', '{"Image":"C:\\\\Windows\\\\ünïcode.exe","n":[1,2]}', '{"x":"😀"}'];

function result(withBytes: boolean): EvalResult {
  const encoded = LINES.map((line) => new TextEncoder().encode(line));
  const base: EvalResult = {
    batch: { kind: "json", bytes: new Uint8Array(0), origin: new LineOrigin("events.ndjson", 7) },
    rows: LINES.length,
    events: LINES.length,
    matchRows: Uint32Array.from([0, 0, 1, 2]),
    matchRules: Uint32Array.from([0, 1, 1, 0]),
    deadLetters: [],
    rules: RULES,
    renderedMatches: null,
    eventJson: (row) => LINES[row] ?? "",
    rawInput: (row) => LINES[row] ?? "",
  };
  return withBytes ? { ...base, eventBytes: (row) => encoded[row] ?? new Uint8Array(0) } : base;
}

describe("matchRecordBuffers", () => {
  for (const withBytes of [true, false]) {
    test(`renders what matchRecord renders (${withBytes ? "event bytes" : "event text"})`, () => {
      const detected = "2026-11-27T00:00:00.000Z";
      const input = result(withBytes);
      const buffers = matchRecordBuffers(input, detected);
      expect(buffers.map((b) => b.toString("utf8"))).toEqual([0, 1, 2, 3].map((i) => matchRecord(input, i, detected)));
      for (const buffer of buffers) expect(Buffer.isBuffer(buffer)).toBe(true);
    });
  }

  test("no matches, no buffers", () => {
    const input = { ...result(true), matchRows: new Uint32Array(0), matchRules: new Uint32Array(0) };
    expect(matchRecordBuffers(input, "t")).toEqual([]);
  });
});
