/**
 * Arrow IPC over Flight: FlightData.data_header is an IPC Message flatbuffer
 * (Schema, DictionaryBatch or RecordBatch) and data_body its body. The
 * decoder turns a stream of FlightData into `ArrowRecords`; the encoder turns
 * RecordBatches into FlightData.
 *
 * A record batch is not decoded into apache-arrow vectors on the way to the
 * engine: its arrays are packed for the addon straight from the message's
 * field nodes and buffer regions, each buffer a region of the received gRPC
 * message (`packBatch`). The addon then checks every buffer's size against
 * its format, aligns what needs it and validates offsets, UTF-8 and
 * dictionary keys on the engine's threads. That decoding, re-alignment and
 * validation took the JS thread 1.7-2.4 ms per 2,000-row batch of 213
 * columns (warm), before its C Data export and import, the largest share of
 * the JS thread's own work under DoPut. Here, only what the packing is made
 * of is checked (regions inside the body, node and buffer counts, supported
 * types); `record()` decodes and validates with apache-arrow's
 * `VectorLoader` when JS itself needs values. Anything wrong
 * raises `InvalidIpc`, which the server maps to INVALID_ARGUMENT for that
 * call alone.
 */

import {
  Data,
  DataType,
  Field,
  MessageHeader,
  Message,
  MessageReader,
  RecordBatch,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Type,
  Vector,
  makeData,
} from "apache-arrow";
// Deep imports of the pinned apache-arrow 21.2.0: the loader is what its own
// stream reader uses, and the public readers only pull from byte streams.
import { VectorLoader } from "apache-arrow/visitor/vectorloader";
import type { DictionaryBatch as DictionaryBatchHeader, RecordBatch as RecordBatchHeader } from "apache-arrow/ipc/metadata/message";
import type { ArrowRecords } from "../batch/batch.ts";
import { ArrayPacker, exportData, type PackedArrays } from "../batch/c-data.ts";
import { readRecordBatchLayout, type RecordBatchLayout } from "./batch-header.ts";
import type { FlightData, FlightDataOut, FlightDescriptor } from "./protocol.ts";
import { errorMessage } from "../telemetry/log.ts";

export class InvalidIpc extends Error {}

/** What one FlightData message turned out to carry. */
export type Decoded =
  | { kind: "schema"; schema: Schema }
  | { kind: "dictionary"; id: number }
  | { kind: "batch"; records: ArrowRecords; appMetadata: Uint8Array };

/**
 * Decodes one IPC stream carried as FlightData messages. State: the schema
 * (first message) and the dictionaries seen so far, as in an IPC stream.
 */
export class IpcDecoder {
  schema: Schema | null = null;
  descriptor: FlightDescriptor | null = null;
  readonly #dictionaries = new Map<number, Vector>();

  push(data: FlightData): Decoded | null {
    if (data.descriptor !== null && this.descriptor === null) this.descriptor = data.descriptor;
    if (data.dataHeader.length === 0) {
      // Metadata-only messages (app_metadata with no IPC payload) are legal in Flight.
      return null;
    }
    // Record batches, nearly every message of a stream, skip apache-arrow's decoding (batch-header.ts).
    let message: RecordBatchLayout | Message;
    try {
      message = readRecordBatchLayout(data.dataHeader) ?? Message.decode(data.dataHeader);
    } catch (error) {
      throw new InvalidIpc(`data_header is not an IPC message: ${errorMessage(error)}`);
    }
    if (message.bodyLength > data.dataBody.length) {
      throw new InvalidIpc(`IPC message declares a ${message.bodyLength}-byte body, data_body has ${data.dataBody.length}`);
    }
    const body = data.dataBody.subarray(0, message.bodyLength);
    try {
      if (!(message instanceof Message)) {
        return { kind: "batch", records: this.#batch(message, data.dataHeader, body), appMetadata: data.appMetadata };
      }
      switch (message.headerType) {
        case MessageHeader.Schema:
          return this.#schema(message.header() as Schema);
        case MessageHeader.DictionaryBatch:
          return this.#dictionary(message.header() as DictionaryBatchHeader, aligned(body));
        default:
          throw new InvalidIpc(`unsupported IPC message type ${String(message.headerType)}`);
      }
    } catch (error) {
      if (error instanceof InvalidIpc) throw error;
      const kind = message instanceof Message ? MessageHeader[message.headerType] : "RecordBatch";
      throw new InvalidIpc(`malformed IPC ${kind ?? "message"}: ${errorMessage(error)}`);
    }
  }

  #schema(schema: Schema): Decoded {
    if (!(schema instanceof Schema)) throw new InvalidIpc("schema message without a schema");
    for (const field of schema.fields) checkSupported(field.type, field.name);
    this.schema = schema;
    this.#dictionaries.clear();
    return { kind: "schema", schema };
  }

