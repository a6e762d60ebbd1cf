/**
 * The one explicit list of source and sink kinds (CONVENTIONS.md §4). The
 * CLI resolves `--input`/`--output` here and nowhere else; a kind's flags
 * come from its spec, so `--help` and flag validation stay in step.
 */

import type { FlagSpec } from "../cli/args.ts";
import { flightServerFlags } from "../flight/config.ts";
import { flightSinkSpec } from "./sinks/flight.ts";
import { jsonSinkSpec } from "./sinks/json.ts";
import { kafkaSinkSpec } from "./sinks/kafka.ts";
import { flightSourceSpec } from "./sources/flight.ts";
import { jsonSourceSpec } from "./sources/json.ts";
import { kafkaSourceSpec } from "./sources/kafka.ts";
import { registerSink, registerSource, type RegisteredSink, type RegisteredSource } from "./spec.ts";

export const SOURCES: readonly RegisteredSource[] = [
  registerSource(jsonSourceSpec),
  registerSource(kafkaSourceSpec),
  registerSource(flightSourceSpec),
];

export const SINKS: readonly RegisteredSink[] = [registerSink(jsonSinkSpec), registerSink(kafkaSinkSpec), registerSink(flightSinkSpec)];

export function sourceKind(kind: string): RegisteredSource | undefined {
  return SOURCES.find((s) => s.kind === kind);
}

export function sinkKind(kind: string): RegisteredSink | undefined {
  return SINKS.find((s) => s.kind === kind);
}

export function ioFlags(): FlagSpec[] {
  const seen = new Set<string>();
  const out: FlagSpec[] = [];
  for (const flags of [...SOURCES.map((s) => s.flags), ...SINKS.map((s) => s.flags), flightServerFlags]) {
    for (const flag of flags) {
      if (seen.has(flag.name)) continue;
      seen.add(flag.name);
      out.push(flag);
    }
  }
  return out;
}
