/**
 * Compiles one detection item — a field key with its modifier chain
 * (`CommandLine|contains|all`) and its YAML value or value list — into a
 * boolean tree of field predicates. Modifiers apply in the order written
 * (`wide|base64offset|contains` = UTF-16LE, then base64offset, then contains).
 * Every modifier of Sigma spec v2.1.0 is known; an unknown one rejects the
 * rule with its name. Values of a list are ORed (`all` ANDs them); the
 * alternatives one value expands into (windash, base64offset, expand) are
 * always ORed. `neq` negates each value and ANDs the list ("different from
 * every listed value").
 */

import type { StringMode } from "../plan/types.ts";
import type { AstOp, DetExpr, FieldPredicate } from "./ast.ts";
import { RuleCompileError } from "./ast.ts";
import { checkRegex } from "./regex-check.ts";
import {
  base64,
  base64offset,
  parseSigmaString,
  toStringOp,
  type Val,
  utf16be,
  utf16le,
  valText,
  windash,
  wrap,
} from "./values.ts";

export const MODIFIERS = [
  "contains", "startswith", "endswith", "all", "re", "i", "m", "s",
  "ignorecase", "multiline", "dotall",
  "base64", "base64offset", "utf16le", "utf16be", "utf16", "wide", "windash",
  "cidr", "exists", "expand", "fieldref", "gt", "gte", "lt", "lte", "neq", "cased",
  "minute", "hour", "day", "week", "month", "year",
] as const;
export type Modifier = (typeof MODIFIERS)[number];
const KNOWN = new Set<string>(MODIFIERS);

const TIME_PARTS = new Set(["minute", "hour", "day", "week", "month", "year"]);
const COMPARE = new Set(["gt", "gte", "lt", "lte"]);
const RE_FLAGS: Record<string, "i" | "m" | "s"> = { i: "i", m: "m", s: "s", ignorecase: "i", multiline: "m", dotall: "s" };
const PLACEHOLDER_RE = /%([A-Za-z0-9_.-]+)%/g;

/** Placeholder name → values, supplied by config or a pipeline. */
export type Placeholders = ReadonlyMap<string, readonly string[]>;

export interface ItemKey {
  /** null for keywords (no field name). */
  field: string | null;
  modifiers: string[];
}

export function parseItemKey(key: string): ItemKey {
  const [name, ...mods] = key.split("|");
  for (const m of mods) {
    if (!KNOWN.has(m)) throw new RuleCompileError("modifier", `unknown modifier '${m}' in '${key}'`);
  }
  return { field: name === undefined || name === "" ? null : name, modifiers: mods };
}

/** A YAML scalar as a chain value. */
export function yamlToVal(v: unknown, where: string): Val {
  if (v === null || v === undefined) return { kind: "null" };
  if (typeof v === "string") return { kind: "str", parts: parseSigmaString(v) };
  if (typeof v === "number") return { kind: "num", value: v, text: numberText(v) };
  if (typeof v === "boolean") return { kind: "bool", value: v };
  throw new RuleCompileError("value", `${where}: value must be a string, number, boolean or null, got ${Array.isArray(v) ? "a list" : typeof v}`);
}

function numberText(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return BigInt(n).toString();
  return String(n);
}

function or(xs: DetExpr[]): DetExpr {
  return xs.length === 1 ? (xs[0] as DetExpr) : { or: xs };
}
function and(xs: DetExpr[]): DetExpr {
  return xs.length === 1 ? (xs[0] as DetExpr) : { and: xs };
}
function leaf(field: string | null, op: AstOp): DetExpr {
  const pred: FieldPredicate = { field, op };
  return { pred };
}

/**
 * Compile `key: value` (value a scalar or a list of scalars) into a DetExpr.
 * `keyword` forces keyword semantics (field null, implicit contains).
 */
export function compileItem(key: string, value: unknown, placeholders: Placeholders): DetExpr {
  const { field, modifiers } = parseItemKey(key);
  const values = Array.isArray(value) ? value : [value];
  if (values.length === 0) throw new RuleCompileError("value", `'${key}' has an empty value list`);
  const all = modifiers.includes("all");
  const neq = modifiers.includes("neq");
  const where = key === "" ? "keyword" : `'${key}'`;

  if (modifiers.includes("expand")) {
    const rest = modifiers.filter((m) => m !== "expand");
    const parts = values.map((raw) => {
      if (typeof raw !== "string") return compileValue(field, rest, raw, where);
      const names = [...raw.matchAll(PLACEHOLDER_RE)].map((m) => m[1] as string);
      if (names.length === 0) return compileValue(field, rest, raw, where);
      const missing = names.filter((n) => !placeholders.has(n));
      if (missing.length > 0) return { placeholder: { field, value: raw, modifiers } } satisfies DetExpr;
      return or(expandPlaceholders(raw, placeholders).map((s) => compileValue(field, rest, s, where)));
    });
    return all || neq ? and(parts) : or(parts);
  }
  const parts = values.map((raw) => compileValue(field, modifiers, raw, where));
  return all || neq ? and(parts) : or(parts);
}