  #requireSchema(): Schema {
    if (this.schema === null) throw new InvalidIpc("record data before the schema message");
    return this.schema;
  }

  #dictionary(header: DictionaryBatchHeader, body: Uint8Array): Decoded {
    const schema = this.#requireSchema();
    const type = schema.dictionaries.get(header.id);
    if (type === undefined) throw new InvalidIpc(`dictionary batch for unknown id ${header.id}`);
    if (header.data.compression !== null && header.data.compression !== undefined) throw new InvalidIpc("compressed IPC bodies are not supported");
    checkRegions(regionsOf(header.data), body);
    const loaded = new VectorLoader(body, header.data.nodes, header.data.buffers, this.#dictionaries, schema.metadataVersion).visitMany([type]);
    const data = loaded[0];
    if (data === undefined) throw new InvalidIpc("empty dictionary batch");
    validate(data, "dictionary");
    const previous = this.#dictionaries.get(header.id);
    const vector = header.isDelta && previous !== undefined ? previous.concat(new Vector([data])) : new Vector([data]);
    this.#dictionaries.set(header.id, vector.memoize());
    return { kind: "dictionary", id: header.id };
  }

  /** `header` is the message's flatbuffer, decoded again by apache-arrow only if `record()` is called. */
  #batch(layout: RecordBatchLayout, header: Uint8Array, body: Uint8Array): ArrowRecords {
    const schema = this.#requireSchema();
    if (layout.compressed) throw new InvalidIpc("compressed IPC bodies are not supported");
    checkRegions(layout, body);
    // A later dictionary batch may replace an id; this batch keeps the ones it was sent with.
    const dictionaries = this.#dictionaries.size === 0 ? this.#dictionaries : new Map(this.#dictionaries);
    const packed = packBatch(schema, layout, body, dictionaries);
    let record: RecordBatch | null = null;
    return {
      schema,
      numRows: layout.length,
      byteLength: body.byteLength,
      packed: () => packed,
      record: () => {
        record ??= loadBatch(schema, Message.decode(header).header() as RecordBatchHeader, aligned(body), dictionaries);
        return record;
      },
    };
  }
}

/** Decodes and validates a record batch's body into apache-arrow vectors. */
function loadBatch(schema: Schema, header: RecordBatchHeader, body: Uint8Array, dictionaries: Map<number, Vector>): RecordBatch {
  try {
    const children = new VectorLoader(body, header.nodes, header.buffers, dictionaries, schema.metadataVersion).visitMany(schema.fields);
    if (children.length !== schema.fields.length) throw new InvalidIpc("record batch has fewer columns than its schema");
    children.forEach((child, i) => {
      if (child.length !== header.length) throw new InvalidIpc(`column ${schema.fields[i]?.name} has ${child.length} rows, the batch ${header.length}`);
      validate(child, schema.fields[i]?.name ?? String(i));
    });
    const data = makeData({ type: new Struct(schema.fields), length: header.length, children, nullCount: 0 });
    return new RecordBatch(schema, data);
  } catch (error) {
    if (error instanceof InvalidIpc) throw error;
    throw new InvalidIpc(`malformed IPC RecordBatch: ${errorMessage(error)}`);
  }
}

/**
 * The arrays of a record batch as they cross into the addon (`PackedArrays`),
 * read off its IPC metadata: field nodes and buffer regions in the IPC order
 * (depth first, each field's buffers in its layout's order), every buffer a
 * region of `body`, with no description objects or views made on the way.
 * Sizes and contents are the addon's to check; this only refuses what
 * cannot be laid out (too few nodes or regions, an unknown dictionary id).
 */
