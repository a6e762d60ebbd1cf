/**
 * The optimisation passes over the logical plan, each a small pure function
 * `(plan) => {plan, changed}`, run in the one ordered list `PASSES`. The list
 * runs repeatedly until no pass changes the plan (a fixpoint; bounded), and
 * the plan invariants are checked after every pass — a violation names the
 * pass that broke it.
 */

import type { LogicalPlan } from "./logical.ts";
import { predicateKey } from "./logical.ts";
import type { Expr, Predicate } from "./types.ts";
import { KEYWORD_FIELD } from "./types.ts";
import { validatePlan } from "./validate.ts";

export interface PassResult {
  plan: LogicalPlan;
  changed: boolean;
}

export interface Pass {
  name: string;
  run: (plan: LogicalPlan) => PassResult;
}

function mapRules(plan: LogicalPlan, f: (e: Expr) => Expr): PassResult {
  let changed = false;
  const rules = plan.rules.map((r) => {
    const condition = f(r.condition);
    if (condition === r.condition || exprKey(condition) === exprKey(r.condition)) return r;
    changed = true;
    return { ...r, condition };
  });
  return { plan: changed ? { ...plan, rules } : plan, changed };
}

/** True when `kids` are exactly the children of `e` (same objects, same order). */
function sameKids(e: Expr, kids: Expr[]): boolean {
  const orig = "and" in e ? e.and : "or" in e ? e.or : null;
  return orig !== null && orig.length === kids.length && orig.every((k, i) => k === kids[i]);
}

const keyCache = new WeakMap<Expr, string>();

/** A structural key for an expression (memoised per node). */
export function exprKey(e: Expr): string {
  const c = keyCache.get(e);
  if (c !== undefined) return c;
  const k = exprKeyUncached(e);
  keyCache.set(e, k);
  return k;
}

function exprKeyUncached(e: Expr): string {
  if ("pred" in e) return `p${e.pred}`;
  if ("const" in e) return e.const ? "T" : "F";
  if ("not" in e) return `!(${exprKey(e.not)})`;
  if ("and" in e) return `&(${e.and.map(exprKey).join(",")})`;
  return `|(${e.or.map(exprKey).join(",")})`;
}

/** Structurally identical predicates share one id (the first occurrence's); the duplicates are removed. */
export const dedupePredicates: Pass = {
  name: "dedupe-predicates",
  run(plan) {
    const first = new Map<string, number>();
    const predicates: Predicate[] = [];
    const remap = plan.predicates.map((p) => {
      const k = predicateKey(p);
      let n = first.get(k);
      if (n === undefined) {
        n = predicates.length;
        first.set(k, n);
        predicates.push(p);
      }
      return n;
    });
    if (predicates.length === plan.predicates.length) return { plan, changed: false };
    const sub = (e: Expr): Expr => {
      if ("pred" in e) return { pred: remap[e.pred] ?? e.pred };
      if ("and" in e) return { and: e.and.map(sub) };
      if ("or" in e) return { or: e.or.map(sub) };
      if ("not" in e) return { not: sub(e.not) };
      return e;
    };
    const rules = plan.rules.map((r) => ({ ...r, condition: sub(r.condition) }));
    return { plan: { ...plan, predicates, rules }, changed: true };
  },
};

/** Flatten nested and/or of the same kind, unwrap single-child nodes, remove double negation. */
export const flattenBoolean: Pass = {
  name: "flatten-boolean",
  run(plan) {
    const flat = (e: Expr): Expr => {
      if ("and" in e || "or" in e) {
        const isAnd = "and" in e;
        const kids = ("and" in e ? e.and : e.or).map(flat);
        const out: Expr[] = [];
        for (const k of kids) {
          if (isAnd && "and" in k) out.push(...k.and);
          else if (!isAnd && "or" in k) out.push(...k.or);
          else out.push(k);
        }
        if (out.length === 1) return out[0] as Expr;
        if (out.length === 0) return { const: isAnd };
        if (sameKids(e, out)) return e;
        return isAnd ? { and: out } : { or: out };
      }
      if ("not" in e) {
        const inner = flat(e.not);
        if ("not" in inner) return inner.not;
        return inner === e.not ? e : { not: inner };
      }
      return e;
    };
    return mapRules(plan, flat);
  },
};

/** Fold constants: `and` with false → false, `or` with true → true, drop neutral constants, negate constants. */
export const foldConstants: Pass = {
  name: "fold-constants",
  run(plan) {
    const fold = (e: Expr): Expr => {
      if ("and" in e || "or" in e) {
        const isAnd = "and" in e;
        const kids = ("and" in e ? e.and : e.or).map(fold);
        if (kids.some((k) => "const" in k && k.const === !isAnd)) return { const: !isAnd };
        const rest = kids.filter((k) => !("const" in k));
        if (rest.length === 0) return { const: isAnd };
        if (sameKids(e, rest)) return e;
        return isAnd ? { and: rest } : { or: rest };
      }
      if ("not" in e) {
        const inner = fold(e.not);
        if ("const" in inner) return { const: !inner.const };
        return inner === e.not ? e : { not: inner };
      }
      return e;
    };
    return mapRules(plan, fold);
  },
};

