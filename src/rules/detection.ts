/**
 * Turns a YAML `detection` section into a typed `Detection`: each search
 * identifier becomes a `DetExpr` (a map is the AND of its items, a list of
 * maps is the OR of the maps, a list of plain values is a keyword list), and
 * the condition is parsed. Keywords — values without a field name — become
 * predicates on the keyword pseudo-field (`field: null`, `KEYWORD_FIELD` in the
 * plan) with contains semantics, like pySigma's full-text search: the value
 * must occur inside some string value of the event.
 */

import type { DetExpr, Detection } from "./ast.ts";
import { RuleCompileError } from "./ast.ts";
import { parseConditionField, resolveCondition } from "./condition.ts";
import { compileItem, type Placeholders } from "./modifiers.ts";

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function compileMap(name: string, m: Record<string, unknown>, ph: Placeholders): DetExpr {
  const keys = Object.keys(m);
  if (keys.length === 0) throw new RuleCompileError("structure", `search identifier '${name}' has an empty map`);
  const items = keys.map((k) => {
    const v = m[k];
    if (isMap(v)) throw new RuleCompileError("value", `'${k}' in '${name}': a value cannot be a map`);
    if (Array.isArray(v) && v.some((x) => isMap(x) || Array.isArray(x))) throw new RuleCompileError("value", `'${k}' in '${name}': list values must be scalars`);
    return compileItem(k, v instanceof Date ? v.toISOString().slice(0, 10) : v, ph);
  });
  return items.length === 1 ? (items[0] as DetExpr) : { and: items };
}

function compileSearch(name: string, v: unknown, ph: Placeholders): DetExpr {
  if (isMap(v)) return compileMap(name, v, ph);
  if (Array.isArray(v)) {
    if (v.length === 0) throw new RuleCompileError("structure", `search identifier '${name}' is an empty list`);
    const maps = v.filter(isMap).map((m) => compileMap(name, m, ph));
    const words = v.filter((x) => !isMap(x));
    if (words.some((w) => Array.isArray(w))) throw new RuleCompileError("structure", `search identifier '${name}': nested lists are not allowed`);
    const alts = [...maps];
    if (words.length > 0) alts.push(compileItem("", words, ph));
    return alts.length === 1 ? (alts[0] as DetExpr) : { or: alts };
  }
  if (typeof v === "string" || typeof v === "number") return compileItem("", v, ph);
  throw new RuleCompileError("structure", `search identifier '${name}' must be a map, a list of maps or a list of keywords`);
}

/** Parse and check a detection section (every condition reference is resolved once to catch errors early). */
export function parseDetection(det: unknown, ph: Placeholders): Detection {
  if (!isMap(det)) throw new RuleCompileError("structure", "missing or invalid 'detection' section");
  if (!("condition" in det)) throw new RuleCompileError("structure", "detection has no 'condition'");
  const searches = new Map<string, DetExpr>();
  for (const [k, v] of Object.entries(det)) {
    if (k === "condition" || k === "timeframe") continue;
    searches.set(k, compileSearch(k, v, ph));
  }
  const { node, text } = parseConditionField(det["condition"]);
  resolveCondition(node, searches);
  return { searches, condition: node, conditionText: text };
}

export { isMap };
