import { describe, expect, test } from "bun:test";
import { foldCase } from "../../src/rules/fold.ts";
import { ANY, base64, base64offset, ONE, parseSigmaString, toStringOp, utf16be, utf16le, type Val, windash, WINDASH_CHARS } from "../../src/rules/values.ts";

const str = (s: string): Val => ({ kind: "str", parts: parseSigmaString(s) });
const hex = (v: Val): string => (v.kind === "bytes" ? Buffer.from(v.data).toString("hex") : "not bytes");
const text = (v: Val): string => (v.kind === "str" ? v.parts.map((p) => (typeof p === "string" ? p : p.w)).join("") : "not str");

describe("Sigma string parsing", () => {
  test("wildcards and escapes", () => {
    expect(parseSigmaString("a*b?c")).toEqual(["a", ANY, "b", ONE, "c"]);
    expect(parseSigmaString("a\\*b\\?c\\\\d")).toEqual(["a*b?c\\d"]);
    expect(parseSigmaString("C:\\Windows\\")).toEqual(["C:\\Windows\\"]);
    expect(parseSigmaString("\\\\*")).toEqual(["\\", ANY]);
    expect(parseSigmaString("**x")).toEqual([ANY, "x"]);
    expect(parseSigmaString("")).toEqual([]);
  });
  test("string ops by wildcard position", () => {
    expect(toStringOp(parseSigmaString("Abc"), false)).toEqual({ kind: "string", mode: "exact", value: "abc", cased: false });
    expect(toStringOp(parseSigmaString("Abc*"), false)).toEqual({ kind: "string", mode: "prefix", value: "abc", cased: false });
    expect(toStringOp(parseSigmaString("*Abc"), true)).toEqual({ kind: "string", mode: "suffix", value: "Abc", cased: true });
    expect(toStringOp(parseSigmaString("*Abc*"), false)).toEqual({ kind: "string", mode: "contains", value: "abc", cased: false });
    expect(toStringOp(parseSigmaString("a*b"), false)).toEqual({ kind: "glob", parts: [{ lit: "a" }, { any: true }, { lit: "b" }], cased: false });
    expect(toStringOp(parseSigmaString("a?"), false)).toEqual({ kind: "glob", parts: [{ lit: "a" }, { one: true }], cased: false });
    expect(toStringOp(parseSigmaString(""), false)).toEqual({ kind: "string", mode: "exact", value: "", cased: false });
  });
});

describe("foldCase", () => {
  test("ASCII and non-ASCII", () => {
    expect(foldCase("CMD.EXE")).toBe("cmd.exe");
    expect(foldCase("ÄÖÜ ÉCOLE Ωμέγα")).toBe("äöü école ωμέγα");
    expect(foldCase("ΣΊΣΥΦΟΣ")).toBe("σίσυφοσ"); // final sigma folds to σ too
    expect(foldCase("ς")).toBe("σ");
    expect(foldCase("ПРИВЕТ")).toBe("привет");
  });
  test("multi-code-point lowercase stays unchanged", () => {
    expect("İ".toLowerCase().length).toBe(2);
    expect(foldCase("İ")).toBe("İ");
  });
  test("astral code points", () => {
    expect(foldCase("𐐀")).toBe("𐐨"); // Deseret capital long I
  });
});

describe("encodings (spec examples)", () => {
  test("utf16le / wide: cmd > 63 00 6d 00 64 00", () => {
    expect(hex(utf16le(str("cmd")))).toBe("63006d006400");
  });
  test("utf16be: cmd > 00 63 00 6d 00 64", () => {
    expect(hex(utf16be(str("cmd")))).toBe("0063006d0064");
  });
  test("utf16: BOM then little endian: FF FE 63 00 6d 00 64 00", () => {
    expect(hex(utf16le(str("cmd"), true))).toBe("fffe63006d006400");
  });
  test("base64", () => {
    expect(text(base64(str("foobar")))).toBe("Zm9vYmFy");
    expect(text(base64(utf16le(str("cmd"))))).toBe("YwBtAGQA");
  });
  test("base64 refuses wildcards", () => {
    expect(() => base64(str("foo*"))).toThrow(/wildcards/);
  });
  test("base64offset: the three shifted encodings, trimmed as pySigma", () => {
    expect(base64offset(str("foobar")).map(text)).toEqual(["Zm9vYmFy", "Zvb2Jhc", "mb29iYX"]);
    expect(base64offset(str("http://")).map(text)).toEqual(["aHR0cDovL", "h0dHA6Ly", "odHRwOi8v"]);
    expect(base64offset(utf16le(str("ping"))).map(text)).toEqual(["cABpAG4AZw", "AAaQBuAGcA", "wAGkAbgBnA"]);
    expect(base64offset(str("Ünïcode")).map(text)).toEqual(["w5xuw69jb2Rl", "OcbsOvY29kZ", "DnG7Dr2NvZG"]);
  });
});

describe("windash", () => {
  test("five dash characters", () => {
    expect([...WINDASH_CHARS]).toEqual(["-", "/", "\u2013", "\u2014", "\u2015"]);
  });
  test("a dash at the start of a word expands to all five", () => {
    expect(windash(str(" -enc ")).map(text)).toEqual([" -enc ", " /enc ", " \u2013enc ", " \u2014enc ", " \u2015enc "]);
    expect(windash(str("/c")).map(text)).toEqual(["-c", "/c", "\u2013c", "\u2014c", "\u2015c"]);
  });
  test("a dash inside a word is left alone (-param-name)", () => {
    const out = windash(str("-param-name")).map(text);
    expect(out).toEqual(["-param-name", "/param-name", "\u2013param-name", "\u2014param-name", "\u2015param-name"]);
  });
  test("two dashes: 25 permutations", () => {
    const out = windash(str("-a -b")).map(text);
    expect(out.length).toBe(25);
    expect(out).toContain("/a \u2015b");
    expect(new Set(out).size).toBe(25);
  });
  test("no dash at a word start: unchanged", () => {
    expect(windash(str("a-b")).map(text)).toEqual(["a-b"]);
    expect(windash(str("--")).map(text)).toEqual(["--"]);
  });
  test("dash after a wildcard counts as a word start", () => {
    expect(windash(str("*-x")).length).toBe(5);
  });
});
