/**
 * `sigma explain`: the logical plan as the TypeScript compiler built it
 * (fields, predicates by kind, shared predicates, rules) followed by the
 * physical plan the engine built from it (matchers per field and their sizes).
 */

import type { Options } from "./args.ts";
import { EXIT, ruleSetOptions } from "./options.ts";
import { compileFromRules } from "./ruleset.ts";
import { explainPlan } from "../plan/explain.ts";
import { explainPhysical, type PhysicalPlan } from "../plan/explain-physical.ts";

export function explainCommand(options: Options): number {
  // From the rules, not the plan cache: the cache does not keep the logical plan.
  const set = compileFromRules(ruleSetOptions(options));
  const physical = set.engine.explain();
  if (options.flag("json")) {
    console.log(JSON.stringify({ logical: set.plan, physical, passes: set.passLog }, null, 2));
    return EXIT.ok;
  }
  console.log(explainPlan(set.logical));
  console.log("");
  console.log(explainPhysical(physical as PhysicalPlan));
  return EXIT.ok;
}
