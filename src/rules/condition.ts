/**
 * The Sigma condition language: parse a condition string into a `CondNode`
 * and resolve it against the search identifiers into a `DetExpr`. Precedence,
 * loosest first: `or` < `and` < `not` < `x of` < parentheses. `x of` takes a
 * quantifier (`1`, any positive number, `any`, `all`) and `them` or an
 * identifier pattern with `*` wildcards; `them` and patterns skip identifiers
 * starting with `_` (unless the pattern itself starts with `_`). A condition
 * list means the OR of its conditions. Errors carry the 1-based column.
 */

import type { CondNode, DetExpr } from "./ast.ts";
import { RuleCompileError } from "./ast.ts";

type Tok =
  | { t: "and" | "or" | "not" | "of" | "them" | "all" | "any" | "(" | ")" | "|"; pos: number }
  | { t: "num"; v: number; pos: number }
  | { t: "id"; v: string; pos: number };

function err(text: string, pos: number, msg: string): RuleCompileError {
  return new RuleCompileError("condition", `${msg} at column ${pos + 1} of condition '${text}'`);
}

function tokenize(text: string): Tok[] {
  const out: Tok[] = [];
  const re = /\s*(?:(\()|(\))|(\|)|([A-Za-z0-9_*.\-]+))/y;
  let i = 0;
  while (i < text.length) {
    if (/^\s*$/.test(text.slice(i))) break;
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m) {
      const pos = i + (text.slice(i).length - text.slice(i).trimStart().length);
      throw err(text, pos, `unexpected character '${text[pos]}'`);
    }
    const pos = m.index + m[0].length - (m[1] ?? m[2] ?? m[3] ?? m[4] ?? "").length;
    if (m[1]) out.push({ t: "(", pos });
    else if (m[2]) out.push({ t: ")", pos });
    else if (m[3]) {
      out.push({ t: "|", pos });
      break; // the rest is a (deprecated) aggregation expression, rejected by the parser
    }
    else {
      const w = m[4] as string;
      const lw = w.toLowerCase();
      if (lw === "and" || lw === "or" || lw === "not" || lw === "of" || lw === "them" || lw === "all" || lw === "any") out.push({ t: lw, pos });
      else if (/^\d+$/.test(w)) out.push({ t: "num", v: Number(w), pos });
      else out.push({ t: "id", v: w, pos });
    }
    i = re.lastIndex;
  }
  return out;
}

/** Parse one condition string. */
export function parseCondition(text: string): CondNode {
  const toks = tokenize(text);
  let i = 0;
  const peek = (): Tok | undefined => toks[i];
  const end = text.length;
  const expect = (what: string): never => {
    const t = peek();
    throw err(text, t ? t.pos : end, t ? `expected ${what}, found '${tokText(t)}'` : `expected ${what}, found end of condition`);
  };

  const parseOr = (): CondNode => {
    const args = [parseAnd()];
    while (peek()?.t === "or") {
      i++;
      args.push(parseAnd());
    }
    return args.length === 1 ? (args[0] as CondNode) : { kind: "or", args };
  };
  const parseAnd = (): CondNode => {
    const args = [parseNot()];
    while (peek()?.t === "and") {
      i++;
      args.push(parseNot());
    }
    return args.length === 1 ? (args[0] as CondNode) : { kind: "and", args };
  };
  const parseNot = (): CondNode => {
    if (peek()?.t === "not") {
      i++;
      return { kind: "not", arg: parseNot() };
    }
    return parseOf();
  };
  const parseOf = (): CondNode => {
    const t = peek();
    if (t && (t.t === "num" || t.t === "all" || t.t === "any")) {
      i++;
      if (peek()?.t !== "of") expect("'of'");
      i++;
      const target = peek();
      if (!target || (target.t !== "them" && target.t !== "id")) return expect("'them' or an identifier pattern after 'of'");
      i++;
      if (t.t === "num" && t.v < 1) throw err(text, t.pos, "quantifier must be at least 1");
      const quantifier = t.t === "num" ? t.v : t.t === "all" ? "all" : 1;
      return { kind: "of", quantifier, pattern: target.t === "id" ? target.v : "them" };
    }
    return parseAtom();
  };
  const parseAtom = (): CondNode => {
    const t = peek();
    if (!t) return expect("an identifier or '('");
    if (t.t === "(") {
      i++;
      const e = parseOr();
      if (peek()?.t !== ")") expect("')'");
      i++;
      return e;
    }
    if (t.t === "id") {
      i++;
      return { kind: "id", name: t.v };
    }
    if (t.t === "|") throw err(text, t.pos, "aggregation expressions ('|') are not supported; use a correlation rule");
    return expect("an identifier or '('");
  };

  if (toks.length === 0) throw new RuleCompileError("condition", "empty condition");
  const node = parseOr();
  if (i < toks.length) {
    const t = toks[i] as Tok;
    if (t.t === "|") throw err(text, t.pos, "aggregation expressions ('|') are not supported; use a correlation rule");
    throw err(text, t.pos, `unexpected '${tokText(t)}'`);
  }
  return node;
}

