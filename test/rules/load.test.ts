import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadRules } from "../../src/rules/load.ts";
import { ruleExpr } from "../../src/rules/walk.ts";
import { loadYaml } from "./helpers.ts";

/** The tests' directories live under one root, removed when the file's tests end. */
const scratch = mkdtempSync(join(tmpdir(), "sigma-load-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const good = (id: string, extra = "") => `title: Rule ${id}\nid: ${id}\n${extra}logsource: {category: process_creation, product: windows}\ndetection:\n  sel:\n    Image|endswith: '\\x.exe'\n  condition: sel\nlevel: high\n`;

describe("loader", () => {
  test("directory: recursive, sorted, errors isolated with path and reason", () => {
    const dir = mkdtempSync(join(scratch, "case-"));
    mkdirSync(join(dir, "sub"));
    writeFileSync(join(dir, "b.yml"), good("b"));
    writeFileSync(join(dir, "sub", "a.yaml"), good("a"));
    writeFileSync(join(dir, "c.yml"), good("c").replace("endswith", "endzwith"));
    writeFileSync(join(dir, "d.yml"), "title: [unclosed");
    writeFileSync(join(dir, "e.yml"), "title: no detection\nid: e\n");
    writeFileSync(join(dir, "f.yml"), good("f").replace("condition: sel", "condition: sel and"));
    writeFileSync(join(dir, "g.yml"), good("g").replace("'\\x.exe'", "x").replace("endswith", "re").replace(": x", ": '(?<=a)b'"));
    writeFileSync(join(dir, "notes.txt"), "ignored");
    const r = loadRules(dir);
    expect(r.rules.map((x) => x.id)).toEqual(["b", "a"]); // sorted by path: b.yml < sub/a.yaml
    expect(r.errors.map((e) => [e.path.slice(dir.length + 1), e.id, e.code])).toEqual([
      ["c.yml", "c", "modifier"],
      ["d.yml", null, "yaml"],
      ["e.yml", "e", "structure"],
      ["f.yml", "f", "condition"],
      ["g.yml", "g", "regex"],
    ]);
    expect(r.errors[0]?.message).toContain("unknown modifier 'endzwith'");
    expect(r.errors[0]?.title).toBe("Rule c");
  });

  test("metadata", () => {
    const r = loadYaml(good("m", "name: my_rule\nstatus: test\ntags: [attack.t1059]\n"));
    const rule = r.rules[0];
    expect(rule?.name).toBe("my_rule");
    expect(rule?.level).toBe("high");
    expect(rule?.status).toBe("test");
    expect(rule?.tags).toEqual(["attack.t1059"]);
    expect(rule?.logsource).toEqual({ category: "process_creation", product: "windows", service: null });
    expect(rule?.path).toBe("inline.yml");
  });

  test("invalid level is an error", () => {
    expect(loadYaml(good("x").replace("level: high", "level: severe")).errors[0]?.message).toBe("unknown level 'severe'");
  });

  test("multi-document: action global merges into following documents", () => {
    const text = `action: global
title: Shared
logsource: {product: windows}
detection:
  sel1: {EventID: 1}
  condition: sel1 and sel2
---
id: one
detection:
  sel2: {Image: a}
---
id: two
detection:
  sel2: {Image: b}
`;
    const r = loadYaml(text);
    expect(r.errors).toEqual([]);
    expect(r.rules.map((x) => [x.id, x.title, x.logsource.product])).toEqual([
      ["one", "Shared", "windows"],
      ["two", "Shared", "windows"],
    ]);
    expect(JSON.stringify(ruleExpr(r.rules[1]!))).toContain('"value":"b"');
  });

  test("multi-document: reset and repeat", () => {
    const text = `action: global
title: G
detection: {condition: sel}
---
id: a
detection: {sel: {X: 1}}
---
action: repeat
id: b
detection: {sel: {X: 2}}
---
action: reset
---
title: standalone
id: c
detection: {s: {Y: 1}, condition: s}
`;
    const r = loadYaml(text);
    expect(r.errors).toEqual([]);
    expect(r.rules.map((x) => [x.id, x.title])).toEqual([
      ["a", "G"],
      ["b", "G"],
      ["c", "standalone"],
    ]);
  });

  test("one bad document in a multi-document file does not drop the others", () => {
    const r = loadYaml(`${good("ok1")}---\ntitle: bad\nid: bad\ndetection: {condition: nope}\n---\n${good("ok2")}`);
    expect(r.rules.map((x) => x.id)).toEqual(["ok1", "ok2"]);
    expect(r.errors.map((e) => [e.id, e.code, e.message])).toEqual([["bad", "condition", "condition references unknown search identifier 'nope'"]]);
  });

  test("a missing path is an io error", () => {
    expect(loadRules("/nonexistent/rules").errors[0]?.code).toBe("io");
  });
});
