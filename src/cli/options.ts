/**
 * The CLI's own flags and their translation into typed settings: rule
 * selection, pipelines, engine limits. Source and sink flags live with their
 * kinds (src/io/registry.ts).
 */

import type { FlagSpec, Options } from "./args.ts";
import { UsageError } from "./args.ts";
import { LEVELS, type RuleSelection } from "../rules/select.ts";
import type { Level } from "../plan/types.ts";
import type { RuleSetOptions } from "./ruleset.ts";
import { loadPipelines } from "../rules/pipeline.ts";
import { defaultCacheDir } from "./plan-cache.ts";

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  rules: 3,
  input: 4,
} as const;

export const MODES = ["standalone", "coordinator", "worker"] as const;

/**
 * Unacknowledged batches before sources pause. A Kafka fetch brings one
 * batch per partition, and kafkajs fetches again only once every batch of
 * the last fetch was emitted: with 4, the 4 batches of a 4-partition fetch
 * filled the window, so each fetch waited for the one before to be
 * evaluated and produced. 8 lets the next fetch overlap that: 500k events
 * from 4 partitions, 5 alternating pairs, 148–154k against 130–138k
 * events/s (bench/RESULTS.md).
 */
export const DEFAULT_MAX_IN_FLIGHT = 8;

export const CORE_FLAGS: FlagSpec[] = [
  { name: "rules", description: "Sigma rule file or directory, searched recursively (repeatable)", takesValue: true, repeatable: true },
  { name: "input", description: "where events come from (default json)", takesValue: true, choices: ["json", "kafka", "flight"] },
  { name: "output", description: "where matches go (default json)", takesValue: true, choices: ["json", "kafka", "flight"] },
  { name: "mode", description: "process role (default standalone)", takesValue: true, choices: MODES },
  { name: "flight-server", description: "serve Arrow Flight on host:port", takesValue: true },
  { name: "pipeline", description: "processing pipeline: a built-in name (sysmon, windows, ecs) or a YAML file (repeatable, applied in order)", takesValue: true, repeatable: true },
  { name: "placeholder", description: "value for an expand placeholder, name=value (repeatable)", takesValue: true, repeatable: true },
  { name: "min-level", description: "load only rules at or above this level", takesValue: true, choices: LEVELS },
  { name: "status", description: "load only rules with one of these statuses (comma list)", takesValue: true, repeatable: true },
  { name: "tags", description: "load only rules with at least one of these tags (comma list)", takesValue: true, repeatable: true },
  { name: "include-id", description: "load only these rule ids (comma list)", takesValue: true, repeatable: true },
  { name: "exclude-id", description: "skip these rule ids (comma list)", takesValue: true, repeatable: true },
  { name: "include-path", description: "load only rules whose path contains one of these (comma list)", takesValue: true, repeatable: true },
  { name: "exclude-path", description: "skip rules whose path contains one of these (comma list)", takesValue: true, repeatable: true },
  { name: "plan-cache", description: "directory of the compiled-plan cache (default $XDG_CACHE_HOME/sigma/plans)", takesValue: true },
  { name: "no-plan-cache", description: "always parse and plan the rules, without the cache", takesValue: false },
  { name: "threads", description: "evaluation threads inside the engine (default: one per core)", takesValue: true },
  { name: "max-event-bytes", description: "events longer than this are dead-lettered (default 1048576)", takesValue: true },
  { name: "max-depth", description: "events nested deeper than this are dead-lettered (default 64)", takesValue: true },
  { name: "timestamp-field", description: "event-time field for correlations (default: arrival time)", takesValue: true },
  { name: "state", description: "correlation state file: restored at start when it exists, written at clean shutdown", takesValue: true },
  { name: "max-in-flight", description: `unacknowledged batches before sources pause (default ${DEFAULT_MAX_IN_FLIGHT}; with Kafka, at least twice the partitions one process reads)`, takesValue: true },
  { name: "admin", description: "serve /metrics, /healthz and POST /reload over HTTP on host:port", takesValue: true },
  { name: "admin-token", description: "bearer token for POST /reload (or env SIGMA_ADMIN_TOKEN); without one, reload only on loopback", takesValue: true },
  { name: "admin-tls-cert", description: "PEM certificate for the admin endpoint (with --admin-tls-key)", takesValue: true },
  { name: "admin-tls-key", description: "PEM private key for the admin endpoint", takesValue: true },
  { name: "summary-json", description: "also write the run summary as JSON to this file", takesValue: true },
  { name: "quiet", description: "no summary or rule report on stderr", takesValue: false },
  { name: "verbose", description: "list every rejected rule with its reason", takesValue: false },
  { name: "json", description: "machine-readable output for explain and rules subcommands", takesValue: false },
  { name: "help", description: "show this help", takesValue: false },
  { name: "version", description: "print the version", takesValue: false },
];

export function ruleSelection(options: Options): RuleSelection {
  const minLevel = options.string("min-level");
  return {
    minLevel: minLevel === undefined ? null : (minLevel as Level),
    statuses: options.list("status"),
    tags: options.list("tags"),
    includeIds: options.list("include-id"),
    excludeIds: options.list("exclude-id"),
    includePaths: options.list("include-path"),
    excludePaths: options.list("exclude-path"),
  };
}

export function placeholders(options: Options): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const pair of options.list("placeholder")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--placeholder must be name=value, got "${pair}"`);
    const name = pair.slice(0, eq);
    (out[name] ??= []).push(pair.slice(eq + 1));
  }
  return out;
}

export function ruleSetOptions(options: Options): RuleSetOptions {
  const paths = options.list("rules");
  if (paths.length === 0) throw new UsageError("--rules <path> is required");
  const engine: RuleSetOptions["engine"] = {
    threads: options.integer("threads", 0),
    maxEventBytes: options.integer("max-event-bytes", 1 << 20, 2),
    maxDepth: options.integer("max-depth", 64, 1),
  };
  const timestampField = options.string("timestamp-field");
  if (timestampField !== undefined) engine.timestampField = timestampField;
  return {
    paths,
    pipelines: loadPipelines(options.list("pipeline")),
    placeholders: placeholders(options),
    selection: ruleSelection(options),
    engine,
    cacheDir: options.flag("no-plan-cache") ? null : (options.string("plan-cache") ?? defaultCacheDir()),
  };
}
