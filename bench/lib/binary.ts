/**
 * Runs the compiled binary (dist/sigma) once over an NDJSON file with
 * `--summary-json`, matches to /dev/null, and returns what it measured: the
 * run summary the binary wrote (events, matches, events/s, MB/s, per-batch
 * latency p50/p99, peak RSS) plus the rule count and the load+compile time it
 * reported on stderr, and the wall time of the whole process.
 */

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "bun";
import type { RunSummary } from "../../src/telemetry/summary.ts";
import { PIPELINES, ROOT, SCRATCH } from "./corpus.ts";

export const BINARY = process.env.SIGMA_BINARY ?? join(ROOT, "dist/sigma");

export interface BinaryRun {
  summary: RunSummary;
  rules: number;
  rejected: number;
  loadSeconds: number;
  wallSeconds: number;
}

export async function runBinary(rulePaths: string[], events: string, extra: string[] = []): Promise<BinaryRun> {
  const dir = mkdtempSync(join(SCRATCH, "run-"));
  const summaryPath = join(dir, "summary.json");
  const args = [
    ...rulePaths.flatMap((p) => ["--rules", p]),
    ...PIPELINES.flatMap((p) => ["--pipeline", p]),
    "--events", events, "--out", "/dev/null", "--summary-json", summaryPath, ...extra,
  ];
  const started = performance.now();
  const child = spawn([BINARY, ...args], { cwd: ROOT, stdout: "ignore", stderr: "pipe" });
  const stderr = await new Response(child.stderr).text();
  const code = await child.exited;
  const wallSeconds = (performance.now() - started) / 1000;
  try {
    if (code !== 0) throw new Error(`${BINARY} exited ${code}:\n${stderr.slice(-4000)}`);
    const loaded = /loaded (\d+) rules, rejected (\d+) \((\d+) ms(?:, cached plan)?\)/.exec(stderr);
    if (loaded === null) throw new Error(`no "loaded N rules" line in the binary's stderr:\n${stderr.slice(-4000)}`);
    const summary = JSON.parse(readFileSync(summaryPath, "utf8")) as RunSummary;
    return { summary, rules: Number(loaded[1]), rejected: Number(loaded[2]), loadSeconds: Number(loaded[3]) / 1000, wallSeconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
