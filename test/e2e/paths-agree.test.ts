/**
 * The JSON path and the Arrow path give identical results on the whole
 * shared corpus with the whole SigmaHQ tree. The Arrow batches hold every
 * field of the events (so keyword rules see the same strings), built from
 * the same chunks by the engine's JSON-to-Arrow export, and re-enter the
 * engine through the C Data Interface like any client's batch.
 * Skips with a message when ../shared is absent.
 */

import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { LineOrigin, recordsOf } from "../../src/batch/batch.ts";
import { Engine, jsonToArrow } from "../../src/native/engine.ts";
import { buildPlan } from "../../src/plan/build.ts";
import { loadRules } from "../../src/rules/load.ts";
import { SHARED } from "../support/binary.ts";

const EVENTS = join(SHARED, "events");
const available = existsSync(join(SHARED, "sigma")) && existsSync(EVENTS);
if (!available) process.stderr.write("paths-agree.test.ts: skipped, ../shared/sigma and ../shared/events are absent\n");

const CHUNK_BYTES = 4 << 20;

/** Every dotted path to a scalar or array in an event (objects are descended into). */
function leafPaths(value: unknown, prefix: string, out: Set<string>): void {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) leafPaths(inner, prefix === "" ? key : `${prefix}.${key}`, out);
  } else if (prefix !== "") {
    out.add(prefix);
  }
}

function* chunks(bytes: Uint8Array): Generator<Uint8Array> {
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(bytes.length, start + CHUNK_BYTES);
    if (end < bytes.length) end = bytes.lastIndexOf(0x0a, end - 1) + 1;
    if (end <= start) end = bytes.length;
    yield bytes.subarray(start, end);
    start = end;
  }
}

function pairs(rows: Uint32Array, rules: Uint32Array): string[] {
  return Array.from(rows, (row, i) => `${row}:${rules[i]}`);
}

describe.skipIf(!available)("JSON path ≡ Arrow path on the shared corpus", () => {
  test("every corpus file, every rule", async () => {
    const { plan } = buildPlan(loadRules(join(SHARED, "sigma")));
    const { engine } = Engine.compile(plan);
    let events = 0;
    let matches = 0;
    const only = process.env.SIGMA_CORPUS_FILTER;
    const files = readdirSync(EVENTS).filter((f) => f.endsWith(".ndjson.gz") && (only === undefined || f.includes(only)));
    for (const file of files.sort()) {
      const bytes = gunzipSync(await Bun.file(join(EVENTS, file)).bytes());
      for (const chunk of chunks(bytes)) {
        const json = engine.evalJsonSync({ kind: "json", bytes: chunk, origin: new LineOrigin(file, 1) });
        const fields = new Set<string>();
        for (const line of new TextDecoder().decode(chunk).split("\n")) {
          if (line.trim() !== "") leafPaths(JSON.parse(line), "", fields);
        }
        const batch = jsonToArrow(chunk, [...fields].sort());
        const arrow = await engine.evalArrow({ kind: "arrow", records: recordsOf(batch), origin: new LineOrigin(file, 1) });
        expect(pairs(arrow.matchRows, arrow.matchRules)).toEqual(pairs(json.matchRows, json.matchRules));
        events += json.events;
        matches += json.matchRows.length;
      }
    }
    process.stderr.write(`paths agree: ${events} events, ${matches} matches, ${plan.rules.length} rules\n`);
    if (only === undefined) expect(events).toBe(660_108);
  }, 1_200_000);
});
