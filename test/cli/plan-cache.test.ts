/**
 * The compiled-plan cache: a second compile of an unchanged rule set comes
 * from the cache with the same plan and the same rejections; changing a
 * rule file, an option, or disabling the cache compiles from the sources.
 */

import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileRuleSet, type RuleSetOptions } from "../../src/cli/ruleset.ts";
import { SELECT_ALL } from "../../src/rules/select.ts";

const dir = mkdtempSync(join(tmpdir(), "sigma-plan-cache-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rule = (needle: string): string => `title: R ${needle}
id: 6a0c3c9e-1111-4d4d-8e8e-00000000000${needle.length}
logsource: {product: windows}
detection:
  sel: {CommandLine|contains: ${needle}}
  condition: sel
`;

test("hit on an unchanged rule set, miss on any change", () => {
  const rules = join(dir, "rules");
  mkdirSync(rules);
  writeFileSync(join(rules, "a.yml"), rule("abc"));
  writeFileSync(join(rules, "bad.yml"), "title: bad\nid: x\nlogsource: {}\ndetection: {sel: {a|nope: 1}, condition: sel}\n");
  const options: RuleSetOptions = {
    paths: [rules],
    pipelines: [],
    placeholders: {},
    selection: SELECT_ALL,
    engine: {},
    cacheDir: join(dir, "cache"),
  };
  const first = compileRuleSet(options);
  expect(first.cached).toBe(false);
  const second = compileRuleSet(options);
  expect(second.cached).toBe(true);
  expect(second.plan).toEqual(first.plan);
  expect(second.passLog).toEqual(first.passLog);
  // A cached set carries no logical plan (the cache does not keep it).
  expect("logical" in second).toBe(false);
  expect(second.rejected).toEqual(first.rejected);
  expect(second.rejected.map((r) => r.code)).toEqual(["modifier"]);

  // A rule file edit (new size and time) misses.
  writeFileSync(join(rules, "a.yml"), rule("abcdef"));
  utimesSync(join(rules, "a.yml"), new Date(), new Date(Date.now() + 5000));
  const edited = compileRuleSet(options);
  expect(edited.cached).toBe(false);
  expect(JSON.stringify(edited.plan.predicates)).toContain("abcdef");
  // Other options miss; no cache never hits.
  expect(compileRuleSet({ ...options, engine: { maxDepth: 3 } }).cached).toBe(false);
  expect(compileRuleSet({ ...options, cacheDir: null }).cached).toBe(false);
  expect(compileRuleSet(options).cached).toBe(true);
});
