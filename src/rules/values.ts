/**
 * Sigma string values and the value-level transformations of modifiers.
 * A Sigma string is parsed into literal runs and the wildcards `*` (any run)
 * and `?` (one character); `\*`, `\?` and `\\` escape, and a backslash before
 * any other character stays literal (`C:\Windows\` is literal). Encoding
 * modifiers turn strings into bytes (utf16*) and bytes or strings into base64
 * text; windash and base64offset expand one value into several alternatives,
 * exactly as pySigma does. `toStringOp` turns a final value into a plan
 * string or glob predicate, folded with `foldCase` unless cased.
 */

import type { GlobPart } from "../plan/types.ts";
import type { AstOp } from "./ast.ts";
import { RuleCompileError } from "./ast.ts";
import { foldCase } from "./fold.ts";

export const ANY = { w: "*" } as const;
export const ONE = { w: "?" } as const;
export type Part = string | typeof ANY | typeof ONE;
/** A parsed Sigma string: literal runs (never empty, never adjacent) and wildcards. */
export type SStr = Part[];

/** A value on its way through a modifier chain. */
export type Val =
  | { kind: "str"; parts: SStr }
  | { kind: "bytes"; data: Uint8Array }
  | { kind: "num"; value: number; text: string }
  | { kind: "bool"; value: boolean }
  | { kind: "null" };

/** Append a part, merging adjacent literals and collapsing `**`. */
function push(out: SStr, p: Part): void {
  const last = out[out.length - 1];
  if (typeof p === "string") {
    if (p === "") return;
    if (typeof last === "string") out[out.length - 1] = last + p;
    else out.push(p);
  } else if (p === ANY && last === ANY) {
    return;
  } else {
    out.push(p);
  }
}

export function normalize(parts: Part[]): SStr {
  const out: SStr = [];
  for (const p of parts) push(out, p);
  return out;
}

/** Parse a Sigma string with wildcards and escapes. */
export function parseSigmaString(raw: string): SStr {
  const out: SStr = [];
  let lit = "";
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (c === "\\") {
      const n = raw[i + 1];
      if (n === "*" || n === "?" || n === "\\") {
        lit += n;
        i++;
      } else {
        lit += c;
      }
    } else if (c === "*" || c === "?") {
      push(out, lit);
      lit = "";
      push(out, c === "*" ? ANY : ONE);
    } else {
      lit += c;
    }
  }
  push(out, lit);
  return out;
}

export function hasWildcards(s: SStr): boolean {
  return s.some((p) => typeof p !== "string");
}

export function plainText(s: SStr): string {
  return s.map((p) => (typeof p === "string" ? p : p.w)).join("");
}

/** The text of a scalar YAML value as Sigma sees it (numbers in canonical form). */
export function valText(v: Val): SStr {
  switch (v.kind) {
    case "str":
      return v.parts;
    case "bytes":
      return normalize([latin1(v.data)]);
    case "num":
      return normalize([v.text]);
    case "bool":
      return normalize([v.value ? "true" : "false"]);
    case "null":
      throw new RuleCompileError("value", "a string modifier cannot apply to null");
  }
}

function latin1(data: Uint8Array): string {
  let s = "";
  for (const b of data) s += String.fromCharCode(b);
  return s;
}

function requirePlain(v: Val, what: string): string {
  const s = valText(v);
  if (hasWildcards(s)) throw new RuleCompileError("value", `${what} cannot encode a value with wildcards: '${plainText(s)}'`);
  return plainText(s);
}

function bytesOf(v: Val, what: string): Uint8Array {
  if (v.kind === "bytes") return v.data;
  return new TextEncoder().encode(requirePlain(v, what));
}

export function wrap(v: Val, start: boolean, end: boolean): Val {
  const parts: Part[] = [...valText(v)];
  if (start && parts[0] !== ANY) parts.unshift(ANY);
  if (end && parts[parts.length - 1] !== ANY) parts.push(ANY);
  return { kind: "str", parts: normalize(parts) };
}

function utf16Units(v: Val, what: string): number[] {
  const s = v.kind === "bytes" ? latin1(v.data) : requirePlain(v, what);
  const units: number[] = [];
  for (let i = 0; i < s.length; i++) units.push(s.charCodeAt(i));
  return units;
}

export function utf16le(v: Val, bom = false): Val {
  const units = utf16Units(v, "utf16le");
  const out: number[] = bom ? [0xff, 0xfe] : [];
  for (const u of units) out.push(u & 0xff, u >> 8);
  return { kind: "bytes", data: Uint8Array.from(out) };
}

