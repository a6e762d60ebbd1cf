/**
 * The in-process side of the benches: compile the full SigmaHQ tree with the
 * same options the binary uses, timing each step (YAML load + pipelines, plan
 * build, engine compile), and the reference evaluation whose match counts the
 * timed runs must reproduce. Counts are kept per rule file so that rule-set
 * subsets and repeated rule sets can derive their expected totals.
 */

import { compileRuleSet, loadRuleSet, type RuleSetOptions } from "../../src/cli/ruleset.ts";
import { Engine } from "../../src/native/engine.ts";
import { buildPlan } from "../../src/plan/build.ts";
import type { SerializedPlan } from "../../src/plan/types.ts";
import { loadPipelines } from "../../src/rules/pipeline.ts";
import { LineOrigin } from "../../src/batch/batch.ts";
import { PIPELINES } from "./corpus.ts";

export interface Compiled {
  engine: Engine;
  plan: SerializedPlan;
  rules: number;
  rejected: number;
  /** Seconds per step: YAML load with pipelines and selection, plan build, native compile. */
  seconds: { load: number; plan: number; compile: number; total: number };
}

export function ruleSetOptions(paths: string[]): RuleSetOptions {
  return {
    paths,
    pipelines: loadPipelines(PIPELINES),
    placeholders: {},
    selection: { minLevel: null, statuses: [], tags: [], includeIds: [], excludeIds: [], includePaths: [], excludePaths: [] },
    engine: { threads: 0, maxEventBytes: 1 << 20, maxDepth: 64 },
    // The reference measures compiling from the sources, never a cached plan.
    cacheDir: null,
  };
}

export function compileTimed(paths: string[]): Compiled {
  const options = ruleSetOptions(paths);
  const t0 = performance.now();
  const loaded = loadRuleSet(options);
  const t1 = performance.now();
  const build = buildPlan({ rules: loaded.rules, correlations: loaded.correlations, filters: loaded.filters }, options.engine);
  const t2 = performance.now();
  const { engine, errors } = Engine.compile(build.plan);
  const t3 = performance.now();
  const seconds = { load: (t1 - t0) / 1000, plan: (t2 - t1) / 1000, compile: (t3 - t2) / 1000, total: (t3 - t0) / 1000 };
  if (errors.length === 0) {
    const rules = build.plan.rules.length + build.plan.correlations.length;
    return { engine, plan: build.plan, rules, rejected: loaded.errors.length + build.errors.length, seconds };
  }
  // The engine refused predicates: take the CLI's path (reject those rules, plan again) so counts agree with the binary.
  const set = compileRuleSet(options);
  seconds.total = (performance.now() - t0) / 1000;
  return { engine: set.engine, plan: set.plan, rules: set.loaded, rejected: set.rejected.length, seconds };
}

export interface Tally {
  events: number;
  matches: number;
  bytes: number;
  /** Matches per rule file (plan rule path). */
  byPath: Map<string, number>;
}

export function emptyTally(): Tally {
  return { events: 0, matches: 0, bytes: 0, byPath: new Map() };
}

/** Evaluates `chunks` with evalJsonSync and adds their counts to `tally`. */
export function referenceJson(compiled: Compiled, chunks: readonly Uint8Array[], tally: Tally = emptyTally()): Tally {
  const paths = compiled.engine.rules.map((r) => r.path);
  const origin = new LineOrigin("reference", 1);
  for (const bytes of chunks) {
    const result = compiled.engine.evalJsonSync({ kind: "json", bytes, origin });
    tally.events += result.events;
    tally.bytes += bytes.byteLength;
    tally.matches += result.matchRules.length;
    for (const rule of result.matchRules) {
      const path = paths[rule] ?? `#${rule}`;
      tally.byPath.set(path, (tally.byPath.get(path) ?? 0) + 1);
    }
  }
  return tally;
}

/** Rules in the plan per rule file. */
export function rulesPerPath(compiled: Compiled): Map<string, number> {
  const out = new Map<string, number>();
  for (const rule of compiled.engine.rules) out.set(rule.path, (out.get(rule.path) ?? 0) + 1);
  return out;
}
