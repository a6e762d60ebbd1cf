/**
 * Load-time selection by level, status, tags, ids and paths.
 */

import { describe, expect, test } from "bun:test";
import type { RuleMeta } from "../../src/rules/ast.ts";
import { isSelected, SELECT_ALL } from "../../src/rules/select.ts";

const rule = (over: Partial<RuleMeta>): RuleMeta => ({
  id: "a",
  title: "t",
  name: null,
  level: "medium",
  status: "test",
  tags: ["attack.t1059"],
  logsource: { category: null, product: null, service: null },
  path: "rules/windows/a.yml",
  ...over,
});

describe("rule selection", () => {
  test("everything by default", () => {
    expect(isSelected(rule({ level: null, status: null }), SELECT_ALL)).toBe(true);
  });
  test("minimum level", () => {
    const high = { ...SELECT_ALL, minLevel: "high" as const };
    expect(isSelected(rule({ level: "critical" }), high)).toBe(true);
    expect(isSelected(rule({ level: "high" }), high)).toBe(true);
    expect(isSelected(rule({ level: "medium" }), high)).toBe(false);
    expect(isSelected(rule({ level: null }), high)).toBe(false);
  });
  test("status and tags", () => {
    expect(isSelected(rule({}), { ...SELECT_ALL, statuses: ["stable", "test"] })).toBe(true);
    expect(isSelected(rule({ status: "experimental" }), { ...SELECT_ALL, statuses: ["stable"] })).toBe(false);
    expect(isSelected(rule({}), { ...SELECT_ALL, tags: ["ATTACK.T1059"] })).toBe(true);
    expect(isSelected(rule({}), { ...SELECT_ALL, tags: ["attack.t1003"] })).toBe(false);
  });
  test("ids and paths, exclusion wins", () => {
    expect(isSelected(rule({}), { ...SELECT_ALL, includeIds: ["a"] })).toBe(true);
    expect(isSelected(rule({}), { ...SELECT_ALL, includeIds: ["b"] })).toBe(false);
    expect(isSelected(rule({}), { ...SELECT_ALL, includeIds: ["a"], excludeIds: ["a"] })).toBe(false);
    expect(isSelected(rule({}), { ...SELECT_ALL, includePaths: ["windows/"] })).toBe(true);
    expect(isSelected(rule({}), { ...SELECT_ALL, excludePaths: ["windows/"] })).toBe(false);
  });
});
