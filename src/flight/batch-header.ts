/**
 * The metadata of an IPC RecordBatch message, read straight off its
 * flatbuffer (Message.fbs: Message { version, header: RecordBatch,
 * bodyLength }, RecordBatch { length, nodes, buffers, compression }).
 *
 * apache-arrow's `Message.decode` builds a FieldNode and a BufferRegion
 * object per column and buffer, each 64-bit field through a BigInt: on a
 * DoExchange server taking a thousand 100-row batches a second, ~10% of the
 * JS thread. Here the field nodes and buffer regions stay in two
 * Float64Arrays, read with a DataView.
 *
 * Invariants: every read is bounds-checked (a short or lying flatbuffer
 * throws `MalformedHeader`, never reads outside it); every 64-bit value is a
 * safe integer (lengths and offsets beyond 2^53 are refused, not rounded). Only
 * what the description of a batch needs is read; anything else (schema and
 * dictionary messages, `record()`) still goes through apache-arrow.
 */

/** A flatbuffer that cannot be a RecordBatch message; the IPC decoder reports it as `InvalidIpc`. */
export class MalformedHeader extends Error {}

/** The message's header type, Message.fbs `MessageHeader`. */
const RECORD_BATCH = 3;

export interface RecordBatchLayout {
  /** Rows. */
  length: number;
  bodyLength: number;
  /** Field nodes, two numbers each: length, null count. */
  nodes: Float64Array;
  /** Buffer regions, two numbers each: offset, length (bytes, in the body). */
  buffers: Float64Array;
  /** Whether a BodyCompression table is present. */
  compressed: boolean;
}

class Reader {
  readonly #view: DataView;

  constructor(bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  #check(at: number, size: number): void {
    if (!(at >= 0 && at + size <= this.#view.byteLength)) {
      throw new MalformedHeader(`a ${size}-byte read at ${at} leaves its ${this.#view.byteLength} bytes`);
    }
  }

  u8(at: number): number {
    this.#check(at, 1);
    return this.#view.getUint8(at);
  }

  u16(at: number): number {
    this.#check(at, 2);
    return this.#view.getUint16(at, true);
  }

  u32(at: number): number {
    this.#check(at, 4);
    return this.#view.getUint32(at, true);
  }

  i32(at: number): number {
    this.#check(at, 4);
    return this.#view.getInt32(at, true);
  }

  /** A non-negative int64 that is a safe integer. */
  size(at: number, what: string): number {
    this.#check(at, 8);
    const low = this.#view.getUint32(at, true);
    const high = this.#view.getInt32(at + 4, true);
    if (high < 0 || high >= 2 ** 21) throw new MalformedHeader(`record batch ${what} is negative or beyond 2^53`);
    return high * 2 ** 32 + low;
  }

  /** The position of field `index` of the table at `table`, or null when absent. */
  field(table: number, index: number): number | null {
    const vtable = table - this.i32(table);
    const vtableSize = this.u16(vtable);
    const slot = 4 + 2 * index;
    if (slot + 2 > vtableSize) return null;
    const offset = this.u16(vtable + slot);
    return offset === 0 ? null : table + offset;
  }

  /** Follows the offset stored at `at` (tables, vectors). */
  indirect(at: number): number {
    return at + this.u32(at);
  }

  /** A vector of 16-byte structs of two int64s, as numbers. */
  pairs(table: number, index: number, what: string): Float64Array {
    const at = this.field(table, index);
    if (at === null) return new Float64Array(0);
    const vector = this.indirect(at);
    const count = this.u32(vector);
    this.#check(vector + 4, count * 16);
    const out = new Float64Array(count * 2);
    for (let i = 0; i < count * 2; i++) out[i] = this.size(vector + 4 + i * 8, what);
    return out;
  }
}

/** The layout of a RecordBatch message, or null when `header` holds another message type. */
export function readRecordBatchLayout(header: Uint8Array): RecordBatchLayout | null {
  const reader = new Reader(header);
  const message = reader.indirect(0);
  const typeAt = reader.field(message, 1);
  if (typeAt === null || reader.u8(typeAt) !== RECORD_BATCH) return null;
  const headerAt = reader.field(message, 2);
  if (headerAt === null) throw new MalformedHeader("a RecordBatch message without its header");
  const batch = reader.indirect(headerAt);
  const bodyLengthAt = reader.field(message, 3);
  const lengthAt = reader.field(batch, 0);
  return {
    length: lengthAt === null ? 0 : reader.size(lengthAt, "length"),
    bodyLength: bodyLengthAt === null ? 0 : reader.size(bodyLengthAt, "body length"),
    nodes: reader.pairs(batch, 1, "field node"),
    buffers: reader.pairs(batch, 2, "buffer region"),
    compressed: reader.field(batch, 3) !== null,
  };
}
