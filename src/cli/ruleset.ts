/**
 * Rules path(s) → a running Engine: load (with pipelines), select by
 * metadata, plan, compile in the addon. Rules whose predicates the engine
 * refuses (a regex its linear-time engine cannot build, say) are rejected
 * with the engine's reason and the plan is built again without them, so a
 * bad rule never takes the others down.
 */

import { existsSync } from "node:fs";
import { Engine } from "../native/engine.ts";
import { buildPlan } from "../plan/build.ts";
import type { LogicalPlan } from "../plan/logical.ts";
import type { EngineOptions, Expr, SerializedPlan } from "../plan/types.ts";
import type { RuleError, SigmaRule } from "../rules/ast.ts";
import { loadRules, type LoadResult } from "../rules/load.ts";
import type { Pipeline } from "../rules/pipeline.ts";
import { isSelected, type RuleSelection } from "../rules/select.ts";
import { readCachedRuleSet, ruleSetKey, writeCachedRuleSet } from "./plan-cache.ts";

export class RulesUnusable extends Error {}

export interface RuleSetOptions {
  paths: string[];
  pipelines: Pipeline[];
  placeholders: Record<string, string[]>;
  selection: RuleSelection;
  engine: Partial<EngineOptions>;
  /** Where compiled plans are cached; null disables the cache. */
  cacheDir: string | null;
}

export interface CompiledRuleSet {
  engine: Engine;
  plan: SerializedPlan;
  /** Which plan passes changed the plan, in order. */
  passLog: string[];
  /** Rules in the plan (detection rules plus correlations). */
  loaded: number;
  rejected: RuleError[];
  warnings: RuleError[];
  seconds: number;
  /** True when the plan came from the plan cache. */
  cached: boolean;
}

/**
 * A rule set compiled from its rules, with the optimised logical plan that
 * `explain` prints. The plan cache does not keep it: it would double the
 * cached JSON a warm start parses (11 of 23 MB for 10k rules, ~55 MiB of
 * peak RSS).
 */
export interface ExplainableRuleSet extends CompiledRuleSet {
  logical: LogicalPlan;
}

/**
 * What a run keeps of a compiled rule set: not the plan, whose JS objects
 * (~50 MiB for 10k rules) the engine no longer needs once compiled.
 */
export type RunningRuleSet = Omit<CompiledRuleSet, "plan" | "passLog">;

export function runningRuleSet({ plan: _plan, passLog: _passLog, ...kept }: CompiledRuleSet): RunningRuleSet {
  return kept;
}

/** Names a rule the same way in the plan and in the loaded rules (plan ids of id-less rules are synthetic). */
function ruleKey(rule: { path: string; title: string }): string {
  return `${rule.path}\u0000${rule.title}`;
}

function predicatesOf(expr: Expr, out: Set<number>): void {
  if ("pred" in expr) out.add(expr.pred);
  else if ("and" in expr) for (const e of expr.and) predicatesOf(e, out);
  else if ("or" in expr) for (const e of expr.or) predicatesOf(e, out);
  else if ("not" in expr) predicatesOf(expr.not, out);
}

export function loadRuleSet(options: RuleSetOptions): LoadResult {
  for (const path of options.paths) {
    if (!existsSync(path)) throw new RulesUnusable(`rules path not found: ${path}`);
  }
  const loaded = loadRules(options.paths, { pipelines: options.pipelines, placeholders: options.placeholders });
  const keep = <T extends SigmaRule | LoadResult["correlations"][number] | LoadResult["filters"][number]>(items: T[]): T[] =>
    items.filter((r) => isSelected(r, options.selection));
  return { rules: keep(loaded.rules), correlations: keep(loaded.correlations), filters: loaded.filters, errors: loaded.errors, warnings: loaded.warnings };
}

export function compileRuleSet(options: RuleSetOptions): CompiledRuleSet {
  const started = performance.now();
  for (const path of options.paths) {
    if (!existsSync(path)) throw new RulesUnusable(`rules path not found: ${path}`);
  }
  const key = options.cacheDir === null ? null : ruleSetKey(options);
  if (options.cacheDir !== null && key !== null) {
    const cached = readCachedRuleSet(options.cacheDir, key);
    if (cached !== null) {
      const { engine, errors } = Engine.compile(cached.plan);
      if (errors.length === 0) {
        const loaded = cached.plan.rules.length + cached.plan.correlations.length;
        return { engine, ...cached, loaded, seconds: (performance.now() - started) / 1000, cached: true };
      }
    }
  }
  const compiled = compileFromSources(options, started);
  if (options.cacheDir !== null && key !== null) {
    writeCachedRuleSet(options.cacheDir, key, { plan: compiled.plan, passLog: compiled.passLog, rejected: compiled.rejected, warnings: compiled.warnings });
  }
  return compiled;
}

/** Compiles from the rules themselves, bypassing the plan cache. */
export function compileFromRules(options: RuleSetOptions): ExplainableRuleSet {
  return compileFromSources(options, performance.now());
}

function compileFromSources(options: RuleSetOptions, started: number): ExplainableRuleSet {
  const loaded = loadRuleSet(options);
  let rules = loaded.rules;
  const rejected = [...loaded.errors];
  for (let attempt = 0; ; attempt++) {
    const build = buildPlan({ rules, correlations: loaded.correlations, filters: loaded.filters }, options.engine);
    const { engine, errors } = Engine.compile(build.plan);
    if (errors.length === 0 || attempt > 0) {
      rejected.push(...build.errors);
      const loadedCount = build.plan.rules.length + build.plan.correlations.length;
      if (loadedCount === 0) {
        throw new RulesUnusable(`no usable rules under ${options.paths.join(", ")} (${rejected.length} rejected)`);
      }
      return {
        engine,
        plan: build.plan,
        passLog: build.passLog,
        logical: build.logical,
        loaded: loadedCount,
        rejected,
        warnings: loaded.warnings,
        seconds: (performance.now() - started) / 1000,
        cached: false,
      };
    }
    // Map refused predicates to the rules that use them, reject those, plan again.
    const reasons = new Map(errors.map((e) => [e.predicate, e.message]));
    const refused = new Map<string, string>();
    build.plan.rules.forEach((rule) => {
      const used = new Set<number>();
      predicatesOf(rule.condition, used);
      for (const p of used) {
        const reason = reasons.get(p);
        if (reason !== undefined) refused.set(ruleKey(rule), reason);
      }
    });
    rules = rules.filter((r) => {
      const reason = refused.get(ruleKey(r));
      if (reason === undefined) return true;
      rejected.push({ path: r.path, id: r.id, title: r.title, code: "regex", message: reason });
      return false;
    });
  }
}