function packBatch(schema: Schema, layout: RecordBatchLayout, body: Uint8Array, dictionaries: Map<number, Vector>): PackedArrays {
  const { nodes, buffers } = layout;
  const packer = new ArrayPacker();
  let node = 0;
  let region = 0;
  /** The next region; a validity bitmap of a column without nulls is left out, as the C Data Interface allows. */
  const nextBuffer = (name: string, present = true): void => {
    if (region + 2 > buffers.length) throw new InvalidIpc(`column ${name}: the record batch has too few buffers`);
    const offset = buffers[region] as number;
    const bytes = buffers[region + 1] as number;
    region += 2;
    if (present) packer.region(body.buffer, body.byteOffset + offset, bytes);
    else packer.absent();
  };
  const packField = (field: Field): void => {
    if (node + 2 > nodes.length) throw new InvalidIpc(`column ${field.name}: the record batch has too few field nodes`);
    const length = nodes[node] as number;
    const nullCount = nodes[node + 1] as number;
    node += 2;
    const type = field.type;
    if (type.typeId === Type.Null) {
      // Null columns have no buffers, in IPC (format version 5) as in C Data.
      packer.array(length, nullCount, 0, 0, false, 0);
      return;
    }
    if (DataType.isDictionary(type)) {
      const values = dictionaries.get(type.id)?.data;
      if (values === undefined || values.length !== 1) throw new InvalidIpc(`column ${field.name}: dictionary ${type.id} has not been sent`);
      packer.array(length, nullCount, 0, 0, true, 2);
      nextBuffer(field.name, nullCount > 0);
      nextBuffer(field.name);
      packer.described(exportData(values[0] as Data, "", true));
      return;
    }
    const { ownBuffers, children } = layoutOf(type);
    packer.array(length, nullCount, 0, children.length, false, ownBuffers);
    nextBuffer(field.name, nullCount > 0);
    for (let i = 1; i < ownBuffers; i++) nextBuffer(field.name);
    for (const child of children) packField(child);
  };
  packer.array(layout.length, 0, 0, schema.fields.length, false, 1);
  packer.absent();
  for (const field of schema.fields) packField(field);
  return packer.finish();
}

/** A non-dictionary type's buffers (validity first, as IPC and C Data order them) and child fields. */
function layoutOf(type: DataType): { ownBuffers: number; children: Field[] } {
  switch (type.typeId) {
    case Type.Struct:
      return { ownBuffers: 1, children: type.children };
    case Type.List:
    case Type.LargeList:
      return { ownBuffers: 2, children: type.children };
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Binary:
      return { ownBuffers: 3, children: [] };
    default:
      return { ownBuffers: 2, children: [] };
  }
}

/** Typed-array views need aligned offsets; a body at an odd offset of the gRPC frame is copied once. */
function aligned(body: Uint8Array): Uint8Array {
  // `new Uint8Array(view)` copies; Buffer#slice (the gRPC message is a Buffer) would not.
  return body.byteOffset % 8 === 0 ? body : new Uint8Array(body);
}

type Regions = Pick<RecordBatchLayout, "length" | "nodes" | "buffers">;

/** A dictionary batch's nodes and regions, as `readRecordBatchLayout` gives a record batch's. */
function regionsOf(header: RecordBatchHeader): Regions {
  return {
    length: header.length,
    nodes: Float64Array.from(header.nodes.flatMap((n) => [n.length, n.nullCount])),
    buffers: Float64Array.from(header.buffers.flatMap((b) => [b.offset, b.length])),
  };
}

function checkRegions(layout: Regions, body: Uint8Array): void {
  if (!Number.isSafeInteger(layout.length) || layout.length < 0) throw new InvalidIpc(`bad record batch length ${layout.length}`);
  const { buffers, nodes } = layout;
  for (let i = 0; i + 1 < buffers.length; i += 2) {
    const offset = buffers[i] as number;
    const length = buffers[i + 1] as number;
    if (!(offset >= 0 && length >= 0 && offset + length <= body.length)) {
      throw new InvalidIpc(`buffer region ${offset}+${length} lies outside the ${body.length}-byte body`);
    }
  }
  for (let i = 0; i + 1 < nodes.length; i += 2) {
    const length = nodes[i] as number;
    const nullCount = nodes[i + 1] as number;
    if (!(length >= 0 && nullCount >= 0 && nullCount <= length)) throw new InvalidIpc(`bad field node ${length}/${nullCount}`);
  }
}

