/**
 * `sigma run` (the default command): compile the rules, wire the chosen
 * source to the matches sink and the dead-letter sink through the engine,
 * run until the input ends or SIGINT/SIGTERM, then print the summary.
 * SIGHUP reloads the rules from the same paths without stopping the input.
 * Signals stop the source; batches in flight drain and are acknowledged
 * before the process exits 0.
 */

import type { Options } from "./args.ts";
import { UsageError } from "./args.ts";
import { DEFAULT_MAX_IN_FLIGHT, EXIT, ruleSetOptions } from "./options.ts";
import { compileRuleSet, type RunningRuleSet } from "./ruleset.ts";
import { sinkKind, sourceKind } from "../io/registry.ts";
import type { Source } from "../io/source.ts";
import { mergeSources } from "../io/sources/merge.ts";
import { parseFlightServerConfig } from "../flight/config.ts";
import { startFlightServer, type FlightServer } from "../flight/server.ts";
import { runPipeline } from "../io/pipeline.ts";
import type { Sink } from "../io/sink.ts";
import type { IoContext } from "../io/spec.ts";
import { ProgressBar } from "../telemetry/progress.ts";
import { SummaryCollector, type RunSummary } from "../telemetry/summary.ts";
import type { RuleError } from "../rules/ast.ts";
import { log } from "../telemetry/log.ts";
import { LiveEngine } from "./live-engine.ts";
import { AdminServer } from "../telemetry/admin-server.ts";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";

export function reportRules(set: RunningRuleSet, verbose: boolean): void {
  console.error(`loaded ${set.loaded} rules, rejected ${set.rejected.length} (${(set.seconds * 1000).toFixed(0)} ms${set.cached ? ", cached plan" : ""})`);
  const shown = verbose ? set.rejected : set.rejected.slice(0, 20);
  for (const error of shown) console.error(`  rejected ${describeRejection(error)}`);
  if (shown.length < set.rejected.length) {
    console.error(`  … ${set.rejected.length - shown.length} more (--verbose lists all, or: sigma rules lint)`);
  }
  if (set.warnings.length > 0) {
    console.error(`${set.warnings.length} rule file(s) loaded with warnings${verbose ? ":" : " (--verbose lists them)"}`);
    if (verbose) for (const warning of set.warnings) console.error(`  warning ${describeRejection(warning)}`);
  }
}

export function describeRejection(error: RuleError): string {
  return `${error.path}${error.id ? ` [${error.id}]` : ""}: ${error.code}: ${error.message}`;
}

function printSummary(summary: RunSummary): void {
  const levels = Object.entries(summary.matchesByLevel)
    .map(([level, count]) => `${level} ${count}`)
    .join(", ");
  console.error(
    `events ${summary.events}, matches ${summary.matches}${levels ? ` (${levels})` : ""}, dead letters ${summary.deadLetters}, ` +
      `${summary.seconds.toFixed(2)} s, ${Math.round(summary.eventsPerSecond).toLocaleString("en-US")} events/s`,
  );
  console.error(
    `  ${(summary.bytes / 1e6 / Math.max(summary.seconds, 1e-9)).toFixed(0)} MB/s, ${summary.batches} batches, ` +
      `batch latency p50 ${summary.batchLatencyMs.p50.toFixed(1)} ms p99 ${summary.batchLatencyMs.p99.toFixed(1)} ms, ` +
      `peak RSS ${(summary.peakRssBytes / 1048576).toFixed(0)} MiB`,
  );
  for (const rule of summary.topRules) console.error(`  ${String(rule.matches).padStart(8)}  ${rule.title} [${rule.id}]`);
}

function startAdmin(options: Options, live: LiveEngine, summary: SummaryCollector, input: Source, sinks: readonly Sink[]): AdminServer | null {
  const address = options.string("admin");
  if (address === undefined) return null;
  const tls = options.certificateAndKey("admin-tls-cert", "admin-tls-key");
  const token = options.string("admin-token") ?? process.env.SIGMA_ADMIN_TOKEN ?? null;
  const server = new AdminServer({
    address,
    token: token === "" ? null : token,
    tls,
    hooks: {
      metrics: () => {
        const engine = live.stats();
        const totals = summary.finish();
        const values = {
          events_total: totals.events,
          matches_total: totals.matches,
          dead_letters_total: totals.deadLetters,
          batches_total: totals.batches,
          input_bytes_total: totals.bytes,
          engine_parse_seconds_total: engine.parseNs / 1e9,
          engine_match_seconds_total: engine.matchNs / 1e9,
          engine_resolve_seconds_total: engine.conditionNs / 1e9,
          rules_loaded: live.ruleSet.loaded,
          rules_generation: live.generation,
          process_resident_memory_bytes: process.memoryUsage().rss,
        };
        return { values, labelled: [...(input.metrics?.() ?? []), ...sinks.flatMap((sink) => sink.metrics?.() ?? [])] };
      },
      reload: () => live.reload(),
    },
  });
  log.info("admin.listening", { address, port: server.port, tls: tls !== null });
  return server;
}

