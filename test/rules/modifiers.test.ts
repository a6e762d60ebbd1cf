import { describe, expect, test } from "bun:test";
import type { StringMode } from "../../src/plan/types.ts";
import type { AstOp } from "../../src/rules/ast.ts";
import { errorOf, exprOf, leaves, loadYaml, ruleWith, values } from "./helpers.ts";
import { ruleExpr } from "../../src/rules/walk.ts";

const s = (mode: StringMode, value: string, cased = false): AstOp => ({ kind: "string", mode, value, cased });

describe("generic modifiers", () => {
  test("plain value is exact and folded", () => {
    expect(exprOf("Image: 'C:\\Windows\\System32\\whoami.exe'")).toEqual({ pred: { field: "Image", op: s("exact", "c:\\windows\\system32\\whoami.exe") } });
  });
  test("contains / startswith / endswith", () => {
    expect(leaves(exprOf("CommandLine|contains: ' -Enc'"))).toEqual([s("contains", " -enc")]);
    expect(leaves(exprOf("Image|startswith: 'C:\\Temp\\'"))).toEqual([s("prefix", "c:\\temp\\")]);
    expect(leaves(exprOf("Image|endswith: '\\cmd.exe'"))).toEqual([s("suffix", "\\cmd.exe")]);
  });
  test("contains keeps existing edge wildcards; inner wildcards make a glob", () => {
    expect(leaves(exprOf("CommandLine|contains: '*abc*'"))).toEqual([s("contains", "abc")]);
    expect(leaves(exprOf("CommandLine|contains: 'a*b'"))).toEqual([{ kind: "glob", parts: [{ any: true }, { lit: "a" }, { any: true }, { lit: "b" }, { any: true }], cased: false }]);
  });
  test("lists are OR; |all makes them AND", () => {
    expect(exprOf("CommandLine|contains: [a, b]")).toEqual({ or: [{ pred: { field: "CommandLine", op: s("contains", "a") } }, { pred: { field: "CommandLine", op: s("contains", "b") } }] });
    expect(exprOf("CommandLine|contains|all: [a, b]")).toEqual({ and: [{ pred: { field: "CommandLine", op: s("contains", "a") } }, { pred: { field: "CommandLine", op: s("contains", "b") } }] });
  });
  test("field maps are AND; list of maps is OR", () => {
    const e = exprOf("- {A: 1, B: 2}\n- {C: 3}");
    expect(e).toEqual({
      or: [{ and: [{ pred: { field: "A", op: s("exact", "1") } }, { pred: { field: "B", op: s("exact", "2") } }] }, { pred: { field: "C", op: s("exact", "3") } }],
    });
  });
  test("cased keeps case", () => {
    expect(leaves(exprOf("Image|cased: 'AbC'"))).toEqual([s("exact", "AbC", true)]);
    expect(leaves(exprOf("Image|contains|cased: 'AbC'"))).toEqual([s("contains", "AbC", true)]);
  });
  test("numbers, booleans, null, empty string", () => {
    expect(leaves(exprOf("EventID: 4688"))).toEqual([s("exact", "4688")]);
    expect(leaves(exprOf("Initiated: true"))).toEqual([s("exact", "true")]);
    expect(leaves(exprOf("User: null"))).toEqual([{ kind: "null" }]);
    expect(leaves(exprOf("User: ''"))).toEqual([s("exact", "")]);
  });
  test("exists true / false", () => {
    expect(exprOf("User|exists: true")).toEqual({ pred: { field: "User", op: { kind: "exists" } } });
    expect(exprOf("User|exists: false")).toEqual({ not: { pred: { field: "User", op: { kind: "exists" } } } });
    expect(errorOf("User|exists: 'yes'")).toMatch(/exists.*true or false/);
  });
  test("neq negates each value and ANDs the list", () => {
    expect(exprOf("User|neq: admin")).toEqual({ not: { pred: { field: "User", op: s("exact", "admin") } } });
    expect(exprOf("User|neq: [a, b]")).toEqual({ and: [{ not: { pred: { field: "User", op: s("exact", "a") } } }, { not: { pred: { field: "User", op: s("exact", "b") } } }] });
  });
  test("unknown modifier rejects the rule with its name", () => {
    expect(errorOf("Image|containz: x")).toBe("modifier: unknown modifier 'containz' in 'Image|containz'");
  });
});

