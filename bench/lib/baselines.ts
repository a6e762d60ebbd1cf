/**
 * The two parse baselines our throughput is compared with, over the same
 * first 300k events of windows_otrf_atomic: simdjson On-Demand in C++ (built
 * here with g++ -O3 into .cache/bench, libsimdjson-dev installed by
 * scripts/services/simdjson.sh, pinned to one core with taskset when present)
 * and Bun's JSON.parse one event at a time. Both extract the same five fields
 * and must agree on how many events had each (CONVENTIONS.md §8).
 */

import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "bun";
import { ROOT } from "./corpus.ts";

export const FIELDS = ["EventID", "Channel", "Provider_Name", "Computer", "TimeCreated_SystemTime"] as const;

export interface BaselineResult {
  name: string;
  events: number;
  seconds: number;
  bytes: number;
  found: number[];
}

/** simdjson's events/s on one core, or the reason it could not run. */
export function simdjsonBaseline(file: string, events: number): BaselineResult | string {
  const setup = spawnSync(["bash", join(ROOT, "scripts/services/simdjson.sh")], { stdout: "pipe", stderr: "pipe" });
  if (setup.exitCode !== 0) return `libsimdjson-dev unavailable: ${setup.stderr.toString().trim()}`;
  const exe = join(ROOT, ".cache/bench/simdjson_extract");
  const source = join(ROOT, "bench/baseline/simdjson_extract.cpp");
  mkdirSync(join(ROOT, ".cache/bench"), { recursive: true });
  const build = spawnSync(["g++", "-O3", "-march=native", "-std=c++17", source, "-o", exe, "-lsimdjson"], { stderr: "pipe" });
  if (build.exitCode !== 0 || !existsSync(exe)) return `g++ failed: ${build.stderr.toString().trim()}`;
  const pin = spawnSync(["which", "taskset"]).exitCode === 0 ? ["taskset", "-c", "0"] : [];
  const run = spawnSync([...pin, exe, file, String(events)], { stdout: "pipe", stderr: "pipe" });
  if (run.exitCode !== 0) return `simdjson_extract failed: ${run.stderr.toString().trim()}`;
  const out = JSON.parse(run.stdout.toString()) as { events: number; seconds: number; found: number[] };
  const bytes = readFileSync(file).byteLength;
  return { name: `simdjson ${pin.length > 0 ? "(1 core, taskset)" : "(1 thread)"}`, events: out.events, seconds: out.seconds, bytes, found: out.found };
}

/** Bun JSON.parse per event over the file's text (read and decoded outside the timed loop). */
export function jsonParseBaseline(file: string, events: number): BaselineResult {
  const text = readFileSync(file, "utf8");
  const found = FIELDS.map(() => 0);
  let sink = 0;
  let count = 0;
  const started = performance.now();
  for (let start = 0; start < text.length && count < events; ) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    const event = JSON.parse(text.slice(start, end)) as Record<string, unknown>;
    for (let i = 0; i < FIELDS.length; i++) {
      const value = event[FIELDS[i] as string];
      if (value === undefined) continue;
      found[i] = (found[i] ?? 0) + 1;
      sink += typeof value === "number" ? value : typeof value === "string" ? value.length : 0;
    }
    count++;
    start = end + 1;
  }
  const seconds = (performance.now() - started) / 1000;
  if (sink < 0) console.log(sink); // keeps the extraction observable
  return { name: "Bun JSON.parse per event", events: count, seconds, bytes: Buffer.byteLength(text), found };
}
