/**
 * The two kinds of batch that travel from sources to the engine, and the
 * positions that tie every row back to where it came from.
 *
 * A batch never holds per-event JS objects: a `RawJsonBatch` is bytes cut at
 * newlines, an `ArrowBatch` is a RecordBatch. Row `r` of a batch is line `r`
 * of its bytes (blank lines included) or row `r` of its RecordBatch.
 */

import type { RecordBatch } from "apache-arrow";

export type SourcePosition =
  | { file: string; line: number }
  | { topic: string; partition: number; offset: string }
  | { descriptor: string; batch: number; row: number };

/** Maps a row of a batch to its source position; resolved only for matches and dead letters. */
export interface BatchOrigin {
  position(row: number): SourcePosition;
  /** Rows the source itself rejected (an empty Kafka message), blank in the bytes, with why. */
  readonly rejected?: readonly { row: number; reason: string }[];
}

export interface RawJsonBatch {
  kind: "json";
  /** Whole NDJSON lines; the last line may lack its newline. */
  bytes: Uint8Array;
  origin: BatchOrigin;
}

export interface ArrowBatch {
  kind: "arrow";
  batch: RecordBatch;
  origin: BatchOrigin;
  /**
   * The source replies with this batch's match batch at once (DoExchange), so
   * the engine builds it on its own threads while evaluating; other match
   * batches are built when first needed.
   */
  replyWithMatches?: boolean;
}

export type Batch = RawJsonBatch | ArrowBatch;

/** Lines of a file or stream: row r is line `firstLine + r` (1-based lines). */
export class LineOrigin implements BatchOrigin {
  constructor(
    readonly file: string,
    readonly firstLine: number,
  ) {}

  position(row: number): SourcePosition {
    return { file: this.file, line: this.firstLine + row };
  }
}