describe("string modifiers", () => {
  test("windash|contains: five alternatives", () => {
    expect(values(exprOf("CommandLine|windash|contains: ' -s '"))).toEqual([" -s ", " /s ", " \u2013s ", " \u2014s ", " \u2015s "]);
  });
  test("contains|windash is the same set (order of wrap does not matter here)", () => {
    expect(values(exprOf("CommandLine|contains|windash: '-s'")).length).toBe(5);
  });
  test("windash negative: dash inside a word", () => {
    expect(values(exprOf("CommandLine|windash|contains: 'x-y'"))).toEqual(["x-y"]);
  });
});

describe("regular expressions", () => {
  test("re with flags", () => {
    expect(leaves(exprOf("CommandLine|re: 'a.*b'"))).toEqual([{ kind: "regex", pattern: "a.*b", flags: { i: false, m: false, s: false } }]);
    expect(leaves(exprOf("CommandLine|re|i|m|s: 'a.*b'"))).toEqual([{ kind: "regex", pattern: "a.*b", flags: { i: true, m: true, s: true } }]);
    expect(leaves(exprOf("CommandLine|re: '(?i)foo'"))).toEqual([{ kind: "regex", pattern: "(?i)foo", flags: { i: false, m: false, s: false } }]);
  });
  test("regex values are not folded", () => {
    expect(leaves(exprOf("CommandLine|re: 'ABC'"))).toEqual([{ kind: "regex", pattern: "ABC", flags: { i: false, m: false, s: false } }]);
  });
  test("lookaround and backreferences are rejected", () => {
    const reason = "regex uses lookaround/backreference, unsupported by the linear-time engine";
    expect(errorOf("CommandLine|re: 'a(?=b)'")).toContain(reason);
    expect(errorOf("CommandLine|re: 'a(?!b)'")).toContain(reason);
    expect(errorOf("CommandLine|re: '(?<=a)b'")).toContain(reason);
    expect(errorOf("CommandLine|re: '(?<!a)b'")).toContain(reason);
    expect(errorOf("CommandLine|re: '(a)\\1'")).toContain(reason);
  });
  test("escaped parens and classes are not lookaround", () => {
    expect(leaves(exprOf("CommandLine|re: '\\(\\?=x[(?=]'")).length).toBe(1);
  });
  test("invalid regex is rejected", () => {
    expect(errorOf("CommandLine|re: 'a(b'")).toMatch(/^regex: invalid regex/);
  });
  test("sub-modifiers need re; re must come first", () => {
    expect(errorOf("CommandLine|i: x")).toMatch(/sub-modifier of 're'/);
    expect(errorOf("CommandLine|contains|re: x")).toMatch(/'re' must come first/);
  });
});

describe("encoding modifiers", () => {
  test("base64", () => {
    expect(values(exprOf("CommandLine|base64: foobar"))).toEqual(["zm9vymfy"]);
    expect(values(exprOf("CommandLine|base64|cased: foobar"))).toEqual(["Zm9vYmFy"]);
  });
  test("base64offset|contains (pySigma vectors)", () => {
    expect(values(exprOf("CommandLine|base64offset|contains|cased: foobar"))).toEqual(["Zm9vYmFy", "Zvb2Jhc", "mb29iYX"]);
  });
  test("wide|base64offset|contains = UTF-16LE, then base64offset, then contains", () => {
    expect(values(exprOf("CommandLine|wide|base64offset|contains|cased: ping"))).toEqual(["cABpAG4AZw", "AAaQBuAGcA", "wAGkAbgBnA"]);
    expect(values(exprOf("CommandLine|utf16le|base64offset|contains|cased: ping"))).toEqual(["cABpAG4AZw", "AAaQBuAGcA", "wAGkAbgBnA"]);
  });
  test("utf16 / utf16be then base64", () => {
    expect(values(exprOf("X|utf16|base64|cased: cmd"))).toEqual([Buffer.from([0xff, 0xfe, 0x63, 0, 0x6d, 0, 0x64, 0]).toString("base64")]);
    expect(values(exprOf("X|utf16be|base64|cased: cmd"))).toEqual([Buffer.from([0, 0x63, 0, 0x6d, 0, 0x64]).toString("base64")]);
  });
  test("wide without base64 gives the interleaved-NUL string", () => {
    expect(values(exprOf("X|wide|contains|cased: ab"))).toEqual(["a\u0000b\u0000"]);
  });
});

