/**
 * The physical EXPLAIN prints the matchers the engine built: for the
 * project's example rules, the expected matcher kinds per field.
 */

import { expect, test } from "bun:test";
import { join } from "node:path";
import { Engine } from "../../src/native/engine.ts";
import { buildPlan } from "../../src/plan/build.ts";
import { explainPhysical, type PhysicalPlan } from "../../src/plan/explain-physical.ts";
import { loadRules } from "../../src/rules/load.ts";

test("physical explain of the example rules", () => {
  const { plan } = buildPlan(loadRules(join(import.meta.dir, "..", "..", "rules")));
  const { engine } = Engine.compile(plan);
  const text = explainPhysical(engine.explain() as PhysicalPlan);
  expect(text).toMatch(/FieldMatcher Image: literals patterns=13 \(folded=13, cased=0; suffix=13; window index \d+ KiB\)/);
  expect(text).toContain("FieldMatcher DestinationPort: hash-set exact=4, numeric=1");
  expect(text).toContain("FieldMatcher DestinationIp: cidr=2");
  expect(text).toContain("FieldMatcher <keywords: every string value>: literals patterns=3");
  expect(text).toMatch(/Stage 2 {2}rule triggers: \d+ rules visited only where one of their trigger predicates hit/);
  expect(text).toMatch(/Stage 4 {2}conditions: 11 rules resolved with row bitsets/);
  expect(text).toContain("Stage 5  correlations: 1");
});
