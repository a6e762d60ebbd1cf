/**
 * The few protobuf wire-format primitives the Flight codec needs: varints,
 * length-delimited fields, and a reader that hands out `bytes` fields as
 * subarrays of the received buffer instead of copies. Hand-written rather
 * than generated so that `bun build --compile` needs no .proto file next to
 * the binary, and so that large FlightData bodies are never copied on decode.
 *
 * Only wire types 0 (varint), 1 (fixed64), 2 (length-delimited) and
 * 5 (fixed32) exist in proto3; anything else is malformed input.
 */

export class WireError extends Error {}

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const textDecoder = new TextDecoder("utf-8", { fatal: false });
const textEncoder = new TextEncoder();

export function utf8(bytes: Uint8Array): string {
  return textDecoder.decode(bytes);
}

export function utf8Bytes(text: string): Uint8Array {
  return textEncoder.encode(text);
}

/** Reads the fields of one message in order; `bytes()` returns views, never copies. */
export class WireReader {
  #pos = 0;
  readonly #end: number;

  constructor(readonly buf: Uint8Array) {
    this.#end = buf.length;
  }

  get done(): boolean {
    return this.#pos >= this.#end;
  }

  /** Varints past 2^53 lose precision; Flight's varints (lengths, counts, enums) never get there. */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.#pos >= this.#end) throw new WireError("truncated varint");
      const byte = this.buf[this.#pos++] as number;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
    throw new WireError("varint longer than 10 bytes");
  }

  /** A varint as a signed 64-bit integer (int64 fields: -1 is ten bytes), as a number. */
  int64(): number {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.#pos >= this.#end) throw new WireError("truncated varint");
      const byte = this.buf[this.#pos++] as number;
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return Number(BigInt.asIntN(64, result));
    }
    throw new WireError("varint longer than 10 bytes");
  }

  /** The next field's number and wire type. */
  tag(): { field: number; wire: number } {
    const key = this.varint();
    return { field: Math.floor(key / 8), wire: key % 8 };
  }

  bytes(): Uint8Array {
    const length = this.varint();
    const start = this.#pos;
    if (length > this.#end - start) throw new WireError(`length ${length} runs past the message`);
    this.#pos = start + length;
    return this.buf.subarray(start, start + length);
  }

  string(): string {
    return utf8(this.bytes());
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.#advance(8);
        return;
      case WIRE_LEN:
        this.bytes();
        return;
      case WIRE_FIXED32:
        this.#advance(4);
        return;
      default:
        throw new WireError(`unsupported wire type ${wire}`);
    }
  }

  #advance(n: number): void {
    if (this.#pos + n > this.#end) throw new WireError("truncated fixed-width field");
    this.#pos += n;
  }
}

export function varintSize(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/**
 * Writes into a buffer sized up front (callers sum `fieldSize`s first), so a
 * message is built with exactly one allocation and one copy of each payload.
 */
export class WireWriter {
  #pos = 0;
  readonly buf: Buffer;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  get length(): number {
    return this.#pos;
  }

  varint(value: number): void {
    while (value >= 128) {
      this.buf[this.#pos++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    this.buf[this.#pos++] = value;
  }

  byte(value: number): void {
    this.buf[this.#pos++] = value;
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** A length-delimited field whose payload is the concatenation of `parts`. */
  bytesField(field: number, parts: Uint8Array | readonly Uint8Array[]): void {
    const list = parts instanceof Uint8Array ? [parts] : parts;
    let length = 0;
    for (const p of list) length += p.length;
    this.tag(field, WIRE_LEN);
    this.varint(length);
    for (const p of list) {
      this.buf.set(p, this.#pos);
      this.#pos += p.length;
    }
  }

  varintField(field: number, value: number): void {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
  }

  finish(): Buffer {
    if (this.#pos !== this.buf.length) throw new WireError(`sized ${this.buf.length} bytes, wrote ${this.#pos}`);
    return this.buf;
  }
}

/** Bytes a length-delimited field of `length` payload bytes takes. */
export function lenFieldSize(field: number, length: number): number {
  return varintSize(field * 8 + WIRE_LEN) + varintSize(length) + length;
}

export function varintFieldSize(field: number, value: number): number {
  return varintSize(field * 8 + WIRE_VARINT) + varintSize(value);
}
