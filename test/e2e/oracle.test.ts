/**
 * The optimized plan never differs from the plain evaluator: over every
 * file of the shared corpus with the whole SigmaHQ tree, the engine's
 * matches equal those of the naive rule-by-rule evaluator
 * (sigma_core::reference) over the same parse, rule for rule and row for row.
 * Correlation matches are left out: the oracle evaluates detection rules only.
 *
 * The oracle runs at about 130 events/s on this machine (every rule, every
 * event, no sharing), so a file above `PER_FILE` events is sampled evenly
 * (every k-th line, deterministic); SIGMA_ORACLE_PER_FILE=0 checks every
 * event (about 90 minutes). Skips with a message when ../shared is absent.
 */

import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { LineOrigin } from "../../src/batch/batch.ts";
import { Engine } from "../../src/native/engine.ts";
import { buildPlan } from "../../src/plan/build.ts";
import { loadRules } from "../../src/rules/load.ts";
import { SHARED } from "../support/binary.ts";

const EVENTS = join(SHARED, "events");
const available = existsSync(join(SHARED, "sigma")) && existsSync(EVENTS);
if (!available) process.stderr.write("oracle.test.ts: skipped, ../shared/sigma and ../shared/events are absent\n");

function* chunks(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(bytes.length, start + size);
    if (end < bytes.length) end = bytes.lastIndexOf(0x0a, end - 1) + 1;
    if (end <= start) end = bytes.length;
    yield bytes.subarray(start, end);
    start = end;
  }
}

const PER_FILE = Number(process.env.SIGMA_ORACLE_PER_FILE ?? 10_000);

/** Every k-th line of a file with more than PER_FILE lines (all of them when PER_FILE is 0). */
function sample(bytes: Uint8Array): Uint8Array {
  const lines = new TextDecoder().decode(bytes).split("\n").filter((l) => l !== "");
  if (PER_FILE === 0 || lines.length <= PER_FILE) return bytes;
  const stride = Math.ceil(lines.length / PER_FILE);
  return new TextEncoder().encode(lines.filter((_, i) => i % stride === 0).join("\n") + "\n");
}

function pairs(rows: Uint32Array, rules: Uint32Array, ruleCount: number): string[] {
  const out: string[] = [];
  rows.forEach((row, i) => {
    const rule = rules[i] ?? 0;
    if (rule < ruleCount) out.push(`${row}:${rule}`);
  });
  return out;
}

describe.skipIf(!available)("optimized plan ≡ rule-by-rule oracle", () => {
  test("whole corpus, whole tree", async () => {
    const { plan } = buildPlan(loadRules(join(SHARED, "sigma")));
    const { engine } = Engine.compile(plan);
    const only = process.env.SIGMA_CORPUS_FILTER;
    let events = 0;
    let matches = 0;
    const started = performance.now();
    for (const file of readdirSync(EVENTS).filter((f) => f.endsWith(".ndjson.gz") && (only === undefined || f.includes(only))).sort()) {
      const bytes = sample(gunzipSync(await Bun.file(join(EVENTS, file)).bytes()));
      for (const chunk of chunks(bytes, 4 << 20)) {
        const optimized = engine.evalJsonSync({ kind: "json", bytes: chunk, origin: new LineOrigin(file, 1) });
        const oracle = engine.evalJsonReference(chunk);
        const got = pairs(optimized.matchRows, optimized.matchRules, plan.rules.length);
        expect(got).toEqual(pairs(oracle.matchRows, oracle.matchRules, plan.rules.length));
        events += optimized.events;
        matches += got.length;
      }
    }
    process.stderr.write(`oracle agrees: ${events} events, ${matches} matches, ${plan.rules.length} rules, ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
    if (only === undefined && PER_FILE === 0) expect(events).toBe(660_108);
    expect(matches).toBeGreaterThan(0);
  }, 1_800_000);
});
