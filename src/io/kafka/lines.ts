/**
 * Kafka messages → one `SpannedJsonBatch`: row r of the batch is message r
 * of the fetch, and `KafkaOrigin.position(r)` names its topic, partition and
 * offset. The values stay where kafkajs decoded them: the messages of a fetch
 * are slices of its response buffer, so the batch is that buffer's range and
 * one (start, end) span per message, and the engine joins the lines on its
 * own threads (native/core/src/json/lines.rs keeps each value one line). This
 * thread copies nothing, unless the values come from several buffers (record
 * batches decompressed one by one): then they are copied into one source.
 * A null or empty value (a tombstone, an empty produce) has no event: its span
 * is empty, a blank row that the engine skips, and the origin lists it as
 * `rejected` with a reason so that it reaches the dead letters.
 */

import type { BatchOrigin, SourcePosition, SpannedJsonBatch } from "../../batch/batch.ts";
import type { DeadLetter, EvalResult } from "../result.ts";

export interface KafkaMessageLike {
  offset: string;
  value: Uint8Array | null;
}

export const EMPTY_VALUE_REASON = "kafka message has no value (null or empty)";

/** Rows of a Kafka batch, with the rows the source itself rejected. */
export class KafkaOrigin implements BatchOrigin {
  constructor(
    readonly topic: string,
    readonly partition: number,
    /** The fetch's messages: row r is messages[r]. */
    readonly messages: readonly KafkaMessageLike[],
    /** Rows the source rejected before the engine saw them (their spans are empty). */
    readonly rejected: readonly DeadLetter[],
  ) {}

  position(row: number): SourcePosition {
    return { topic: this.topic, partition: this.partition, offset: this.messages[row]?.offset ?? `row ${row}` };
  }
}

/** The message values as spans of one source: the buffer they share, else a copy of them all. */
export function messagesToBatch(topic: string, partition: number, messages: readonly KafkaMessageLike[]): SpannedJsonBatch {
  const rejected: DeadLetter[] = [];
  let backing: ArrayBufferLike | null = null;
  let shared = true;
  let low = Number.MAX_SAFE_INTEGER;
  let high = 0;
  for (let row = 0; row < messages.length; row++) {
    const value = messages[row]?.value ?? null;
    if (value === null || value.byteLength === 0) {
      rejected.push({ row, reason: EMPTY_VALUE_REASON });
      continue;
    }
    if (backing === null) backing = value.buffer;
    else if (value.buffer !== backing) shared = false;
    low = Math.min(low, value.byteOffset);
    high = Math.max(high, value.byteOffset + value.byteLength);
  }
  const origin = new KafkaOrigin(topic, partition, messages, rejected);
  const spans = new Uint32Array(messages.length * 2);
  if (backing === null) return { kind: "json-spans", source: new Uint8Array(0), spans, origin };
  if (shared) {
    for (let row = 0; row < messages.length; row++) {
      const value = messages[row]?.value;
      if (value === null || value === undefined || value.byteLength === 0) continue;
      spans[2 * row] = value.byteOffset - low;
      spans[2 * row + 1] = value.byteOffset - low + value.byteLength;
    }
    return { kind: "json-spans", source: new Uint8Array(backing, low, high - low), spans, origin };
  }
  let total = 0;
  for (const message of messages) total += message?.value?.byteLength ?? 0;
  const source = new Uint8Array(total);
  let at = 0;
  for (let row = 0; row < messages.length; row++) {
    const value = messages[row]?.value;
    spans[2 * row] = at;
    if (value !== null && value !== undefined) {
      source.set(value, at);
      at += value.byteLength;
    }
    spans[2 * row + 1] = at;
  }
  return { kind: "json-spans", source, spans, origin };
}

/**
 * The engine's dead letters plus the rows a Kafka source rejected, by row,
 * each row once (whether or not the engine already merged them).
 */
export function allDeadLetters(result: EvalResult): DeadLetter[] {
  const origin = result.batch.origin;
  if (!(origin instanceof KafkaOrigin) || origin.rejected.length === 0) return result.deadLetters;
  const seen = new Set(result.deadLetters.map((d) => d.row));
  const merged = [...result.deadLetters, ...origin.rejected.filter((d) => !seen.has(d.row))];
  return merged.sort((a, b) => a.row - b.row);
}
