/**
 * What the engine hands to sinks for one input batch: the matches as two
 * parallel typed arrays (sorted by row, then rule), the dead letters, and a
 * way to render any row of the input back as JSON text.
 *
 * Rule index `i` addresses `rules[i]`; indexes at or past the base rule count
 * are correlation rules, whose row is the event that completed them.
 */

import type { EvaluatedBatch } from "../batch/batch.ts";
import type { RuleHeader } from "../plan/types.ts";

export interface DeadLetter {
  row: number;
  reason: string;
}

export interface EvalResult {
  /** The input batch; for a `SpannedJsonBatch`, the `RawJsonBatch` of its joined lines (same origin). */
  batch: EvaluatedBatch;
  /** Rows in the input batch, blank lines included. */
  rows: number;
  /** Rows that were evaluated as events: not blank, not dead-lettered. */
  events: number;
  matchRows: Uint32Array;
  matchRules: Uint32Array;
  deadLetters: DeadLetter[];
  rules: readonly RuleHeader[];
  /** The match records already rendered as NDJSON by the engine (line input), or null. */
  renderedMatches: Uint8Array | null;
  /** The match batch as one IPC message, when the engine built it with the evaluation (ArrowBatch.replyWithMatches). */
  matchBatch?: { header: Uint8Array; body: Uint8Array };
  /** NDJSON input: where each line of the chunk starts (line r ends where line r + 1 starts, the last at the chunk's end). */
  lineOffsets?: Uint32Array;
  /** The event of `row` as JSON text (the raw line for NDJSON input). */
  eventJson(row: number): string;
  /**
   * The same event as UTF-8 bytes, when the batch holds them already (NDJSON
   * input: a view of the line, no copy), so byte-level renderers skip a
   * decode and re-encode. Absent: renderers encode `eventJson`.
   */
  eventBytes?(row: number): Uint8Array;
  /** The raw input of `row` for dead letters (the line as received). */
  rawInput(row: number): string;
}
