/**
 * The one explicit list of source and sink kinds (CONVENTIONS.md §4). The
 * CLI resolves `--input`/`--output` here and nowhere else; a kind's flags
 * come from its spec, so `--help` and flag validation stay in step.
 */

import type { FlagSpec } from "../cli/args.ts";
import { jsonSinkSpec } from "./sinks/json.ts";
import { kafkaSinkSpec } from "./sinks/kafka.ts";
import { jsonSourceSpec } from "./sources/json.ts";
import { kafkaSourceSpec } from "./sources/kafka.ts";
import { registerSink, registerSource, type RegisteredSink, type RegisteredSource } from "./spec.ts";

export const SOURCES: readonly RegisteredSource[] = [registerSource(jsonSourceSpec), registerSource(kafkaSourceSpec)];

export const SINKS: readonly RegisteredSink[] = [registerSink(jsonSinkSpec), registerSink(kafkaSinkSpec)];

/** Kinds the CLI accepts but that are not built yet; choosing one is a clear error, never a no-op. */
export const PLANNED_KINDS: readonly string[] = ["flight"];

export function sourceKind(kind: string): RegisteredSource | undefined {
  return SOURCES.find((s) => s.kind === kind);
}

export function sinkKind(kind: string): RegisteredSink | undefined {
  return SINKS.find((s) => s.kind === kind);
}

export function ioFlags(): FlagSpec[] {
  const seen = new Set<string>();
  const out: FlagSpec[] = [];
  for (const spec of [...SOURCES, ...SINKS]) {
    for (const flag of spec.flags) {
      if (seen.has(flag.name)) continue;
      seen.add(flag.name);
      out.push(flag);
    }
  }
  return out;
}
