/**
 * Kafka messages → one NDJSON `RawJsonBatch`: row r of the batch is message r
 * of the fetch, and `KafkaOrigin.position(r)` names its topic, partition and
 * offset. One message must stay one row, so a value's raw newlines cannot be
 * copied as they are:
 * - outside JSON strings a newline is whitespace (pretty-printed JSON), so it
 *   becomes a space and the event is unchanged;
 * - inside a string a raw newline is invalid JSON that the producer clearly
 *   meant as a newline, so it becomes the escape `\n` (`\r` likewise).
 * A null or empty value (a tombstone, an empty produce) has no event: its row
 * is a blank line, which the engine skips, and the origin lists it as
 * `rejected` with a reason so that it reaches the dead letters.
 */

import type { BatchOrigin, RawJsonBatch, SourcePosition } from "../../batch/batch.ts";
import type { DeadLetter, EvalResult } from "../result.ts";

export interface KafkaMessageLike {
  offset: string;
  value: Uint8Array | null;
}

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SPACE = 0x20;
const LETTER_N = 0x6e;
const LETTER_R = 0x72;

export const EMPTY_VALUE_REASON = "kafka message has no value (null or empty)";

/** Rows of a Kafka batch, with the rows the source itself rejected. */
export class KafkaOrigin implements BatchOrigin {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offsets: readonly string[],
    /** Rows the source rejected before the engine saw them (their bytes are blank lines). */
    readonly rejected: readonly DeadLetter[],
  ) {}

  position(row: number): SourcePosition {
    return { topic: this.topic, partition: this.partition, offset: this.offsets[row] ?? `row ${row}` };
  }
}

/** A value with its raw CR/LF bytes rewritten so that it stays one line (see the module doc). */
export function singleLine(value: Uint8Array): Uint8Array {
  const out: number[] = [];
  let inString = false;
  let escaped = false;
  for (const byte of value) {
    if (byte === LF || byte === CR) {
      if (inString) out.push(BACKSLASH, byte === LF ? LETTER_N : LETTER_R);
      else out.push(SPACE);
      escaped = false;
      continue;
    }
    out.push(byte);
    if (escaped) escaped = false;
    else if (byte === BACKSLASH && inString) escaped = true;
    else if (byte === QUOTE) inString = !inString;
  }
  return Uint8Array.from(out);
}

function hasLineBreak(value: Uint8Array): boolean {
  return value.indexOf(LF) !== -1 || value.indexOf(CR) !== -1;
}

/** Concatenates message values as newline-terminated lines, one per message. */
export function messagesToBatch(topic: string, partition: number, messages: readonly KafkaMessageLike[]): RawJsonBatch {
  const values: Uint8Array[] = [];
  const offsets: string[] = [];
  const rejected: DeadLetter[] = [];
  let total = 0;
  for (let row = 0; row < messages.length; row++) {
    const message = messages[row];
    if (message === undefined) continue;
    offsets.push(message.offset);
    let value = message.value ?? new Uint8Array(0);
    if (value.byteLength === 0) rejected.push({ row, reason: EMPTY_VALUE_REASON });
    else if (hasLineBreak(value)) value = singleLine(value);
    values.push(value);
    total += value.byteLength + 1;
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const value of values) {
    bytes.set(value, at);
    at += value.byteLength;
    bytes[at++] = LF;
  }
  return { kind: "json", bytes, origin: new KafkaOrigin(topic, partition, offsets, rejected) };
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