export function utf16be(v: Val): Val {
  const units = utf16Units(v, "utf16be");
  const out: number[] = [];
  for (const u of units) out.push(u >> 8, u & 0xff);
  return { kind: "bytes", data: Uint8Array.from(out) };
}

export function base64(v: Val): Val {
  return { kind: "str", parts: normalize([Buffer.from(bytesOf(v, "base64")).toString("base64")]) };
}

/**
 * The three encodings of a value shifted by 0, 1 and 2 bytes inside a larger
 * base64 text, trimmed to the characters that do not depend on the
 * surrounding bytes (pySigma's start offsets (0, 2, 3) and end offsets
 * (none, -3, -2) indexed by `(len + shift) % 3`).
 */
export function base64offset(v: Val): Val[] {
  const data = bytesOf(v, "base64offset");
  const starts = [0, 2, 3];
  const ends = [null, -3, -2];
  const out: Val[] = [];
  for (let i = 0; i < 3; i++) {
    const buf = new Uint8Array(i + data.length);
    buf.fill(0x20, 0, i);
    buf.set(data, i);
    const enc = Buffer.from(buf).toString("base64");
    const end = ends[(data.length + i) % 3] ?? null;
    const sliced = enc.slice(starts[i] ?? 0, end === null ? undefined : end);
    out.push({ kind: "str", parts: normalize([sliced]) });
  }
  return out;
}

/** The dash characters windash substitutes: hyphen, slash, en dash, em dash, horizontal bar. */
export const WINDASH_CHARS = ["-", "/", "\u2013", "\u2014", "\u2015"] as const;

// pySigma: `\B[-/]\b` on each literal run: a dash or slash not preceded by a
// word character and followed by one, i.e. at the start of a word.
const WINDASH_RE = /(?<![\p{L}\p{N}_])[-/](?=[\p{L}\p{N}_])/gu;

/** All permutations of the dash characters at word starts (pySigma's windash). */
export function windash(v: Val): Val[] {
  const parts = valText(v);
  // Split each literal into pieces with holes where a dash can vary.
  type Piece = Part | { dash: true };
  const pieces: Piece[] = [];
  let holes = 0;
  for (const p of parts) {
    if (typeof p !== "string") {
      pieces.push(p);
      continue;
    }
    let last = 0;
    for (const m of p.matchAll(WINDASH_RE)) {
      const at = m.index ?? 0;
      pieces.push(p.slice(last, at), { dash: true });
      holes++;
      last = at + 1;
    }
    pieces.push(p.slice(last));
  }
  if (holes === 0) return [{ kind: "str", parts }];
  if (holes > 6) throw new RuleCompileError("value", `windash on '${plainText(parts)}' would expand to ${5 ** holes} values`);
  const out: Val[] = [];
  const total = WINDASH_CHARS.length ** holes;
  for (let n = 0; n < total; n++) {
    let k = n;
    const built: Part[] = [];
    // first hole varies slowest, so the original spelling order is stable
    const digits: number[] = [];
    for (let h = 0; h < holes; h++) {
      digits.unshift(k % WINDASH_CHARS.length);
      k = Math.floor(k / WINDASH_CHARS.length);
    }
    let h = 0;
    for (const p of pieces) {
      if (typeof p === "object" && "dash" in p) built.push(WINDASH_CHARS[digits[h++] ?? 0] ?? "-");
      else built.push(p);
    }
    out.push({ kind: "str", parts: normalize(built) });
  }
  return out;
}

/** A final string value → a plan `string` or `glob` predicate op. */
export function toStringOp(s: SStr, cased: boolean): AstOp {
  const f = (t: string): string => (cased ? t : foldCase(t));
  const first = s[0];
  const last = s[s.length - 1];
  if (s.length === 0) return { kind: "string", mode: "exact", value: "", cased };
  if (s.length === 1 && typeof first === "string") return { kind: "string", mode: "exact", value: f(first), cased };
  const inner = s.filter((p) => typeof p !== "string");
  const onlyEdgeAny = inner.every((p) => p === ANY) && inner.length <= 2;
  if (onlyEdgeAny && s.length === 2) {
    if (first === ANY && typeof last === "string") return { kind: "string", mode: "suffix", value: f(last), cased };
    if (last === ANY && typeof first === "string") return { kind: "string", mode: "prefix", value: f(first), cased };
  }
  if (onlyEdgeAny && s.length === 3 && first === ANY && last === ANY) {
    const mid = s[1];
    if (typeof mid === "string") return { kind: "string", mode: "contains", value: f(mid), cased };
  }
  const parts: GlobPart[] = s.map((p) => (typeof p === "string" ? { lit: f(p) } : p === ANY ? { any: true } : { one: true }));
  return { kind: "glob", parts, cased };
}
