/**
 * Run totals, fed one EvalResult at a time: events, dead letters, matches
 * per level and per rule. The CLI prints them at the end of every run.
 */

import { readFileSync } from "node:fs";
import type { EvalResult } from "../io/result.ts";

export interface RunSummary {
  events: number;
  lines: number;
  deadLetters: number;
  matches: number;
  matchesByLevel: Record<string, number>;
  topRules: { id: string; title: string; matches: number }[];
  seconds: number;
  eventsPerSecond: number;
  bytes: number;
  batches: number;
  /** Per-batch latency from entering the engine to its result, in ms. */
  batchLatencyMs: { p50: number; p99: number; max: number };
  peakRssBytes: number;
}

/**
 * The process's own peak resident set. On Linux this is VmHWM: getrusage's
 * maxRSS survives execve, so a child of a large process would report its
 * parent's size.
 */
function peakRss(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (match !== null) return Number(match[1]) * 1024;
  } catch {
    // not Linux: fall back to getrusage
  }
  return process.resourceUsage().maxRSS * 1024;
}

/** The `p` quantile (0..1) of ascending `sorted`, nearest rank; 0 when it is empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

export class SummaryCollector {
  #lines = 0;
  #events = 0;
  #dead = 0;
  #matches = 0;
  #byRule = new Map<number, number>();
  #bytes = 0;
  #latencies: number[] = [];
  readonly #started = performance.now();
  #rules: EvalResult["rules"] = [];

  add(result: EvalResult, latencyMs: number): void {
    this.#rules = result.rules;
    this.#latencies.push(latencyMs);
    if (result.batch.kind === "json") this.#bytes += result.batch.bytes.byteLength;
    this.#lines += result.rows;
    this.#events += result.events;
    this.#dead += result.deadLetters.length;
    this.#matches += result.matchRules.length;
    for (const rule of result.matchRules) this.#byRule.set(rule, (this.#byRule.get(rule) ?? 0) + 1);
  }

  /** Events evaluated so far: input rows that were neither blank nor dead-lettered. */
  get events(): number {
    return this.#events;
  }

  finish(top = 10): RunSummary {
    const seconds = (performance.now() - this.#started) / 1000;
    const matchesByLevel: Record<string, number> = {};
    const ranked = [...this.#byRule.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    for (const [rule, count] of ranked) {
      const level = this.#rules[rule]?.level ?? "none";
      matchesByLevel[level] = (matchesByLevel[level] ?? 0) + count;
    }
    return {
      events: this.events,
      lines: this.#lines,
      deadLetters: this.#dead,
      matches: this.#matches,
      matchesByLevel,
      topRules: ranked.slice(0, top).map(([rule, matches]) => ({
        id: this.#rules[rule]?.id ?? String(rule),
        title: this.#rules[rule]?.title ?? "",
        matches,
      })),
      seconds,
      eventsPerSecond: seconds > 0 ? this.events / seconds : 0,
      bytes: this.#bytes,
      batches: this.#latencies.length,
      batchLatencyMs: (() => {
        const sorted = [...this.#latencies].sort((a, b) => a - b);
        return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1] ?? 0 };
      })(),
      peakRssBytes: peakRss(),
    };
  }
}
