/**
 * The logical plan: the same tables as the serialized plan (fields,
 * predicates, rules, correlations) but built naively — one predicate per AST
 * leaf, fields interned on first use — so that the optimisation passes in
 * passes.ts have something to do. `lowerRules` produces it from resolved
 * rules; `predicateKey` is the stable structural key used to share
 * predicates across rules.
 */

import type { DetExpr, FieldPredicate, SigmaRule } from "../rules/ast.ts";
import { ruleExpr } from "../rules/walk.ts";
import type { CorrelationPlan, EngineOptions, Expr, Predicate, RulePlan } from "./types.ts";
import { KEYWORD_FIELD } from "./types.ts";

export interface LogicalPlan {
  fields: string[];
  predicates: Predicate[];
  rules: RulePlan[];
  correlations: CorrelationPlan[];
  options: EngineOptions;
}

/** A deterministic string naming a predicate's structure (same key ⇔ same predicate). */
export function predicateKey(p: Predicate): string {
  const op = p.op;
  const head = `${p.field}|${op.kind}`;
  switch (op.kind) {
    case "string":
      return `${head}|${op.mode}|${op.cased ? "c" : "i"}|${op.value}`;
    case "glob":
      return `${head}|${op.cased ? "c" : "i"}|${op.parts.map((g) => ("lit" in g ? `l${g.lit.length}:${g.lit}` : "any" in g ? "*" : "?")).join("")}`;
    case "regex":
      return `${head}|${op.flags.i ? "i" : ""}${op.flags.m ? "m" : ""}${op.flags.s ? "s" : ""}|${op.pattern}`;
    case "compare":
      return `${head}|${op.cmp}|${op.value}`;
    case "cidr":
      return `${head}|${op.network}`;
    case "exists":
    case "null":
      return head;
    case "fieldref":
      return `${head}|${op.other}|${op.mode}|${op.cased ? "c" : "i"}`;
    case "timepart":
      return `${head}|${op.part}|${op.value}`;
  }
}

export function syntheticId(path: string, title: string): string {
  let h = 0x811c9dc5;
  for (const ch of `${path}\u0000${title}`) {
    h ^= ch.codePointAt(0) ?? 0;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `synthetic-${h.toString(16).padStart(8, "0")}`;
}

export class FieldTable {
  readonly names: string[] = [];
  private readonly index = new Map<string, number>();
  intern(name: string): number {
    let i = this.index.get(name);
    if (i === undefined) {
      i = this.names.length;
      this.names.push(name);
      this.index.set(name, i);
    }
    return i;
  }
}

function lowerPredicate(p: FieldPredicate, fields: FieldTable): Predicate {
  const field = p.field === null ? KEYWORD_FIELD : fields.intern(p.field);
  if (p.op.kind === "fieldref") return { field, op: { ...p.op, other: fields.intern(p.op.other) } };
  return { field, op: p.op };
}

/** Lower one expression; throws on an unresolved placeholder. */
export function lowerExpr(e: DetExpr, fields: FieldTable, preds: Predicate[]): Expr {
  if ("and" in e) return { and: e.and.map((x) => lowerExpr(x, fields, preds)) };
  if ("or" in e) return { or: e.or.map((x) => lowerExpr(x, fields, preds)) };
  if ("not" in e) return { not: lowerExpr(e.not, fields, preds) };
  if ("const" in e) return { const: e.const };
  if ("placeholder" in e) throw new Error(`unresolved placeholder '${e.placeholder.value}'`);
  preds.push(lowerPredicate(e.pred, fields));
  return { pred: preds.length - 1 };
}

export function lowerRule(r: SigmaRule, fields: FieldTable, preds: Predicate[], emit: boolean): RulePlan {
  return {
    id: r.id ?? syntheticId(r.path, r.title),
    title: r.title,
    level: r.level,
    status: r.status,
    tags: r.tags,
    name: r.name,
    path: r.path,
    condition: lowerExpr(ruleExpr(r), fields, preds),
    emit,
  };
}