/** Remove structurally duplicate children of and/or (`a or a` → `a`). */
export const dedupeChildren: Pass = {
  name: "dedupe-children",
  run(plan) {
    const dd = (e: Expr): Expr => {
      if ("and" in e || "or" in e) {
        const kids = ("and" in e ? e.and : e.or).map(dd);
        const seen = new Set<string>();
        const out = kids.filter((k) => {
          const key = exprKey(k);
          if (seen.has(key)) return false;
          seen.add(key);
          return true;
        });
        if (sameKids(e, out)) return e;
        return "and" in e ? { and: out } : { or: out };
      }
      if ("not" in e) {
        const inner = dd(e.not);
        return inner === e.not ? e : { not: inner };
      }
      return e;
    };
    return mapRules(plan, dd);
  },
};

/** Drop predicates no rule references and fields no predicate references, renumbering both. */
export const dropUnused: Pass = {
  name: "drop-unused",
  run(plan) {
    const used = new Set<number>();
    const visit = (e: Expr): void => {
      if ("pred" in e) used.add(e.pred);
      else if ("and" in e) e.and.forEach(visit);
      else if ("or" in e) e.or.forEach(visit);
      else if ("not" in e) visit(e.not);
    };
    plan.rules.forEach((r) => visit(r.condition));
    const keptPreds = plan.predicates.map((_, i) => i).filter((i) => used.has(i));
    const usedFields = new Set<number>();
    for (const i of keptPreds) {
      const p = plan.predicates[i] as Predicate;
      if (p.field !== KEYWORD_FIELD) usedFields.add(p.field);
      if (p.op.kind === "fieldref") usedFields.add(p.op.other);
    }
    const keptFields = plan.fields.map((_, i) => i).filter((i) => usedFields.has(i));
    if (keptPreds.length === plan.predicates.length && keptFields.length === plan.fields.length) return { plan, changed: false };
    const predMap = new Map(keptPreds.map((old, n) => [old, n]));
    const fieldMap = new Map(keptFields.map((old, n) => [old, n]));
    const fm = (f: number): number => (f === KEYWORD_FIELD ? f : (fieldMap.get(f) ?? f));
    const predicates = keptPreds.map((i): Predicate => {
      const p = plan.predicates[i] as Predicate;
      const field = fm(p.field);
      if (p.op.kind === "fieldref") return { field, op: { ...p.op, other: fm(p.op.other) } };
      return field === p.field ? p : { field, op: p.op };
    });
    const sub = (e: Expr): Expr => {
      if ("pred" in e) return { pred: predMap.get(e.pred) ?? e.pred };
      if ("and" in e) return { and: e.and.map(sub) };
      if ("or" in e) return { or: e.or.map(sub) };
      if ("not" in e) return { not: sub(e.not) };
      return e;
    };
    const rules = plan.rules.map((r) => ({ ...r, condition: sub(r.condition) }));
    return { plan: { ...plan, fields: keptFields.map((i) => plan.fields[i] as string), predicates, rules }, changed: true };
  },
};

/**
 * The pass list, in order:
 * 1. dedupe-predicates first: later passes compare expressions by predicate
 *    id, so equal predicates must already share an id (dedupe-children needs it).
 * 2. fold-constants before flatten-boolean: folding can leave single-child
 *    and/or nodes and empty nodes that flattening then removes.
 * 3. flatten-boolean before dedupe-children: duplicates often appear only once
 *    nested or-lists are merged into one.
 * 4. drop-unused last: every pass before it can drop references.
 * From dedupe-predicates on, predicates stay structurally unique (checked).
 */
export const PASSES: readonly Pass[] = [dedupePredicates, foldConstants, flattenBoolean, dedupeChildren, dropUnused];

export class PassInvariantError extends Error {}

/** Run the passes to a fixpoint, checking the invariants after every pass. */
export function optimize(plan: LogicalPlan, passes: readonly Pass[] = PASSES, maxRounds = 8): { plan: LogicalPlan; log: string[] } {
  const log: string[] = [];
  let uniqueSoFar = false;
  for (let round = 0; round < maxRounds; round++) {
    let any = false;
    for (const pass of passes) {
      const before = plan;
      const r = pass.run(plan);
      plan = r.plan;
      if (pass === dedupePredicates) uniqueSoFar = true;
      if (r.changed) {
        any = true;
        log.push(`round ${round + 1}: ${pass.name} changed the plan`);
      }
      if (!r.changed) continue; // the plan is the one already checked
      // A pass that leaves the predicate table untouched cannot break its uniqueness.
      const recheckUnique = uniqueSoFar && (plan.predicates !== before.predicates || pass === dedupePredicates);
      const errs = validatePlan(plan, { uniquePredicates: recheckUnique, structuralOnly: true });
      if (errs.length > 0) throw new PassInvariantError(`plan invariant broken after pass '${pass.name}': ${errs.slice(0, 5).join("; ")}`);
    }
    if (!any) break;
  }
  return { plan, log };
}
