/**
 * `sigma rules lint` reports every rejected rule with its file, id and
 * reason (exit 3 when any is rejected); `sigma rules list` lists the rules
 * that load, with id, level, status and title. `--json` for machines.
 */

import type { Options } from "./args.ts";
import { EXIT, ruleSetOptions } from "./options.ts";
import { loadRuleSet } from "./ruleset.ts";
import { buildPlan } from "../plan/build.ts";
import { describeRejection } from "./run.ts";

export function rulesLint(options: Options): number {
  const settings = ruleSetOptions(options);
  const loaded = loadRuleSet(settings);
  const build = buildPlan({ rules: loaded.rules, correlations: loaded.correlations, filters: loaded.filters }, settings.engine);
  const rejected = [...loaded.errors, ...build.errors];
  const total = build.plan.rules.length + build.plan.correlations.length;
  if (options.flag("json")) {
    console.log(JSON.stringify({ loaded: total, rejected, warnings: loaded.warnings }, null, 2));
  } else {
    for (const error of rejected) console.log(describeRejection(error));
    for (const warning of loaded.warnings) console.log(`warning ${describeRejection(warning)}`);
    console.log(`loaded ${total} rules, rejected ${rejected.length}`);
  }
  return rejected.length > 0 ? EXIT.rules : EXIT.ok;
}

export function rulesList(options: Options): number {
  const settings = ruleSetOptions(options);
  const loaded = loadRuleSet(settings);
  const all = [...loaded.rules, ...loaded.correlations];
  if (options.flag("json")) {
    console.log(
      JSON.stringify(
        all.map((r) => ({ id: r.id, title: r.title, level: r.level, status: r.status, tags: r.tags, path: r.path, kind: r.kind })),
        null,
        2,
      ),
    );
  } else {
    for (const r of all) {
      console.log(`${r.id ?? "-"}\t${r.level ?? "-"}\t${r.status ?? "-"}\t${r.kind}\t${r.title}`);
    }
  }
  return EXIT.ok;
}