const SUPPORTED = new Set<Type>([Type.Null, Type.Bool, Type.Int, Type.Float, Type.Utf8, Type.LargeUtf8, Type.Binary, Type.Timestamp, Type.List, Type.LargeList, Type.Struct, Type.Dictionary]);

function checkSupported(type: DataType, name: string): void {
  if (!SUPPORTED.has(type.typeId)) throw new InvalidIpc(`column ${name}: Arrow type ${String(type)} is not supported`);
  if (DataType.isDictionary(type)) checkSupported(type.dictionary, name);
  for (const child of type.children ?? []) checkSupported(child.type, `${name}.${child.name}`);
}

function need(ok: boolean, column: string, what: string): void {
  if (!ok) throw new InvalidIpc(`column ${column}: ${what}`);
}

function checkOffsets(offsets: Int32Array | BigInt64Array | undefined, from: number, rows: number, limit: number, column: string): void {
  need(offsets !== undefined && offsets.length >= from + rows + 1, column, "offsets buffer too short");
  const o = offsets as Int32Array | BigInt64Array;
  let previous = Number(o[from]);
  need(previous >= 0, column, "negative offset");
  for (let i = from + 1; i <= from + rows; i++) {
    const next = Number(o[i]);
    if (next < previous) need(false, column, `offsets decrease at row ${i - 1}`);
    previous = next;
  }
  need(previous <= limit, column, `offset ${previous} runs past ${limit} values`);
}

/** Checks the buffers of one loaded column against its length before anything reads them. */
function validate(data: Data, column: string): void {
  const end = data.offset + data.length;
  if (data.nullCount > 0 && data.type.typeId !== Type.Null) {
    need(data.nullBitmap !== undefined && data.nullBitmap.length >= Math.ceil(end / 8), column, "validity bitmap too short");
  }
  const type = data.type;
  if (DataType.isDictionary(type)) {
    const indices = data.values as ArrayLike<number | bigint> | undefined;
    need(indices !== undefined && indices.length >= end, column, "dictionary indices too short");
    const size = data.dictionary?.length ?? 0;
    for (let i = data.offset; i < end; i++) {
      const key = Number((indices as ArrayLike<number | bigint>)[i]);
      // Null slots may hold any key; only valid slots must index the dictionary.
      if ((key < 0 || key >= size) && data.getValid(i - data.offset)) need(false, column, `dictionary key ${key} out of range`);
    }
    return;
  }
  switch (type.typeId) {
    case Type.Null:
      return;
    case Type.Bool:
      need((data.values?.length ?? 0) >= Math.ceil(end / 8), column, "boolean buffer too short");
      return;
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Binary:
      checkOffsets(data.valueOffsets as Int32Array | BigInt64Array, data.offset, data.length, data.values?.length ?? 0, column);
      return;
    case Type.List:
    case Type.LargeList: {
      const child = data.children[0];
      need(child !== undefined, column, "list without child");
      checkOffsets(data.valueOffsets as Int32Array | BigInt64Array, data.offset, data.length, (child as Data).length, column);
      validate(child as Data, `${column}[]`);
      return;
    }
    case Type.Struct:
      data.children.forEach((child, i) => {
        need(child.length >= end, `${column}.${type.children[i]?.name}`, "struct child shorter than the struct");
        validate(child, `${column}.${type.children[i]?.name}`);
      });
      return;
    default:
      need((data.values?.length ?? 0) >= end * data.stride, column, "values buffer too short");
  }
}

/** A stream of schema-less rows: the JSON column convention of the Flight server. */
export function isJsonSchema(schema: Schema, column: string): boolean {
  const field = schema.fields[0];
  return schema.fields.length === 1 && field !== undefined && field.name === column && (DataType.isUtf8(field.type) || DataType.isLargeUtf8(field.type));
}

/**
 * A Utf8 column of JSON documents as the lines of a `SpannedJsonBatch`: the
 * column's value buffer and, for row r, its document's (start, end) there,
 * read from the offsets in place; a null row is an empty span (a blank row).
 * The engine joins the lines and keeps each document on one line, as it does
 * for Kafka values. (A RecordBatch column is one Data: nothing to gather.)
 */
