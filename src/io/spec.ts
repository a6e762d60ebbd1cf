/**
 * The declaration every source and sink kind exports: its flags, a parser
 * from CLI options to its typed config, and a factory. The registry
 * (registry.ts) lists the kinds; nothing else knows them by name.
 */

import type { FlagSpec, Options } from "../cli/args.ts";
import type { Sink, SinkRole } from "./sink.ts";
import type { Source } from "./source.ts";
import type { Engine } from "../native/engine.ts";

/** What a source or sink may need from the running process. */
export interface IoContext {
  engine: Engine;
  /** Called by long-running sources to report input progress (bytes read so far, total if known). */
  progress?: (done: number, total: number | null) => void;
}

export interface SourceSpec<Config> {
  kind: string;
  flags: FlagSpec[];
  parse(options: Options): Config;
  create(config: Config, io: IoContext): Source;
}

export interface SinkSpec<Config> {
  kind: string;
  flags: FlagSpec[];
  parse(options: Options, role: SinkRole): Config;
  create(config: Config, io: IoContext): Sink;
}

/** A source kind with its config type erased, as the registry holds it. */
export interface RegisteredSource {
  kind: string;
  flags: FlagSpec[];
  build(options: Options, io: IoContext): Source;
}

export interface RegisteredSink {
  kind: string;
  flags: FlagSpec[];
  build(options: Options, role: SinkRole, io: IoContext): Sink;
}

export function registerSource<Config>(spec: SourceSpec<Config>): RegisteredSource {
  return { kind: spec.kind, flags: spec.flags, build: (options, io) => spec.create(spec.parse(options), io) };
}

export function registerSink<Config>(spec: SinkSpec<Config>): RegisteredSink {
  return { kind: spec.kind, flags: spec.flags, build: (options, role, io) => spec.create(spec.parse(options, role), io) };
}
