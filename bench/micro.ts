/**
 * Per-stage microbenchmarks (mitata) on a fixed slice of the corpus (the
 * first 20k events of windows_otrf_atomic, one batch) with the full SigmaHQ
 * plan: NDJSON parse only (an engine compiled from the same fields with no
 * rules), JSON → Arrow (jsonToArrow), match + resolve (evalJsonSync), the
 * Arrow path (evalArrow over a pre-built batch) and output rendering
 * (matchLines over one result). Prints per-stage time and events/s with the
 * rule and event counts; each stage's answer is checked before timing.
 *
 *   bun bench/micro.ts [--events 20000]
 */

import { readFileSync } from "node:fs";
import { do_not_optimize, bench, run } from "mitata";
import { LineOrigin, recordsOf, type RawJsonBatch } from "../src/batch/batch.ts";
import { matchLines } from "../src/io/records.ts";
import { Engine, jsonToArrow } from "../src/native/engine.ts";
import { atomicSliceFile, fullTreeDirs, inputsMissing, skip } from "./lib/corpus.ts";
import { describeMachine } from "./lib/machine.ts";
import { compileTimed } from "./lib/reference.ts";
import { expectEqual, fmtInt, fmtMs, markdownTable } from "./lib/report.ts";

const at = process.argv.indexOf("--events");
const eventCount = at === -1 ? 20_000 : Number(process.argv[at + 1]);
const missing = inputsMissing();
if (missing !== undefined) skip("micro", missing);

console.log(`machine: ${describeMachine()}`);
const full = compileTimed(fullTreeDirs());
const bytes = new Uint8Array(readFileSync(atomicSliceFile(eventCount)));
const origin = new LineOrigin("micro", 1);
const batch: RawJsonBatch = { kind: "json", bytes, origin };
const parseOnly = Engine.compile({ ...full.plan, predicates: [], rules: [], correlations: [] }).engine;

// Reference answers, checked once before timing.
const reference = full.engine.evalJsonSync(batch);
expectEqual("events in the slice", reference.events, eventCount);
expectEqual("parse-only engine: events", parseOnly.evalJsonSync(batch).events, eventCount);
expectEqual("parse-only engine: matches", parseOnly.evalJsonSync(batch).matchRules.length, 0);
const keys = new Set(full.plan.fields);
for (const line of new TextDecoder().decode(bytes).split("\n")) if (line !== "") for (const k of Object.keys(JSON.parse(line) as object)) keys.add(k);
const allFields = [...keys];
const arrowPlanFields = jsonToArrow(bytes, full.plan.fields);
const arrowAllFields = jsonToArrow(bytes, allFields);
expectEqual("jsonToArrow rows", arrowPlanFields.numRows, eventCount);
expectEqual("evalArrow (every field) matches vs evalJsonSync", (await full.engine.evalArrow({ kind: "arrow", records: recordsOf(arrowAllFields), origin })).matchRules.length, reference.matchRules.length);
const rendered = matchLines(reference);
expectEqual("rendered match records", rendered.split("\n").length - 1, reference.matchRules.length);
console.log(
  `slice: ${fmtInt(eventCount)} events, ${(bytes.byteLength / 1e6).toFixed(1)} MB, one batch; ${fmtInt(full.rules)} rules, ` +
    `${full.plan.fields.length} plan fields (${allFields.length} in the events), ${fmtInt(reference.matchRules.length)} matches`,
);

const stages: [string, () => unknown][] = [
  ["NDJSON parse only (no-rule engine, evalJsonSync)", () => parseOnly.evalJsonSync(batch).events],
  [`JSON → Arrow (jsonToArrow, ${full.plan.fields.length} plan fields)`, () => jsonToArrow(bytes, full.plan.fields).numRows],
  ["match + resolve (evalJsonSync, full plan)", () => full.engine.evalJsonSync(batch).matchRules.length],
  [`Arrow path (evalArrow, pre-built batch, ${allFields.length} columns)`, async () => (await full.engine.evalArrow({ kind: "arrow", records: recordsOf(arrowAllFields), origin })).matchRules.length],
  [`output rendering (matchLines, ${fmtInt(reference.matchRules.length)} records)`, () => matchLines(reference).length],
];
for (const [name, fn] of stages) bench(name, () => do_not_optimize(fn()));
const { benchmarks } = await run({ format: "mitata", colors: false });

const rows: string[][] = [["stage", "avg per batch", "p99", "events/s"]];
for (const trial of benchmarks) {
  const stats = trial.runs[0]?.stats;
  if (stats === undefined) continue;
  const ms = stats.avg / 1e6;
  rows.push([trial.alias, fmtMs(ms), fmtMs(stats.p99 / 1e6), fmtInt(eventCount / (ms / 1000))]);
}
console.log(`\n${fmtInt(full.rules)} rules, ${fmtInt(eventCount)} events per batch; machine: ${describeMachine()}\n`);
console.log(markdownTable(rows));
