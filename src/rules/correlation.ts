/**
 * Sigma correlation rules (spec v2.1): parsing of the `correlation` section
 * (type, rules by id or name, group-by, timespan, condition, field, aliases,
 * generate) and resolution of the references between rules and correlations
 * (a correlation may use other correlations) into plan indexes, with checks
 * for unknown references and cycles.
 */

import type { ConditionBound, CorrelationKind, CorrelationPlan } from "../plan/types.ts";
import type { SigmaCorrelation, SigmaRule } from "./ast.ts";
import { RuleCompileError } from "./ast.ts";
import { isMap } from "./detection.ts";
import { readMeta } from "./meta.ts";

const KINDS = new Set<string>(["event_count", "value_count", "temporal", "temporal_ordered", "value_sum", "value_avg", "value_percentile"]);
const VALUE_KINDS = new Set<string>(["value_count", "value_sum", "value_avg", "value_percentile"]);
const BOUNDS = ["gt", "gte", "lt", "lte", "eq", "neq"] as const;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

function fail(msg: string): never {
  throw new RuleCompileError("correlation", msg);
}

/** `5m`, `1h`, `2d`, `30s` → milliseconds. */
export function parseTimespan(v: unknown): number {
  const s = typeof v === "number" ? `${v}s` : v;
  if (typeof s !== "string") fail(`timespan must be a string like '5m', got ${JSON.stringify(v)}`);
  const m = /^\s*(\d+)\s*([smhdw])\s*$/.exec(s);
  if (!m) fail(`invalid timespan '${s}' (expected a number followed by s, m, h, d or w)`);
  const n = Number(m[1]);
  if (n <= 0) fail(`timespan must be positive, got '${s}'`);
  return n * (UNIT_MS[m[2] as string] ?? 0);
}

function stringList(v: unknown, what: string): string[] {
  if (v === undefined || v === null) return [];
  const xs = Array.isArray(v) ? v : [v];
  if (xs.some((x) => typeof x !== "string")) fail(`'${what}' must be a list of strings`);
  return xs as string[];
}

export function parseCorrelation(doc: Record<string, unknown>, path: string): SigmaCorrelation {
  const meta = readMeta(doc, path);
  const c = doc["correlation"];
  if (!isMap(c)) fail("'correlation' must be a map");
  const type = c["type"];
  if (typeof type !== "string" || !KINDS.has(type)) fail(`unknown correlation type ${JSON.stringify(type)}`);
  const rules = stringList(c["rules"], "rules");
  if (rules.length === 0) fail("correlation has no 'rules'");
  const groupBy = stringList(c["group-by"], "group-by");
  const timespanMs = parseTimespan(c["timespan"] ?? c["timeframe"]);
  const cond = c["condition"];
  const condition: ConditionBound = {};
  let valueField: string | null = null;
  let percentile: number | null = null;
  if (cond === undefined || cond === null) {
    if (type !== "temporal" && type !== "temporal_ordered") fail(`correlation type '${type}' needs a 'condition'`);
    condition.gte = rules.length; // temporal: every referenced rule must occur
  } else {
    if (!isMap(cond)) fail("correlation 'condition' must be a map");
    for (const [k, v] of Object.entries(cond)) {
      if (k === "field") {
        if (typeof v !== "string") fail("condition 'field' must be a string");
        valueField = v;
      } else if (k === "percentile") {
        if (typeof v !== "number" || v < 0 || v > 100) fail("condition 'percentile' must be a number between 0 and 100");
        percentile = v;
      } else if ((BOUNDS as readonly string[]).includes(k)) {
        if (typeof v !== "number") fail(`condition '${k}' must be a number`);
        condition[k as (typeof BOUNDS)[number]] = v;
      } else fail(`unknown correlation condition key '${k}'`);
    }
    if (!BOUNDS.some((b) => b in condition)) fail("correlation condition needs one of gt, gte, lt, lte, eq, neq");
  }
  if (VALUE_KINDS.has(type) && valueField === null) fail(`correlation type '${type}' needs 'condition.field'`);
  const aliases = new Map<string, Map<string, string>>();
  const al = c["aliases"];
  if (al !== undefined && al !== null) {
    if (!isMap(al)) fail("'aliases' must be a map");
    for (const [alias, m] of Object.entries(al)) {
      if (!isMap(m)) fail(`alias '${alias}' must map rule names to field names`);
      const inner = new Map<string, string>();
      for (const [r, f] of Object.entries(m)) {
        if (typeof f !== "string") fail(`alias '${alias}.${r}' must be a field name`);
        inner.set(r, f);
      }
      aliases.set(alias, inner);
    }
  }
  const gen = c["generate"] ?? doc["generate"] ?? false;
  if (typeof gen !== "boolean") fail("'generate' must be true or false");
  return {
    ...meta,
    kind: "correlation",
    type: type as CorrelationKind,
    rules,
    groupBy,
    timespanMs,
    condition,
    valueField,
    percentile,
    aliases,
    generate: gen,
  };
}

