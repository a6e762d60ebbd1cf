/**
 * The only door to the Rust addon (CONVENTIONS.md §1). The `.node` file is
 * required by a literal path so that `bun build --compile` embeds it in the
 * single binary; everything else imports `engine.ts`, never this file.
 *
 * The types below mirror native/binding/src/lib.rs by hand; the binding's
 * tests in test/native exercise every entry point, so a drift fails there.
 */

import type { CDataArray, PackedArrays } from "../batch/c-data.ts";

export interface NativeJsonOutput {
  lines: number;
  events: number;
  lineOffsets: Uint32Array;
  matchRows: Uint32Array;
  matchRules: Uint32Array;
  deadRows: Uint32Array;
  deadReasons: string[];
  /** NDJSON match records, when evalJson was asked to render them. */
  rendered: Uint8Array | null;
  /** The chunk evalJsonSpans joined and evaluated. */
  joined: Uint8Array | null;
}

/** What evalJson needs to render match records for a chunk of a file. */
export interface NativeRenderOptions {
  file: string;
  firstLine: number;
  detected: string;
}

export interface NativeMatchOutput {
  matchRows: Uint32Array;
  matchRules: Uint32Array;
  /** The match batch, when evalArrow was given a builder. */
  matchBatch?: NativeEncodedBatch;
}

export interface NativeCompileError {
  predicate: number;
  message: string;
}

export interface NativeEngine {
  compileErrors(): NativeCompileError[];
  evalJson(chunk: Uint8Array, render: NativeRenderOptions | null): Promise<NativeJsonOutput>;
  /** Line r is `source[spans[2r]..spans[2r + 1])`, joined into a chunk (returned as `joined`) on the engine's threads. */
  evalJsonSpans(source: Uint8Array, spans: Uint32Array, render: NativeRenderOptions | null): Promise<NativeJsonOutput>;
  evalJsonSync(chunk: Uint8Array): NativeJsonOutput;
  /** With `matches`, the evaluation also builds the batch's match batch on the engine's threads. */
  evalArrow(batch: PackedArrays, schema: NativeBatchSchema, matches: NativeMatchBatchBuilder | null): Promise<NativeMatchOutput>;
  /** The naive rule-by-rule oracle over the same parse (detection rules only, no correlations). */
  evalJsonReference(chunk: Uint8Array): NativeMatchOutput;
  /** JSON-encoded EngineStats. */
  stats(): string;
  /** JSON-encoded physical plan description. */
  explain(): string;
  /** Correlation state as versioned JSON bytes. */
  snapshot(): Buffer;
  /** Replaces the correlation state; returns a JSON-encoded restore report. Throws on a malformed snapshot. */
  restore(snapshot: Buffer): string;
}

/** A record batch as one IPC RecordBatch message: Flight's data_header and data_body. */
export interface NativeEncodedBatch {
  header: Uint8Array;
  body: Uint8Array;
}

/** The C schema of a stream's batches (native/binding/src/c_data.rs SharedSchema), built once. */
export type NativeBatchSchema = object;

/** Builds match batches against one rule table (native/binding/src/match_batch.rs), IPC-encoded. */
export interface NativeMatchBatchBuilder {
  /** The input batch's columns at `matchRows`, after the rule columns. */
  fromArrow(input: PackedArrays, schema: NativeBatchSchema, matchRows: Uint32Array, matchRules: Uint32Array): NativeEncodedBatch;
  /** The JSON line of each matched row of an NDJSON chunk, after the rule columns. */
  fromJson(chunk: Uint8Array, lineOffsets: Uint32Array, matchRows: Uint32Array, matchRules: Uint32Array): NativeEncodedBatch;
}

export interface NativeAddon {
  version(): string;
  NativeEngine: new (planJson: string) => NativeEngine;
  /** `rulesJson`: `[{id, title, level, tags}]`, indexed like match rule ids. */
  MatchBatchBuilder: new (rulesJson: string) => NativeMatchBatchBuilder;
  /** The schema part of a batch description, for every later batch of the same Arrow schema. */
  BatchSchema: new (description: CDataArray) => NativeBatchSchema;
  /** Imports a batch through the C Data Interface and exports it back: the round-trip probe. */
  roundTripArrow(batch: PackedArrays, schema: NativeBatchSchema): CDataArray;
  /** Parses NDJSON into the Arrow columns of `fields` and exports them through the C Data Interface. */
  jsonToArrow(chunk: Uint8Array, fields: string[]): CDataArray;
  /** Lines in an NDJSON chunk; a final line without newline counts. */
  countLines(chunk: Uint8Array): number;
}

// A literal path: bun build --compile embeds the file it names.
export const addon = require("../../native/binding/sigma.node") as NativeAddon;