export function jsonColumnSpans(batch: RecordBatch): { source: Uint8Array; spans: Uint32Array } {
  const spans = new Uint32Array(batch.numRows * 2);
  const data = batch.getChildAt(0)?.data[0];
  if (data === undefined) return { source: new Uint8Array(0), spans };
  // A sliced Data's offsets are sliced with it; only its validity bitmap is read at data.offset (getValid).
  const offsets = data.valueOffsets as Int32Array | BigInt64Array;
  for (let row = 0; row < data.length; row++) {
    if (!data.getValid(row)) continue;
    spans[2 * row] = Number(offsets[row]);
    spans[2 * row + 1] = Number(offsets[row + 1]);
  }
  return { source: data.values as Uint8Array, spans };
}

// --- encoding ------------------------------------------------------------

interface Split {
  header: Uint8Array;
  body: Uint8Array;
  type: MessageHeader;
}

/** Cuts an encapsulated IPC stream into (flatbuffer, body) pairs, as views. */
function splitStream(bytes: Uint8Array): Split[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Split[] = [];
  let pos = 0;
  while (pos + 8 <= bytes.length) {
    let length = view.getInt32(pos, true);
    pos += 4;
    if (length === -1) {
      length = view.getInt32(pos, true);
      pos += 4;
    }
    if (length === 0) break;
    const header = bytes.subarray(pos, pos + length);
    pos += length;
    const message = Message.decode(header);
    const body = bytes.subarray(pos, pos + message.bodyLength);
    pos += message.bodyLength;
    out.push({ header, body, type: message.headerType });
  }
  return out;
}

/**
 * A record batch already encoded as one IPC RecordBatch message (match
 * batches come so from the addon), with the schema of the stream it belongs
 * to: the buffers of `body` are those `schema` implies.
 */
export interface EncodedBatch {
  schema: Schema;
  numRows: number;
  header: Uint8Array;
  body: Uint8Array;
}

/**
 * Encodes the batches of one outgoing stream. The schema goes out once,
 * first; dictionaries go out before each batch that uses them (replacement
 * dictionaries, which the IPC stream format allows).
 */
export class IpcEncoder {
  #schemaSent = false;

  constructor(readonly descriptor: FlightDescriptor | null = null) {}

  get schemaSent(): boolean {
    return this.#schemaSent;
  }

  /** The schema message alone, for a stream that may carry no batch at all. */
  schema(schema: Schema): FlightDataOut[] {
    if (this.#schemaSent) return [];
    this.#schemaSent = true;
    return [{ descriptor: this.descriptor, dataHeader: Message.encode(Message.from(schema)) }];
  }

  /** An encoded batch, after the schema message if the stream has not had it. */
  encoded(batch: EncodedBatch): FlightDataOut[] {
    return [...this.schema(batch.schema), { dataHeader: batch.header, dataBody: batch.body }];
  }

  batch(batch: RecordBatch, appMetadata?: Uint8Array): FlightDataOut[] {
    const bytes = RecordBatchStreamWriter.writeAll([batch]).toUint8Array(true);
    const out: FlightDataOut[] = [];
    for (const part of splitStream(bytes)) {
      if (part.type === MessageHeader.Schema) {
        if (this.#schemaSent) continue;
        this.#schemaSent = true;
        out.push({ descriptor: this.descriptor, dataHeader: part.header });
        continue;
      }
      const message: FlightDataOut = { dataHeader: part.header, dataBody: part.body };
      if (part.type === MessageHeader.RecordBatch && appMetadata !== undefined) message.appMetadata = appMetadata;
      out.push(message);
    }
    return out;
  }
}

/** An encapsulated IPC Schema message: what FlightInfo.schema and SchemaResult carry. */
export function encapsulatedSchema(schema: Schema): Uint8Array {
  const flatbuffer = Message.encode(Message.from(schema));
  const padded = (flatbuffer.length + 7) & ~7;
  const out = new Uint8Array(8 + padded);
  const view = new DataView(out.buffer);
  view.setInt32(0, -1, true);
  view.setInt32(4, padded, true);
  out.set(flatbuffer, 8);
  return out;
}

export function schemaFromEncapsulated(bytes: Uint8Array): Schema | null {
  if (bytes.length === 0) return null;
  return new MessageReader(bytes).readSchema() ?? null;
}
