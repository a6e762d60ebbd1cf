/**
 * Small tree utilities over `DetExpr`: the resolved expression of a rule
 * (condition over its search identifiers, ANDed with the extra conjuncts
 * added by filters and pipelines), a structural map over leaves, and the list
 * of unresolved placeholder leaves.
 */

import type { DetExpr, PlaceholderItem, SigmaRule } from "./ast.ts";
import { resolveCondition } from "./condition.ts";

export function ruleExpr(rule: SigmaRule): DetExpr {
  const base = resolveCondition(rule.detection.condition, rule.detection.searches);
  return rule.extra.length === 0 ? base : { and: [base, ...rule.extra] };
}

/** Rebuild a tree with every leaf (pred or placeholder) replaced by `f(leaf)`. */
export function mapLeaves(e: DetExpr, f: (leaf: DetExpr) => DetExpr): DetExpr {
  if ("and" in e) return { and: e.and.map((x) => mapLeaves(x, f)) };
  if ("or" in e) return { or: e.or.map((x) => mapLeaves(x, f)) };
  if ("not" in e) return { not: mapLeaves(e.not, f) };
  if ("const" in e) return e;
  return f(e);
}

export function placeholders(e: DetExpr, out: PlaceholderItem[] = []): PlaceholderItem[] {
  if ("and" in e) for (const x of e.and) placeholders(x, out);
  else if ("or" in e) for (const x of e.or) placeholders(x, out);
  else if ("not" in e) placeholders(e.not, out);
  else if ("placeholder" in e) out.push(e.placeholder);
  return out;
}

/** Map every search identifier and extra conjunct of a rule. */
export function mapRule(rule: SigmaRule, f: (e: DetExpr) => DetExpr): SigmaRule {
  const searches = new Map<string, DetExpr>();
  for (const [k, v] of rule.detection.searches) searches.set(k, f(v));
  return { ...rule, detection: { ...rule.detection, searches }, extra: rule.extra.map(f) };
}

export function rulePlaceholders(rule: SigmaRule): PlaceholderItem[] {
  const out: PlaceholderItem[] = [];
  for (const e of rule.detection.searches.values()) placeholders(e, out);
  for (const e of rule.extra) placeholders(e, out);
  return out;
}
