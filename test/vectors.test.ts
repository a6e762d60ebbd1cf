/**
 * Runs every case of test/vectors/*.yml on each path (CONVENTIONS.md §7):
 * the in-process engine's JSON path, its Arrow path (a RecordBatch built the
 * way an Arrow client would, imported through the C Data Interface), and
 * the compiled binary. Each path must match exactly the listed events.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { load as loadYaml } from "js-yaml";
import { LineOrigin, recordsOf } from "../src/batch/batch.ts";
import { Engine } from "../src/native/engine.ts";
import { buildPlan } from "../src/plan/build.ts";
import { loadRules } from "../src/rules/load.ts";
import { recordBatchFromEvents } from "./support/arrow-events.ts";
import { BINARY, runBinary } from "./support/binary.ts";

interface VectorCase {
  name: string;
  rule: string;
  /** Events as objects, or as raw JSON text where JS numbers would lose precision. */
  events: (Record<string, unknown> | string)[];
  matches: number[];
}

const dir = join(import.meta.dir, "vectors");
const cases: { file: string; vector: VectorCase }[] = readdirSync(dir)
  .filter((f) => f.endsWith(".yml"))
  .sort()
  .flatMap((file) => (loadYaml(readFileSync(join(dir, file), "utf8")) as VectorCase[]).map((vector) => ({ file, vector })));

function eventLine(event: Record<string, unknown> | string): string {
  return typeof event === "string" ? event : JSON.stringify(event);
}

/** Every case's rule directory lives under one root, removed when the file's tests end. */
const scratch = mkdtempSync(join(tmpdir(), "sigma-vectors-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function compile(vector: VectorCase): { engine: Engine; ruleDir: string } {
  const ruleDir = mkdtempSync(join(scratch, "case-"));
  writeFileSync(join(ruleDir, "rule.yml"), vector.rule);
  const loaded = loadRules(ruleDir);
  expect(loaded.errors).toEqual([]);
  const build = buildPlan(loaded);
  expect(build.errors).toEqual([]);
  const { engine, errors } = Engine.compile(build.plan);
  expect(errors).toEqual([]);
  return { engine, ruleDir };
}

function matchedRows(rows: Uint32Array): number[] {
  return [...new Set(rows)].sort((a, b) => a - b);
}

describe.each(cases.map((c) => [`${c.file}: ${c.vector.name}`, c.vector] as const))("%s", (_name, vector) => {
  test("JSON path", () => {
    const { engine } = compile(vector);
    const bytes = new TextEncoder().encode(vector.events.map(eventLine).join("\n") + "\n");
    const result = engine.evalJsonSync({ kind: "json", bytes, origin: new LineOrigin("vector", 1) });
    expect(result.deadLetters).toEqual([]);
    expect(matchedRows(result.matchRows)).toEqual(vector.matches);
  });

  const objectEvents = vector.events.every((e) => typeof e !== "string");
  test.skipIf(!objectEvents)("Arrow path", async () => {
    const { engine } = compile(vector);
    const batch = recordBatchFromEvents(vector.events as Record<string, unknown>[]);
    const result = await engine.evalArrow({ kind: "arrow", records: recordsOf(batch), origin: new LineOrigin("vector", 1) });
    expect(matchedRows(result.matchRows)).toEqual(vector.matches);
  });

  test.skipIf(!existsSync(BINARY))("compiled binary", async () => {
    const { ruleDir } = compile(vector);
    const events = join(ruleDir, "events.ndjson");
    writeFileSync(events, vector.events.map(eventLine).join("\n") + "\n");
    const run = await runBinary(["--rules", join(ruleDir, "rule.yml"), "--events", events, "--out", "-", "--quiet"]);
    expect(run.exitCode).toBe(0);
    const lines = run.stdout.split("\n").filter((l) => l !== "");
    const rows = [...new Set(lines.map((l) => (JSON.parse(l) as { source: { line: number } }).source.line - 1))].sort((a, b) => a - b);
    expect(rows).toEqual(vector.matches);
  });
});
