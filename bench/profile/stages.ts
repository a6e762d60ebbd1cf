/**
 * Where the time of one batch goes, from the engine's own counters: each
 * batch is evaluated in process with evalJsonSync and rendered with
 * matchLines (what the NDJSON sink does). Rust time is what engine.stats()
 * reports (parseNs + matchNs + conditionNs); boundary is the rest of the
 * native call (argument and result conversion through napi); JS is the wall
 * time outside the native call (rendering, batching, the loop itself).
 */

import { LineOrigin } from "../../src/batch/batch.ts";
import { matchLines } from "../../src/io/records.ts";
import type { Engine } from "../../src/native/engine.ts";

export interface StageSplit {
  events: number;
  matches: number;
  wallMs: number;
  rust: { parseMs: number; matchMs: number; conditionMs: number };
  boundaryMs: number;
  jsMs: number;
}

function nanos(stats: object, key: string): number {
  const value = (stats as Record<string, unknown>)[key];
  return typeof value === "number" ? value : 0;
}

export function stageSplit(engine: Engine, chunks: readonly Uint8Array[]): StageSplit {
  const before = engine.stats();
  const origin = new LineOrigin("profile", 1);
  let nativeMs = 0;
  let events = 0;
  let matches = 0;
  let rendered = 0;
  const started = performance.now();
  for (const bytes of chunks) {
    const t0 = performance.now();
    const result = engine.evalJsonSync({ kind: "json", bytes, origin });
    nativeMs += performance.now() - t0;
    rendered += matchLines(result).length;
    events += result.events;
    matches += result.matchRules.length;
  }
  const wallMs = performance.now() - started;
  const after = engine.stats();
  const delta = (key: string): number => (nanos(after, key) - nanos(before, key)) / 1e6;
  const rust = { parseMs: delta("parseNs"), matchMs: delta("matchNs"), conditionMs: delta("conditionNs") };
  const rustMs = rust.parseMs + rust.matchMs + rust.conditionMs;
  if (rendered < 0) console.log(rendered);
  return { events, matches, wallMs, rust, boundaryMs: Math.max(0, nativeMs - rustMs), jsMs: wallMs - nativeMs };
}