/** Every substitution of the placeholders of `raw` (cartesian product). */
export function expandPlaceholders(raw: string, placeholders: Placeholders): string[] {
  let out = [""];
  let last = 0;
  for (const m of raw.matchAll(PLACEHOLDER_RE)) {
    const at = m.index ?? 0;
    const lit = raw.slice(last, at);
    const vals = placeholders.get(m[1] as string) ?? [];
    const next: string[] = [];
    for (const prefix of out) for (const v of vals) next.push(prefix + lit + v);
    out = next;
    last = at + m[0].length;
  }
  return out.map((p) => p + raw.slice(last));
}

/** The unresolved placeholder names of an expand value. */
export function placeholderNames(raw: string): string[] {
  return [...raw.matchAll(PLACEHOLDER_RE)].map((m) => m[1] as string);
}

/** Compile one YAML value through the modifier chain: the alternatives it expands into are ORed. */
export function compileValue(field: string | null, modifiers: string[], raw: unknown, where: string): DetExpr {
  const neq = modifiers.includes("neq");
  const cased = modifiers.includes("cased");
  const e = compileValueInner(field, modifiers, raw, where, cased);
  return neq ? { not: e } : e;
}

function compileValueInner(field: string | null, modifiers: string[], raw: unknown, where: string, cased: boolean): DetExpr {
  const mods = modifiers.filter((m) => m !== "all" && m !== "neq" && m !== "cased");
  const first = mods[0];

  if (mods.includes("exists")) {
    if (mods.length !== 1) throw new RuleCompileError("modifier", `${where}: 'exists' cannot be combined with ${mods.filter((m) => m !== "exists").join(", ")}`);
    if (typeof raw !== "boolean") throw new RuleCompileError("value", `${where}: 'exists' needs true or false, got ${JSON.stringify(raw)}`);
    if (field === null) throw new RuleCompileError("modifier", "'exists' needs a field name");
    return raw ? leaf(field, { kind: "exists" }) : { not: leaf(field, { kind: "exists" }) };
  }

  if (mods.includes("re")) {
    if (first !== "re") throw new RuleCompileError("modifier", `${where}: 're' must come first in the modifier chain (it applies to the unmodified value)`);
    const flags = { i: false, m: false, s: false };
    for (const m of mods.slice(1)) {
      const f = RE_FLAGS[m];
      if (f === undefined) throw new RuleCompileError("modifier", `${where}: '${m}' cannot be combined with 're'`);
      flags[f] = true;
    }
    if (typeof raw !== "string") throw new RuleCompileError("value", `${where}: 're' needs a string pattern`);
    checkRegex(raw);
    return leaf(field, { kind: "regex", pattern: raw, flags });
  }
  const strayFlag = mods.find((m) => m in RE_FLAGS);
  if (strayFlag !== undefined) throw new RuleCompileError("modifier", `${where}: '${strayFlag}' is a sub-modifier of 're'`);

  if (mods.includes("cidr")) {
    if (mods.length !== 1) throw new RuleCompileError("modifier", `${where}: 'cidr' cannot be combined with other value modifiers`);
    if (typeof raw !== "string") throw new RuleCompileError("value", `${where}: 'cidr' needs a network in CIDR notation`);
    return leaf(field, { kind: "cidr", network: checkCidr(raw, where) });
  }

  const cmp = mods.find((m) => COMPARE.has(m));
  if (cmp !== undefined) {
    if (mods.length !== 1) throw new RuleCompileError("modifier", `${where}: '${cmp}' cannot be combined with other value modifiers`);
    return leaf(field, { kind: "compare", cmp: cmp as "gt" | "gte" | "lt" | "lte", value: numeric(raw, where, cmp) });
  }

  const tp = mods.find((m) => TIME_PARTS.has(m));
  if (tp !== undefined) {
    if (mods.length !== 1) throw new RuleCompileError("modifier", `${where}: '${tp}' cannot be combined with other value modifiers`);
    return leaf(field, { kind: "timepart", part: tp as "minute", value: numeric(raw, where, tp) });
  }

  if (mods.includes("fieldref")) {
    const other = mods.filter((m) => m !== "fieldref");
    const bad = other.find((m) => m !== "contains" && m !== "startswith" && m !== "endswith");
    if (bad !== undefined) throw new RuleCompileError("modifier", `${where}: '${bad}' cannot be combined with 'fieldref'`);
    if (typeof raw !== "string" || raw === "") throw new RuleCompileError("value", `${where}: 'fieldref' needs a field name`);
    if (field === null) throw new RuleCompileError("modifier", "'fieldref' needs a field name on the left");
    const mode: StringMode = other.includes("contains") ? "contains" : other.includes("startswith") ? "prefix" : other.includes("endswith") ? "suffix" : "exact";
    return leaf(field, { kind: "fieldref", other: raw, mode, cased });
  }

  // String transformation chain.
  let vals: Val[] = [yamlToVal(raw, where)];
  const explicitPos = mods.some((m) => m === "contains" || m === "startswith" || m === "endswith");
  if (field === null && !explicitPos) mods.push("contains"); // keywords: full-text contains (pySigma-like)
  if (mods.length === 0) {
    const v = vals[0] as Val;
    if (v.kind === "null") return leaf(field, { kind: "null" });
    return leaf(field, toStringOp(valText(v), cased));
  }
  for (const m of mods) {
    vals = vals.flatMap((v): Val[] => {
      if (v.kind === "null") throw new RuleCompileError("value", `${where}: '${m}' cannot apply to null`);
      switch (m) {
        case "contains":
          return [wrap(v, true, true)];
        case "startswith":
          return [wrap(v, false, true)];
        case "endswith":
          return [wrap(v, true, false)];
        case "windash":
          return windash(v);
        case "base64":
          return [base64(v)];
        case "base64offset":
          return base64offset(v);
        case "utf16le":
        case "wide":
          return [utf16le(v)];
        case "utf16be":
          return [utf16be(v)];
        case "utf16":
          return [utf16le(v, true)];
        default:
          throw new RuleCompileError("modifier", `${where}: modifier '${m}' cannot be used here`);
      }
    });
  }
  const seen = new Set<string>();
  const out: DetExpr[] = [];
  for (const v of vals) {
    const s = valText(v);
    const k = s.map((p) => (typeof p === "string" ? `l${p}` : p.w)).join("\u0000");
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(leaf(field, toStringOp(s, cased)));
  }
  return or(out);
}

