/**
 * Rules → `SerializedPlan`. Folds filters into their target rules, resolves
 * correlations (rules that only feed a correlation get `emit: false`), lowers
 * every rule into the naive logical plan (logical.ts), runs the optimisation
 * passes (passes.ts: shared predicates, boolean simplification, unused
 * field/predicate removal) and validates the result against the contract in
 * types.ts. Per-rule problems come back as `RuleError`s, never exceptions.
 */

import type { RuleError, SigmaCorrelation, SigmaFilter, SigmaRule } from "../rules/ast.ts";
import { resolveCorrelations } from "../rules/correlation.ts";
import { applyFilters } from "../rules/filter.ts";
import { FieldTable, type LogicalPlan, lowerRule, syntheticId } from "./logical.ts";
import { optimize } from "./passes.ts";
import type { EngineOptions, Predicate, RulePlan, SerializedPlan } from "./types.ts";
import { PLAN_VERSION } from "./types.ts";
import { validatePlan } from "./validate.ts";

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  maxEventBytes: 1 << 20,
  maxDepth: 64,
  timestampField: null,
  threads: 0,
};

export interface BuildInput {
  rules: SigmaRule[];
  correlations?: SigmaCorrelation[];
  filters?: SigmaFilter[];
}

export interface BuildResult {
  plan: SerializedPlan;
  /** The optimised logical plan (what `explain` prints). */
  logical: LogicalPlan;
  errors: RuleError[];
  /** Which passes changed the plan, in order. */
  passLog: string[];
}

/** Build the logical plan only (before optimisation). */
export function lowerPlan(input: BuildInput, options: Partial<EngineOptions> = {}): { logical: LogicalPlan; errors: RuleError[] } {
  const errors: RuleError[] = [];
  const filtered = applyFilters(input.rules, input.filters ?? []).rules;
  const corrs = input.correlations ?? [];
  const fields = new FieldTable();
  const predicates: Predicate[] = [];
  const rules: RulePlan[] = [];
  const kept: SigmaRule[] = [];
  for (const r of filtered) {
    const mark = predicates.length;
    try {
      rules.push(lowerRule(r, fields, predicates, true));
      kept.push(r);
    } catch (e) {
      predicates.length = mark;
      errors.push({ path: r.path, id: r.id, title: r.title, code: "placeholder", message: (e as Error).message });
    }
  }
  const resolved = resolveCorrelations(kept, corrs, (i) => {
    const c = corrs[i] as SigmaCorrelation;
    return syntheticId(c.path, c.title);
  });
  for (const i of resolved.hiddenRules) (rules[i] as RulePlan).emit = false;
  for (const [i, msg] of resolved.errors) {
    const c = corrs[i] as SigmaCorrelation;
    errors.push({ path: c.path, id: c.id, title: c.title, code: "correlation", message: msg });
  }
  return {
    logical: { fields: fields.names, predicates, rules, correlations: resolved.plans, options: { ...DEFAULT_ENGINE_OPTIONS, ...options } },
    errors,
  };
}

export class PlanValidationError extends Error {}

/** Rules → validated SerializedPlan. Throws PlanValidationError only on a compiler bug. */
export function buildPlan(input: BuildInput, options: Partial<EngineOptions> = {}): BuildResult {
  const { logical, errors } = lowerPlan(input, options);
  const { plan: opt, log } = optimize(logical);
  const plan: SerializedPlan = { version: PLAN_VERSION, ...opt };
  const violations = validatePlan(plan, { uniquePredicates: true });
  if (violations.length > 0) throw new PlanValidationError(`invalid plan: ${violations.slice(0, 5).join("; ")}`);
  return { plan, logical: opt, errors, passLog: log };
}