function tokText(t: Tok): string {
  return t.t === "id" ? t.v : t.t === "num" ? String(t.v) : t.t;
}

/** Parse a condition field: a string or a list of strings (ORed). */
export function parseConditionField(cond: unknown): { node: CondNode; text: string[] } {
  const texts = Array.isArray(cond) ? cond : [cond];
  if (texts.length === 0) throw new RuleCompileError("condition", "empty condition list");
  const nodes = texts.map((c) => {
    if (typeof c !== "string") throw new RuleCompileError("condition", `condition must be a string, got ${JSON.stringify(c)}`);
    return parseCondition(c);
  });
  return { node: nodes.length === 1 ? (nodes[0] as CondNode) : { kind: "or", args: nodes }, text: texts as string[] };
}

/** Identifiers a pattern selects, in document order. */
export function matchIdentifiers(pattern: string, names: Iterable<string>): string[] {
  const list = [...names];
  if (pattern === "them") return list.filter((n) => !n.startsWith("_"));
  const re = new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\-]/g, "\\$&")).join(".*")}$`);
  const skipUnderscore = !pattern.startsWith("_");
  return list.filter((n) => re.test(n) && !(skipUnderscore && n.startsWith("_") && pattern.includes("*")));
}

const MAX_COMBINATIONS = 1000;

/** Resolve a condition against the search identifiers. */
export function resolveCondition(node: CondNode, searches: ReadonlyMap<string, DetExpr>): DetExpr {
  switch (node.kind) {
    case "id": {
      const e = searches.get(node.name);
      if (e === undefined) {
        if (node.name.includes("*")) throw new RuleCompileError("condition", `'${node.name}' is a pattern; write '1 of ${node.name}' or 'all of ${node.name}'`);
        throw new RuleCompileError("condition", `condition references unknown search identifier '${node.name}'`);
      }
      return e;
    }
    case "and":
      return { and: node.args.map((a) => resolveCondition(a, searches)) };
    case "or":
      return { or: node.args.map((a) => resolveCondition(a, searches)) };
    case "not":
      return { not: resolveCondition(node.arg, searches) };
    case "of": {
      const names = matchIdentifiers(node.pattern, searches.keys());
      if (names.length === 0) throw new RuleCompileError("condition", `'${node.pattern}' matches no search identifier`);
      const exprs = names.map((n) => searches.get(n) as DetExpr);
      if (node.quantifier === "all") return { and: exprs };
      const k = node.quantifier;
      if (k === 1) return { or: exprs };
      if (k > exprs.length) return { const: false };
      if (binom(exprs.length, k) > MAX_COMBINATIONS) throw new RuleCompileError("condition", `'${k} of ${node.pattern}' has too many combinations`);
      return { or: combinations(exprs, k).map((c) => ({ and: c })) };
    }
  }
}

function binom(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

function combinations<T>(xs: T[], k: number): T[][] {
  if (k === 0) return [[]];
  const out: T[][] = [];
  xs.forEach((x, i) => {
    for (const rest of combinations(xs.slice(i + 1), k - 1)) out.push([x, ...rest]);
  });
  return out;
}