function notYet(what: string): never {
  throw new UsageError(`${what} is not yet available in this build`);
}

export async function runCommand(options: Options): Promise<number> {
  const mode = options.string("mode") ?? "standalone";
  if (mode !== "standalone") notYet(`--mode ${mode}`);
  const serving = options.has("flight-server");
  // With a Flight server the server is the input, unless --input names another one too.
  const inputKind = options.string("input") ?? (serving ? undefined : "json");
  // With a Flight server, matches go back to Flight clients; other outputs only when asked for.
  const outputKind = options.string("output") ?? (serving ? undefined : "json");
  const source = inputKind === undefined ? undefined : sourceKind(inputKind);
  const matchSink = outputKind === undefined ? undefined : sinkKind(outputKind);
  if (inputKind !== undefined && source === undefined) throw new UsageError(`unknown input ${inputKind}`);
  if (outputKind !== undefined && matchSink === undefined) throw new UsageError(`unknown output ${outputKind}`);

  const settings = ruleSetOptions(options);
  const live = new LiveEngine(compileRuleSet(settings), settings);
  // The compiled plan's JS objects are garbage now; collect them before
  // batches allocate, so they do not add to the peak RSS.
  Bun.gc(true);
  const quiet = options.flag("quiet");
  if (!quiet) reportRules(live.ruleSet, options.flag("verbose"));
  const statePath = options.string("state");
  if (statePath !== undefined && existsSync(statePath)) {
    const report = live.engine.restore(readFileSync(statePath));
    log.info("correlation.state_restored", { path: statePath, groups: report.groups, ignored: report.ignored });
  }

  const progress = new ProgressBar(!quiet && process.stderr.isTTY === true);
  const summary = new SummaryCollector();
  const io: IoContext = {
    engine: live.engine,
    progress: (done, total) => progress.update(done, total, summary.events),
  };
  const sinks: Sink[] = matchSink === undefined ? [] : [matchSink.build(options, "matches", io)];
  // Dead letters go to every dead-letter output configured: a file, a Kafka topic, or both.
  for (const [flag, kind] of [["dead-letter", "json"], ["kafka-dead-letter-topic", "kafka"]] as const) {
    const deadLetterSink = options.has(flag) ? sinkKind(kind) : undefined;
    if (deadLetterSink !== undefined) sinks.push(deadLetterSink.build(options, "dead-letters", io));
  }
  const inputs: Source[] = source === undefined ? [] : [source.build(options, io)];
  let server: FlightServer | null = null;
  if (serving) {
    server = await startFlightServer({
      ...parseFlightServerConfig(options),
      hooks: {
        rules: () => live.rules(),
        stats: () => live.stats(),
        referencedFields: () => live.engine.fields,
        reload: () => live.reload(),
      },
    });
    inputs.push(server);
    sinks.push(server.sink);
    if (!quiet) console.error(`serving Arrow Flight on ${options.string("flight-server")}, listening on ${server.port}`);
  }
  const input = mergeSources(inputs);

  const admin = startAdmin(options, live, summary, input, sinks);
  const controller = new AbortController();
  const stop = (): void => {
    controller.abort();
    void input.stop();
  };
  const reload = (): void => {
    live.reload().catch((error: unknown) => log.error("rules.reload_failed", { error }));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  process.on("SIGHUP", reload);
  let failures = 0;
  try {
    const outcome = await runPipeline(input, live, sinks, {
      maxInFlight: options.integer("max-in-flight", DEFAULT_MAX_IN_FLIGHT, 1),
      signal: controller.signal,
      observer: {
        onResult: (result, latencyMs) => summary.add(result, latencyMs),
        onBatchFailed: (status, reason) => console.error(`error: a batch was not delivered (${status}): ${reason}`),
      },
    });
    failures = outcome.failedBatches;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    process.off("SIGHUP", reload);
    progress.finish();
    await Promise.all(sinks.map((s) => s.stop()));
    await admin?.stop();
  }
  if (statePath !== undefined) {
    // Written at clean shutdown only (after the pipeline drained), atomically.
    writeFileSync(`${statePath}.tmp`, live.engine.snapshot());
    renameSync(`${statePath}.tmp`, statePath);
  }
  const totals = summary.finish();
  if (!quiet) printSummary(totals);
  const summaryPath = options.string("summary-json");
  if (summaryPath !== undefined) await Bun.write(summaryPath, JSON.stringify(totals, null, 2) + "\n");
  return failures > 0 ? EXIT.failure : EXIT.ok;
}
