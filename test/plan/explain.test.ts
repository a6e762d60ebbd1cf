/** Golden test of `explainPlan` over the project's own example rules (rules/); set UPDATE_GOLDEN=1 to rewrite. */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { buildPlan } from "../../src/plan/build.ts";
import { describeCorrelation, describeExpr, describeField, describePredicate, describeRule, explainPlan } from "../../src/plan/explain.ts";
import { loadRules } from "../../src/rules/load.ts";

const root = join(import.meta.dir, "..", "..");
const golden = join(import.meta.dir, "explain.golden.txt");

describe("explain", () => {
  test("golden: project example rules", () => {
    const loaded = loadRules(join(root, "rules"));
    expect(loaded.errors).toEqual([]);
    const rules = loaded.rules.map((r) => ({ ...r, path: relative(root, r.path) }));
    const { logical } = buildPlan({ ...loaded, rules });
    const text = `${explainPlan(logical)}\n`;
    if (process.env["UPDATE_GOLDEN"] === "1") writeFileSync(golden, text);
    if (!existsSync(golden)) throw new Error(`missing ${golden}: run with UPDATE_GOLDEN=1`);
    expect(text).toBe(readFileSync(golden, "utf8"));
  });

  test("one-line descriptions per node type", () => {
    const loaded = loadRules(join(root, "rules"));
    const { logical } = buildPlan(loaded);
    expect(describePredicate(logical, 0)).toBe('#0 <keywords> contains "sekurlsa::logonpasswords" (ci)');
    expect(describeField(logical, 0, new Map([["string:exact", 2], ["regex", 1]]))).toBe("DestinationPort: 3 predicates (regex=1, string:exact=2)");
    expect(describeExpr({ and: [{ pred: 1 }, { not: { or: [{ pred: 2 }, { pred: 3 }] } }] })).toBe("#1 and not (#2 or #3)");
    const rule = logical.rules[0];
    expect(rule && describeRule(rule)).toMatch(/^\[critical\] Credential Dumping Tool Strings in Any Field \(3b0c5d1e-.*\) preds=3: #0 or #1 or #2$/);
    const corr = logical.correlations[0];
    expect(corr && describeCorrelation(corr)).toMatch(/^temporal_ordered "Discovery Followed by Local User Creation" .* within 10m when gte 2$/);
  });
});