function numeric(raw: unknown, where: string, mod: string): number {
  if (typeof raw === "number" && Number.isFinite(raw)) return raw;
  if (typeof raw === "string" && raw.trim() !== "" && Number.isFinite(Number(raw))) return Number(raw);
  throw new RuleCompileError("value", `${where}: '${mod}' needs a number, got ${JSON.stringify(raw)}`);
}

/** Validate an IPv4/IPv6 CIDR network and return it in a canonical spelling (lower case, trimmed). */
export function checkCidr(raw: string, where: string): string {
  const s = raw.trim().toLowerCase();
  const slash = s.indexOf("/");
  const addr = slash < 0 ? s : s.slice(0, slash);
  const lenText = slash < 0 ? null : s.slice(slash + 1);
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(addr);
  const max = v4 ? 32 : 128;
  const bad = (): never => {
    throw new RuleCompileError("value", `${where}: '${raw}' is not an IPv4 or IPv6 network in CIDR notation`);
  };
  if (v4) {
    if (v4.slice(1).some((o) => Number(o) > 255)) bad();
  } else if (!isIpv6(addr)) bad();
  if (lenText !== null && (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max)) bad();
  return lenText === null ? `${addr}/${max}` : `${addr}/${lenText}`;
}

function isIpv6(a: string): boolean {
  if (!/^[0-9a-f:.]+$/.test(a) || !a.includes(":")) return false;
  const dbl = a.split("::");
  if (dbl.length > 2) return false;
  const groups = (x: string): string[] => (x === "" ? [] : x.split(":"));
  const all = dbl.flatMap(groups);
  let count = 0;
  for (const [i, g] of all.entries()) {
    if (g.includes(".")) {
      if (i !== all.length - 1 || !/^(\d{1,3}\.){3}\d{1,3}$/.test(g)) return false;
      count += 2;
    } else if (!/^[0-9a-f]{1,4}$/.test(g)) return false;
    else count++;
  }
  return dbl.length === 2 ? count < 8 : count === 8;
}