describe("numeric, ip, time, fieldref", () => {
  test("gt gte lt lte", () => {
    expect(leaves(exprOf("Count|gt: 5"))).toEqual([{ kind: "compare", cmp: "gt", value: 5 }]);
    expect(leaves(exprOf("Count|gte: '5'"))).toEqual([{ kind: "compare", cmp: "gte", value: 5 }]);
    expect(leaves(exprOf("Count|lt: 1.5"))).toEqual([{ kind: "compare", cmp: "lt", value: 1.5 }]);
    expect(leaves(exprOf("Count|lte: 0"))).toEqual([{ kind: "compare", cmp: "lte", value: 0 }]);
    expect(errorOf("Count|gt: abc")).toMatch(/needs a number/);
  });
  test("cidr v4 and v6", () => {
    expect(leaves(exprOf("DestinationIp|cidr: 10.0.0.0/8"))).toEqual([{ kind: "cidr", network: "10.0.0.0/8" }]);
    expect(leaves(exprOf("DestinationIp|cidr: 'FE80::/10'"))).toEqual([{ kind: "cidr", network: "fe80::/10" }]);
    expect(leaves(exprOf("DestinationIp|cidr: '::ffff:10.0.0.0/104'"))).toEqual([{ kind: "cidr", network: "::ffff:10.0.0.0/104" }]);
    expect(errorOf("DestinationIp|cidr: 10.0.0.300/8")).toMatch(/CIDR/);
    expect(errorOf("DestinationIp|cidr: 10.0.0.0/33")).toMatch(/CIDR/);
    expect(errorOf("DestinationIp|cidr: 'fe80:::1/64'")).toMatch(/CIDR/);
  });
  test("time parts", () => {
    for (const p of ["minute", "hour", "day", "week", "month", "year"]) {
      expect(leaves(exprOf(`UtcTime|${p}: 3`))).toEqual([{ kind: "timepart", part: p, value: 3 }]);
    }
  });
  test("fieldref, with position modifiers and neq", () => {
    expect(leaves(exprOf("Image|fieldref: ParentImage"))).toEqual([{ kind: "fieldref", other: "ParentImage", mode: "exact", cased: false }]);
    expect(leaves(exprOf("Image|fieldref|endswith: ParentImage"))).toEqual([{ kind: "fieldref", other: "ParentImage", mode: "suffix", cased: false }]);
    expect(exprOf("User|fieldref|neq: ParentUser")).toEqual({ not: { pred: { field: "User", op: { kind: "fieldref", other: "ParentUser", mode: "exact", cased: false } } } });
  });
});

describe("expand / placeholders", () => {
  test("resolved from config values", () => {
    expect(values(exprOf("Workstation|expand: '%Admins%'", { placeholders: { Admins: ["WS1", "WS2"] } }))).toEqual(["ws1", "ws2"]);
  });
  test("placeholder inside a value with other modifiers", () => {
    expect(values(exprOf("Path|contains|expand: '\\%user%\\x'", { placeholders: { user: ["Bob"] } }))).toEqual(["\\bob\\x"]);
  });
  test("a placeholder without values matches nothing and is reported as a warning", () => {
    const loaded = loadYaml(ruleWith("Workstation|expand: '%Admins%'"));
    expect(loaded.errors).toEqual([]);
    expect(loaded.warnings.map((w) => w.message)).toEqual([
      "placeholder(s) %Admins% have no values and match nothing: supply --placeholder name=value or a pipeline",
    ]);
    expect(loaded.rules[0] && ruleExpr(loaded.rules[0])).toEqual({ const: false });
  });
});

describe("keywords", () => {
  test("keyword lists are contains predicates on the keyword field, ORed", () => {
    expect(exprOf("- 'Evil Thing'\n- other")).toEqual({
      or: [{ pred: { field: null, op: s("contains", "evil thing") } }, { pred: { field: null, op: s("contains", "other") } }],
    });
  });
  test("keyword with |all", () => {
    expect(exprOf("'|all': [a, b]")).toEqual({ and: [{ pred: { field: null, op: s("contains", "a") } }, { pred: { field: null, op: s("contains", "b") } }] });
  });
});