export interface ResolvedCorrelations {
  plans: CorrelationPlan[];
  /** Indexes of rules that only feed correlations (emit false). */
  hiddenRules: Set<number>;
  /** Errors by correlation index. */
  errors: Map<number, string>;
}

/**
 * Resolve references: `sources` index rules, or correlations offset by
 * `rules.length`. A correlation with an unknown reference or in a cycle is
 * reported and left out; correlations that depend on it are left out too.
 */
export function resolveCorrelations(rules: SigmaRule[], corrs: SigmaCorrelation[], syntheticId: (i: number) => string): ResolvedCorrelations {
  const byRef = new Map<string, { kind: "rule" | "corr"; index: number }>();
  rules.forEach((r, i) => {
    if (r.id !== null) byRef.set(r.id, { kind: "rule", index: i });
    if (r.name !== null) byRef.set(r.name, { kind: "rule", index: i });
  });
  corrs.forEach((c, i) => {
    if (c.id !== null) byRef.set(c.id, { kind: "corr", index: i });
    if (c.name !== null) byRef.set(c.name, { kind: "corr", index: i });
  });
  const errors = new Map<number, string>();
  // state: 0 unvisited, 1 visiting, 2 ok, 3 failed
  const state = new Array<number>(corrs.length).fill(0);
  const visit = (i: number): boolean => {
    if (state[i] === 2) return true;
    if (state[i] === 3) return false;
    if (state[i] === 1) {
      errors.set(i, "correlation references form a cycle");
      return false;
    }
    state[i] = 1;
    const c = corrs[i] as SigmaCorrelation;
    for (const ref of c.rules) {
      const t = byRef.get(ref);
      if (t === undefined) {
        errors.set(i, `correlation references unknown rule '${ref}'`);
        state[i] = 3;
        return false;
      }
      if (t.kind === "corr" && !visit(t.index)) {
        if (!errors.has(i)) errors.set(i, `correlation depends on invalid correlation '${ref}'`);
        state[i] = 3;
        return false;
      }
    }
    state[i] = 2;
    return true;
  };
  corrs.forEach((_, i) => visit(i));

  // Final indexes: valid correlations keep their relative order.
  const kept = corrs.map((_, i) => i).filter((i) => state[i] === 2);
  const newIndex = new Map<number, number>(kept.map((old, k) => [old, k]));
  const hiddenRules = new Set<number>();
  const hiddenCorrs = new Set<number>();
  const plans: CorrelationPlan[] = [];
  for (const i of kept) {
    const c = corrs[i] as SigmaCorrelation;
    const sources: number[] = [];
    const groupBy: string[][] = [];
    for (const ref of c.rules) {
      const t = byRef.get(ref) as { kind: "rule" | "corr"; index: number };
      const src = t.kind === "rule" ? rules[t.index] : corrs[t.index];
      sources.push(t.kind === "rule" ? t.index : rules.length + (newIndex.get(t.index) ?? -1));
      if (!c.generate) (t.kind === "rule" ? hiddenRules : hiddenCorrs).add(t.index);
      groupBy.push(
        c.groupBy.map((g) => {
          const alias = c.aliases.get(g);
          if (alias === undefined) return g;
          const f = (src?.name != null ? alias.get(src.name) : undefined) ?? (src?.id != null ? alias.get(src.id) : undefined) ?? alias.get(ref);
          if (f === undefined) errors.set(i, `alias '${g}' has no field for rule '${ref}'`);
          return f ?? g;
        }),
      );
    }
    plans.push({
      id: c.id ?? syntheticId(i),
      title: c.title,
      level: c.level,
      status: c.status,
      tags: c.tags,
      name: c.name,
      path: c.path,
      kind: c.type,
      sources,
      groupBy,
      timespanMs: c.timespanMs,
      condition: c.condition,
      valueField: c.valueField,
      percentile: c.percentile,
      emit: true,
    });
  }
  kept.forEach((old, k) => {
    if (hiddenCorrs.has(old)) (plans[k] as CorrelationPlan).emit = false;
  });
  return { plans, hiddenRules, errors };
}
