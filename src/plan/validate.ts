/**
 * Checks the invariants documented in types.ts on a plan: unique field
 * names, predicate fields and fieldref targets in range, structurally unique
 * predicates, expression nodes indexing existing predicates, case-insensitive
 * string values already folded, correlation sources in range and not
 * self-referential. Returns the list of violations (empty when valid).
 */

import { foldCase } from "../rules/fold.ts";
import { predicateKey } from "./logical.ts";
import type { Expr, Predicate } from "./types.ts";
import { KEYWORD_FIELD } from "./types.ts";

export interface PlanTables {
  fields: string[];
  predicates: Predicate[];
  rules: { id: string; condition: Expr }[];
  correlations: { id: string; sources: number[]; groupBy: string[][] }[];
}

export interface ValidateOptions {
  /** Check that predicates are structurally unique (true for a finished plan). */
  uniquePredicates?: boolean;
  /** Skip the value checks (folding) that no optimisation pass can break. */
  structuralOnly?: boolean;
}

const keyCache = new WeakMap<Predicate, string>();
function cachedKey(p: Predicate): string {
  let k = keyCache.get(p);
  if (k === undefined) {
    k = predicateKey(p);
    keyCache.set(p, k);
  }
  return k;
}

export function validatePlan(plan: PlanTables, opts: ValidateOptions = {}): string[] {
  const errs: string[] = [];
  const seenFields = new Set<string>();
  plan.fields.forEach((f, i) => {
    if (seenFields.has(f)) errs.push(`fields[${i}] '${f}' is a duplicate`);
    seenFields.add(f);
  });
  const nf = plan.fields.length;
  const fieldOk = (f: number): boolean => f === KEYWORD_FIELD || (Number.isInteger(f) && f >= 0 && f < nf);
  const keys = new Map<string, number>();
  plan.predicates.forEach((p, i) => {
    if (!fieldOk(p.field)) errs.push(`predicates[${i}].field ${p.field} is out of range`);
    const op = p.op;
    if (op.kind === "fieldref" && !(op.other >= 0 && op.other < nf)) errs.push(`predicates[${i}] fieldref target ${op.other} is out of range`);
    if (!opts.structuralOnly && op.kind === "string" && !op.cased && foldCase(op.value) !== op.value) errs.push(`predicates[${i}] value '${op.value}' is not folded`);
    if (!opts.structuralOnly && op.kind === "glob" && !op.cased) {
      for (const g of op.parts) if ("lit" in g && foldCase(g.lit) !== g.lit) errs.push(`predicates[${i}] glob literal '${g.lit}' is not folded`);
    }
    if (opts.uniquePredicates) {
      const k = cachedKey(p);
      const prev = keys.get(k);
      if (prev !== undefined) errs.push(`predicates[${i}] duplicates predicates[${prev}]`);
      else keys.set(k, i);
    }
  });
  const np = plan.predicates.length;
  const checkExpr = (e: Expr, where: string): void => {
    if ("pred" in e) {
      if (!(Number.isInteger(e.pred) && e.pred >= 0 && e.pred < np)) errs.push(`${where}: predicate ${e.pred} is out of range`);
    } else if ("and" in e) e.and.forEach((x) => checkExpr(x, where));
    else if ("or" in e) e.or.forEach((x) => checkExpr(x, where));
    else if ("not" in e) checkExpr(e.not, where);
  };
  plan.rules.forEach((r, i) => checkExpr(r.condition, `rules[${i}] (${r.id})`));
  const nr = plan.rules.length;
  plan.correlations.forEach((c, i) => {
    if (c.sources.length === 0) errs.push(`correlations[${i}] (${c.id}) has no sources`);
    if (c.groupBy.length !== c.sources.length) errs.push(`correlations[${i}] (${c.id}) groupBy has ${c.groupBy.length} entries for ${c.sources.length} sources`);
    for (const s of c.sources) {
      if (!(Number.isInteger(s) && s >= 0 && s < nr + plan.correlations.length)) errs.push(`correlations[${i}] (${c.id}) source ${s} is out of range`);
      if (s === nr + i) errs.push(`correlations[${i}] (${c.id}) references itself`);
    }
  });
  return errs;
}
