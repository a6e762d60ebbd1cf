/**
 * Loads the whole SigmaHQ rule tree from /work/shared/sigma (read-only) and
 * builds one plan from it: the rejection rate must stay ≤ 0.5% and every
 * rejection is printed with its reason. Placeholder rules (`expand`) need
 * deployment values; the test supplies a value for every placeholder name it
 * finds, as a deployment's config would, and separately checks that without
 * values those rules load inert (the placeholder matches nothing) with a warning.
 * Skips with a message when /work/shared is absent.
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { buildPlan } from "../../src/plan/build.ts";
import type { RuleError } from "../../src/rules/ast.ts";
import { listRuleFiles, loadRules } from "../../src/rules/load.ts";
import { validatePlan } from "../../src/plan/validate.ts";
import { SHARED } from "../support/binary.ts";

const ROOT = process.env["SIGMA_TREE"] ?? join(SHARED, "sigma");
const DIRS = ["rules", "rules-emerging-threats", "rules-threat-hunting", "rules-compliance", "rules-dfir", "rules-placeholder"];
const present = existsSync(join(ROOT, "rules"));
if (!present) process.stderr.write(`sigma-tree.test.ts: skipped, SigmaHQ tree not found at ${ROOT} (set SIGMA_TREE)\n`);

function report(errors: RuleError[]): string {
  return errors.map((e) => `  REJECTED ${e.path.slice(ROOT.length + 1)} [${e.code}] ${e.message}`).join("\n");
}

describe.skipIf(!present)("SigmaHQ tree", () => {
  const paths = DIRS.map((d) => join(ROOT, d)).filter(existsSync);

  test("without placeholder values nothing is rejected; placeholder rules load inert, with warnings", () => {
    const r = loadRules(paths);
    process.stderr.write(`without placeholder values: ${r.errors.length} rejected, ${r.warnings.length} warnings\n${report(r.warnings)}\n`);
    expect(r.errors).toEqual([]);
    expect(r.warnings.length).toBeGreaterThan(0);
    for (const w of r.warnings) expect(w.code).toBe("placeholder");
  });

  test("rejection rate ≤ 0.5%, load + compile time", () => {
    const files = paths.flatMap((p) => listRuleFiles(p)).length;
    // one made-up value per placeholder name used in the tree
    const names = ["Administrators", "Admins_Workstations", "ApprovedUserUpn", "Approved_Inviters", "DomainControllers", "HomeTenantID", "Important_AppIds", "KNOWN_LOCATION", "Known_Location", "Legitimate_Countries", "Legitimate_IP_Ranges", "ServerSystems", "UnApprovedDevice", "UnApprovedIp", "UnLegitCountries", "Workstations", "dc_ip_addresses", "dc_machine_accounts", "domain_controller_hostnames", "internal_domains", "legit_ips", "legtimate_identifiers", "userdomain", "known_cdcs", "DC-MACHINE-NAME"];
    const placeholders = Object.fromEntries(names.map((n) => [n, n.includes("ip") || n.includes("IP") ? ["10.0.0.1"] : [`example-${n.toLowerCase()}`]]));
    const t0 = performance.now();
    const loaded = loadRules(paths, { placeholders });
    const t1 = performance.now();
    const built = buildPlan(loaded);
    const t2 = performance.now();
    const rejected = [...loaded.errors, ...built.errors];
    const rate = rejected.length / files;
    process.stderr.write(
      `SigmaHQ tree: ${files} files, ${loaded.rules.length} rules loaded, ${rejected.length} rejected (${(rate * 100).toFixed(2)}%); ` +
        `load ${(t1 - t0).toFixed(0)} ms, plan ${(t2 - t1).toFixed(0)} ms, total ${(t2 - t0).toFixed(0)} ms; ` +
        `plan: ${built.plan.fields.length} fields, ${built.plan.predicates.length} predicates\n${report(rejected)}\n`,
    );
    expect(rate).toBeLessThanOrEqual(0.005);
    expect(validatePlan(built.plan, { uniquePredicates: true })).toEqual([]);
    expect(built.plan.rules.length).toBe(loaded.rules.length);
  }, 30_000);
});
