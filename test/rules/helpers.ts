/** Test helpers: compile one rule from inline YAML and get its resolved expression. */
import { loadText, type LoadOptions, type LoadResult } from "../../src/rules/load.ts";
import type { DetExpr } from "../../src/rules/ast.ts";
import { ruleExpr } from "../../src/rules/walk.ts";

export function loadYaml(text: string, opts: LoadOptions = {}): LoadResult {
  const r: LoadResult = { rules: [], correlations: [], filters: [], errors: [], warnings: [] };
  loadText(text, "inline.yml", opts, r);
  return r;
}

/** A one-selection rule with `body` as the selection (YAML text, indented by the caller-free helper). */
export function ruleWith(selection: string, condition = "sel"): string {
  const body = selection
    .trim()
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n");
  return `title: t\nid: 00000000-0000-0000-0000-000000000001\nlogsource: {product: windows}\ndetection:\n  sel:\n${body}\n  condition: ${condition}\n`;
}

export function exprOf(selection: string, opts: LoadOptions = {}): DetExpr {
  const r = loadYaml(ruleWith(selection), opts);
  if (r.errors.length > 0) throw new Error(r.errors.map((e) => e.message).join("; "));
  const rule = r.rules[0];
  if (rule === undefined) throw new Error("no rule");
  return ruleExpr(rule);
}

export function errorOf(selection: string, opts: LoadOptions = {}): string {
  const r = loadYaml(ruleWith(selection), opts);
  const e = r.errors[0];
  if (e === undefined) throw new Error("expected an error");
  return `${e.code}: ${e.message}`;
}

/** The leaf ops of an expression, in order (handy for golden comparisons). */
export function leaves(e: DetExpr): unknown[] {
  if ("and" in e) return e.and.flatMap(leaves);
  if ("or" in e) return e.or.flatMap(leaves);
  if ("not" in e) return leaves(e.not);
  if ("pred" in e) return [e.pred.op];
  if ("placeholder" in e) return [e.placeholder];
  return [e];
}

/** The string values of string-predicate leaves. */
export function values(e: DetExpr): string[] {
  return leaves(e).map((op) => {
    const o = op as { kind?: string; value?: string };
    return o.kind === "string" ? (o.value ?? "") : JSON.stringify(op);
  });
}
