/**
 * Sigma filters (the spec's "Sigma Filters": a document with a `filter`
 * section naming target rules by id or name plus its own search identifiers
 * and condition). A filter suppresses matches of its target rules: its
 * resolved condition is folded into each target as `AND NOT (filter)`. A
 * filter applies to a target only when the logsource fields the filter sets
 * equal the target's (as pySigma checks); a filter naming a rule that is not
 * loaded is reported as unused, not as an error.
 */

import type { DetExpr, LogSource, SigmaFilter, SigmaRule } from "./ast.ts";
import { RuleCompileError } from "./ast.ts";
import { resolveCondition } from "./condition.ts";
import { isMap, parseDetection } from "./detection.ts";
import { readMeta } from "./meta.ts";
import type { Placeholders } from "./modifiers.ts";

export function parseFilter(doc: Record<string, unknown>, path: string, ph: Placeholders): SigmaFilter {
  const meta = readMeta(doc, path);
  const f = doc["filter"];
  if (!isMap(f)) throw new RuleCompileError("filter", "'filter' must be a map");
  const rulesRaw = f["rules"];
  const rules = Array.isArray(rulesRaw) ? rulesRaw : typeof rulesRaw === "string" ? [rulesRaw] : null;
  if (rules === null || rules.length === 0 || rules.some((r) => typeof r !== "string")) throw new RuleCompileError("filter", "'filter.rules' must list target rule ids or names");
  const det: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(f)) if (k !== "rules") det[k] = v;
  return { ...meta, kind: "filter", rules: rules as string[], detection: parseDetection(det, ph) };
}

function logsourceCompatible(filter: LogSource, rule: LogSource): boolean {
  return (
    (filter.category === null || filter.category === rule.category) &&
    (filter.product === null || filter.product === rule.product) &&
    (filter.service === null || filter.service === rule.service)
  );
}

export function filterExpr(f: SigmaFilter): DetExpr {
  return resolveCondition(f.detection.condition, f.detection.searches);
}

/**
 * Fold every filter into its target rules (returns new rule objects; inputs are not mutated).
 * `unused` lists, per filter index, the references that matched no loaded rule.
 */
export function applyFilters(rules: SigmaRule[], filters: SigmaFilter[]): { rules: SigmaRule[]; unused: Map<number, string[]> } {
  const byRef = new Map<string, number[]>();
  rules.forEach((r, i) => {
    for (const k of [r.id, r.name]) if (k !== null) byRef.set(k, [...(byRef.get(k) ?? []), i]);
  });
  const extra = new Map<number, DetExpr[]>();
  const unused = new Map<number, string[]>();
  filters.forEach((f, fi) => {
    const e: DetExpr = { not: filterExpr(f) };
    for (const ref of f.rules) {
      const targets = (byRef.get(ref) ?? []).filter((i) => logsourceCompatible(f.logsource, (rules[i] as SigmaRule).logsource));
      if (targets.length === 0) unused.set(fi, [...(unused.get(fi) ?? []), ref]);
      for (const t of targets) extra.set(t, [...(extra.get(t) ?? []), e]);
    }
  });
  return { rules: rules.map((r, i) => (extra.has(i) ? { ...r, extra: [...r.extra, ...(extra.get(i) ?? [])] } : r)), unused };
}
