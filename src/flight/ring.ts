/**
 * The DoGet store: a bounded in-memory ring of recent match batches per
 * stream name. A stream is named by the descriptor path its events arrived
 * under (joined by "/"), or `matches` for events from other sources. Each
 * ring keeps at most `batchesPerStream` batches and `bytesPerStream` bytes
 * (the oldest go first), and at most `maxStreams` streams are kept (the least
 * recently written goes first), so memory stays bounded whatever clients send.
 * DoGet returns a snapshot: what the ring holds at the time of the call.
 *
 * Entries are lazy (matches.ts `lazyMatchBatch`): DoPut pushes one per
 * batch, but only a DoGet needs the Arrow match batch, so it is built then.
 * DoExchange streams are not kept here: their matches went back to their
 * caller (server.ts says why).
 */

import type { Schema } from "apache-arrow";
import type { EncodedBatch } from "./ipc.ts";

export interface RingLimits {
  batchesPerStream: number;
  bytesPerStream: number;
  maxStreams: number;
}

export const DEFAULT_RING_LIMITS: RingLimits = { batchesPerStream: 64, bytesPerStream: 64 << 20, maxStreams: 256 };

/** A match batch in the ring, or what builds it on first read. */
export interface RingEntry {
  readonly schema: Schema;
  readonly numRows: number;
  /** Memory the entry holds (an estimate for a lazy entry), counted against `bytesPerStream`. */
  readonly bytes: number;
  batch(): EncodedBatch;
}

interface Stream {
  schema: Schema;
  batches: RingEntry[];
  bytes: number;
  rows: number;
}

export class MatchRing {
  readonly #streams = new Map<string, Stream>();

  constructor(readonly limits: RingLimits = DEFAULT_RING_LIMITS) {}

  /** Registers a stream and its schema even before it has matches, so DoGet and ListFlights know it. */
  declare(name: string, schema: Schema): void {
    if (!this.#streams.has(name)) this.#touch(name, { schema, batches: [], bytes: 0, rows: 0 });
  }

  push(name: string, entry: RingEntry): void {
    const stream = this.#streams.get(name) ?? { schema: entry.schema, batches: [], bytes: 0, rows: 0 };
    stream.schema = entry.schema;
    stream.batches.push(entry);
    stream.bytes += entry.bytes;
    stream.rows += entry.numRows;
    while (stream.batches.length > 1 && (stream.batches.length > this.limits.batchesPerStream || stream.bytes > this.limits.bytesPerStream)) {
      const old = stream.batches.shift() as RingEntry;
      stream.bytes -= old.bytes;
      stream.rows -= old.numRows;
    }
    this.#touch(name, stream);
  }

  #touch(name: string, stream: Stream): void {
    // Map order is insertion order: re-inserting makes this the most recent.
    this.#streams.delete(name);
    this.#streams.set(name, stream);
    while (this.#streams.size > this.limits.maxStreams) {
      const oldest = this.#streams.keys().next().value as string;
      this.#streams.delete(oldest);
    }
  }

  get(name: string): { schema: Schema; batches: readonly RingEntry[]; rows: number; bytes: number } | undefined {
    const stream = this.#streams.get(name);
    return stream === undefined ? undefined : { schema: stream.schema, batches: [...stream.batches], rows: stream.rows, bytes: stream.bytes };
  }

  names(): string[] {
    return [...this.#streams.keys()];
  }
}
