/**
 * A readable, DataFusion-EXPLAIN-like text of the logical plan: a summary
 * line, each field with its predicate counts by kind, the predicates shared
 * by more than one rule, then one line per rule and correlation. Every node
 * type (field, predicate, expression, rule, correlation) has its own one-line
 * description function, so the golden tests pin each format separately.
 */

import type { LogicalPlan } from "./logical.ts";
import type { CorrelationPlan, Expr, Predicate, RulePlan } from "./types.ts";
import { KEYWORD_FIELD } from "./types.ts";

function fieldName(plan: LogicalPlan, f: number): string {
  return f === KEYWORD_FIELD ? "<keywords>" : (plan.fields[f] ?? `#${f}`);
}

function quote(s: string, max = 60): string {
  const j = JSON.stringify(s);
  return j.length > max ? `${j.slice(0, max - 4)}…"` : j;
}

/** The kind label used for grouping: `string:contains`, `regex`, ... */
export function predicateKind(p: Predicate): string {
  return p.op.kind === "string" ? `string:${p.op.mode}` : p.op.kind;
}

/** One line: `#12 CommandLine contains " -enc" (ci)`. */
export function describePredicate(plan: LogicalPlan, id: number): string {
  const p = plan.predicates[id];
  if (p === undefined) return `#${id} <missing>`;
  const f = fieldName(plan, p.field);
  const op = p.op;
  const ci = (cased: boolean): string => (cased ? "" : " (ci)");
  switch (op.kind) {
    case "string":
      return `#${id} ${f} ${op.mode} ${quote(op.value)}${ci(op.cased)}`;
    case "glob":
      return `#${id} ${f} glob ${quote(op.parts.map((g) => ("lit" in g ? g.lit : "any" in g ? "*" : "?")).join(""))}${ci(op.cased)}`;
    case "regex": {
      const fl = `${op.flags.i ? "i" : ""}${op.flags.m ? "m" : ""}${op.flags.s ? "s" : ""}`;
      return `#${id} ${f} regex /${op.pattern}/${fl}`;
    }
    case "compare":
      return `#${id} ${f} ${op.cmp} ${op.value}`;
    case "cidr":
      return `#${id} ${f} cidr ${op.network}`;
    case "exists":
      return `#${id} ${f} exists`;
    case "null":
      return `#${id} ${f} is null`;
    case "fieldref":
      return `#${id} ${f} ${op.mode} field ${fieldName(plan, op.other)}${ci(op.cased)}`;
    case "timepart":
      return `#${id} ${f} ${op.part} = ${op.value}`;
  }
}

/** One line: `Image: 3 predicates (string:suffix=2, regex=1)`. */
export function describeField(plan: LogicalPlan, f: number, counts: Map<string, number>): string {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const kinds = [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, n]) => `${k}=${n}`);
  return `${fieldName(plan, f)}: ${total} predicate${total === 1 ? "" : "s"} (${kinds.join(", ")})`;
}

/** A compact infix rendering of an expression over predicate ids. */
export function describeExpr(e: Expr): string {
  if ("pred" in e) return `#${e.pred}`;
  if ("const" in e) return e.const ? "true" : "false";
  if ("not" in e) return "and" in e.not || "or" in e.not ? `not (${describeExpr(e.not)})` : `not ${describeExpr(e.not)}`;
  const kids = ("and" in e ? e.and : e.or).map((k) => ("and" in k || "or" in k ? `(${describeExpr(k)})` : describeExpr(k)));
  return kids.join("and" in e ? " and " : " or ");
}

function countPreds(e: Expr): number {
  if ("pred" in e) return 1;
  if ("const" in e) return 0;
  if ("not" in e) return countPreds(e.not);
  return ("and" in e ? e.and : e.or).reduce((a, k) => a + countPreds(k), 0);
}

/** One line: `[high] Title (id) emit preds=4: #1 and (#2 or #3)`. */
export function describeRule(r: RulePlan, maxExpr = 120): string {
  let ex = describeExpr(r.condition);
  if (ex.length > maxExpr) ex = `${ex.slice(0, maxExpr - 1)}…`;
  return `[${r.level ?? "-"}] ${r.title} (${r.id})${r.emit ? "" : " no-emit"} preds=${countPreds(r.condition)}: ${ex}`;
}

/** One line: `event_count "Title" (id) sources=[0,1] group-by=[[User],[User]] within 5m when gte 5`. */
export function describeCorrelation(c: CorrelationPlan): string {
  const cond = Object.entries(c.condition)
    .map(([k, v]) => `${k} ${v}`)
    .join(" and ");
  const span = c.timespanMs % 3_600_000 === 0 ? `${c.timespanMs / 3_600_000}h` : c.timespanMs % 60_000 === 0 ? `${c.timespanMs / 60_000}m` : `${c.timespanMs / 1000}s`;
  const value = c.valueField === null ? "" : ` field=${c.valueField}`;
  return `${c.kind} "${c.title}" (${c.id})${c.emit ? "" : " no-emit"} sources=[${c.sources.join(",")}] group-by=${JSON.stringify(c.groupBy)}${value} within ${span} when ${cond}`;
}

export interface ExplainOptions {
  /** Include one line per rule (default true). */
  rules?: boolean;
  /** Cap on listed shared predicates (default 50). */
  maxShared?: number;
}

/** The full EXPLAIN text of a logical plan. */
export function explainPlan(plan: LogicalPlan, opts: ExplainOptions = {}): string {
  const out: string[] = [];
  const byField = new Map<number, Map<string, number>>();
  plan.predicates.forEach((p) => {
    const m = byField.get(p.field) ?? new Map<string, number>();
    const k = predicateKind(p);
    m.set(k, (m.get(k) ?? 0) + 1);
    byField.set(p.field, m);
  });
  const users = new Map<number, number>();
  for (const r of plan.rules) {
    const seen = new Set<number>();
    const visit = (e: Expr): void => {
      if ("pred" in e) seen.add(e.pred);
      else if ("and" in e) e.and.forEach(visit);
      else if ("or" in e) e.or.forEach(visit);
      else if ("not" in e) visit(e.not);
    };
    visit(r.condition);
    for (const p of seen) users.set(p, (users.get(p) ?? 0) + 1);
  }
  const shared = [...users.entries()].filter(([, n]) => n > 1).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  const emitting = plan.rules.filter((r) => r.emit).length;
  out.push(`LogicalPlan: fields=${plan.fields.length} predicates=${plan.predicates.length} shared=${shared.length} rules=${plan.rules.length} (emit=${emitting}) correlations=${plan.correlations.length}`);
  out.push("  Fields:");
  const fieldIds = [...byField.keys()].sort((a, b) => a - b);
  for (const f of fieldIds) out.push(`    ${describeField(plan, f, byField.get(f) ?? new Map())}`);
  const maxShared = opts.maxShared ?? 50;
  out.push(`  SharedPredicates: ${shared.length}`);
  for (const [p, n] of shared.slice(0, maxShared)) out.push(`    ${describePredicate(plan, p)} used by ${n} rules`);
  if (shared.length > maxShared) out.push(`    … ${shared.length - maxShared} more`);
  if (opts.rules ?? true) {
    out.push(`  Rules: ${plan.rules.length}`);
    for (const r of plan.rules) out.push(`    ${describeRule(r)}`);
    out.push(`  Correlations: ${plan.correlations.length}`);
    for (const c of plan.correlations) out.push(`    ${describeCorrelation(c)}`);
  }
  return out.join("\n");
}
