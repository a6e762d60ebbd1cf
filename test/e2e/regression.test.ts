/**
 * SigmaHQ's regression corpus (../shared/regression): real events paired
 * with the rules that must match them, at least `min_matching_events` times
 * (every event when `all_events_must_match`). The compiled binary runs all
 * the manifest's rules over all its events in one run, once without a
 * pipeline and once with logsource routing (`--pipeline sysmon --pipeline
 * windows`, thor.yml's mapping), and every case must be detected in both.
 * Skips with a message when ../shared is absent.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY, runBinary, SHARED } from "../support/binary.ts";

interface Case {
  rule_id: string;
  rule_path: string;
  event_file: string;
  event_count: number;
  min_matching_events: number;
  all_events_must_match: boolean;
}

const REGRESSION = join(SHARED, "regression");
const available = existsSync(join(REGRESSION, "manifest.jsonl")) && existsSync(BINARY);
if (!available) process.stderr.write("regression.test.ts: skipped, needs ../shared/regression and dist/sigma (npm run build)\n");

const dir = mkdtempSync(join(tmpdir(), "sigma-regression-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!available)("SigmaHQ regression corpus through dist/sigma", () => {
  const cases: Case[] = available
    ? readFileSync(join(REGRESSION, "manifest.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Case)
    : [];
  // One events file for all cases; remember which lines belong to which case.
  const lines: string[] = [];
  const caseOfLine: number[] = [];
  cases.forEach((c, i) => {
    for (const line of readFileSync(join(REGRESSION, c.event_file), "utf8").split("\n")) {
      if (line.trim() === "") continue;
      lines.push(line);
      caseOfLine.push(i);
    }
  });
  const eventsPath = join(dir, "events.ndjson");
  if (available) writeFileSync(eventsPath, lines.join("\n") + "\n");

  for (const pipelines of [[], ["sysmon", "windows"]]) {
    test(`every case is detected (${pipelines.length === 0 ? "no pipeline" : `pipelines ${pipelines.join(", ")}`})`, async () => {
      const rules = [...new Set(cases.map((c) => join(SHARED, "sigma", c.rule_path)))];
      const args = ["--events", eventsPath, "--out", "-", "--quiet", ...rules.flatMap((r) => ["--rules", r]), ...pipelines.flatMap((p) => ["--pipeline", p])];
      const run = await runBinary(args);
      expect(run.stderr).toBe("");
      expect(run.exitCode).toBe(0);
      // (case index, rule id) → matched lines
      const matched = new Map<string, Set<number>>();
      for (const text of run.stdout.split("\n")) {
        if (text === "") continue;
        const record = JSON.parse(text) as { rule: { id: string }; source: { line: number } };
        const line = record.source.line - 1;
        const key = `${caseOfLine[line]}\u0000${record.rule.id}`;
        let set = matched.get(key);
        if (set === undefined) matched.set(key, (set = new Set()));
        set.add(line);
      }
      const missed: string[] = [];
      cases.forEach((c, i) => {
        const hits = matched.get(`${i}\u0000${c.rule_id}`)?.size ?? 0;
        const needed = c.all_events_must_match ? c.event_count : c.min_matching_events;
        if (hits < needed) missed.push(`${c.rule_path}: ${hits}/${needed} events matched`);
      });
      process.stderr.write(`regression (${pipelines.join("+") || "no pipeline"}): ${cases.length - missed.length}/${cases.length} cases detected\n`);
      expect(missed).toEqual([]);
    }, 120_000);
  }
});
