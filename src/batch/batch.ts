/**
 * The two kinds of batch that travel from sources to the engine, and the
 * positions that tie every row back to where it came from.
 *
 * A batch never holds per-event JS objects: a `RawJsonBatch` is bytes cut at
 * newlines, an `ArrowBatch` is a record batch's buffers described for the C
 * Data Interface. Row `r` of a batch is line `r` of its bytes (blank lines
 * included) or row `r` of its record batch.
 */

import type { RecordBatch, Schema } from "apache-arrow";
import { exportRecordBatch, packArrays, type PackedArrays } from "./c-data.ts";

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

/**
 * NDJSON lines not joined yet: line r is `source[spans[2r]..spans[2r + 1])`
 * (a Kafka fetch's message values, read where the client decoded them, or the
 * documents of a Flight batch's JSON column, read in its buffer). The
 * engine joins them on its own threads, a value's raw line breaks rewritten
 * so that it stays one line (native/core/src/json/lines.rs), and evaluates
 * the joined bytes as a `RawJsonBatch`; an empty span is a blank row.
 */
export interface SpannedJsonBatch {
  kind: "json-spans";
  source: Uint8Array;
  spans: Uint32Array;
  origin: BatchOrigin;
}

/**
 * One record batch on its way to the engine. The engine reads `description`
 * (buffers as received, no copy); apache-arrow JS vectors of the same rows
 * are built only when something in JS reads values (an event rendered as
 * JSON), which for Flight input is the rare path.
 */
export interface ArrowRecords {
  readonly schema: Schema;
  readonly numRows: number;
  /** Bytes of the batch's buffers. */
  readonly byteLength: number;
  /** The batch's arrays as they cross into the addon; its schema crosses once per stream, from `schema`. */
  packed(): PackedArrays;
  /** The same rows as apache-arrow JS vectors, built on first call. */
  record(): RecordBatch;
}

/** The records of a batch built in JS. */
export function recordsOf(batch: RecordBatch): ArrowRecords {
  let packed: PackedArrays | null = null;
  return {
    schema: batch.schema,
    numRows: batch.numRows,
    byteLength: batch.data.children.reduce((n, d) => n + d.byteLength, 0),
    packed: () => {
      packed ??= packArrays(exportRecordBatch(batch));
      return packed;
    },
    record: () => batch,
  };
}

/** The engine refused a batch's own data (bad Arrow buffers): resending it cannot help. */
export class InvalidBatch extends Error {}

export interface ArrowBatch {
  kind: "arrow";
  records: ArrowRecords;
  origin: BatchOrigin;
  /**
   * The source replies with this batch's match batch at once (DoExchange), so
   * the engine builds it on its own threads while evaluating; other match
   * batches are built when first needed.
   */
  replyWithMatches?: boolean;
}

/** What sources emit. */
export type Batch = RawJsonBatch | SpannedJsonBatch | ArrowBatch;

/** A batch as the engine evaluated it, with its rows' bytes in one piece: what results carry. */
export type EvaluatedBatch = RawJsonBatch | ArrowBatch;

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

/** Row r of the `batch`-th record batch (0-based) of a Flight stream named by `descriptor` (its path or ticket). */
export class StreamBatchOrigin implements BatchOrigin {
  constructor(
    readonly descriptor: string,
    readonly batch: number,
  ) {}

  position(row: number): SourcePosition {
    return { descriptor: this.descriptor, batch: this.batch, row };
  }
}
