/**
 * The Arrow C Data Interface exporter and importer for apache-arrow JS, which
 * ships neither. A `CDataArray` is the JS half of one ArrowSchema/ArrowArray
 * pair: the format string and flags of the schema, and the length, offset,
 * null count, buffers and children of the array, in the exact buffer order
 * the C Data Interface specifies for each format.
 *
 * Export: the addon lays these buffers out in ArrowSchema/ArrowArray structs
 * whose memory and release callback it owns; the buffers are the JS buffers
 * themselves (no copy). The JS objects must stay reachable until the addon
 * has released the structs, which every entry point does before it returns.
 *
 * Import: the addon walks an exported ArrowArray and hands back the same
 * description, its buffers viewing Rust memory that is released when the
 * last JS view of it is collected.
 */

import {
  BufferType,
  Data,
  DataType,
  Field,
  Int32,
  Dictionary,
  List,
  Struct,
  Type,
  Utf8,
  LargeUtf8,
  Binary,
  Bool,
  Null,
  Int8,
  Int16,
  Int64,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
  Float16,
  Float32,
  Float64,
  LargeList,
  RecordBatch,
  Schema,
  TimestampSecond,
  TimestampMillisecond,
  TimestampMicrosecond,
  TimestampNanosecond,
  TimeUnit,
  type Timestamp,
  type Int,
  type Float,
  Precision,
  Vector,
} from "apache-arrow";

export const ARROW_FLAG_NULLABLE = 2;

export interface CDataArray {
  format: string;
  name: string;
  flags: number;
  length: number;
  nullCount: number;
  offset: number;
  buffers: (Uint8Array | null)[];
  children: CDataArray[];
  dictionary: CDataArray | null;
}

export class UnsupportedArrowType extends Error {}

function bytes(view: ArrayBufferView | null | undefined): Uint8Array | null {
  if (view === null || view === undefined) return null;
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * apache-arrow JS slices a Data by narrowing its offset and value buffers
 * but keeps bit-addressed buffers (validity, booleans) whole, addressed
 * with `data.offset`. The C Data Interface applies one offset to every
 * buffer, so bit buffers are re-based to bit 0 (a copy of length/8 bytes)
 * and the exported offset is always 0.
 */
function bitsFrom(bitmap: Uint8Array | null | undefined, offset: number, length: number): Uint8Array | null {
  if (bitmap === null || bitmap === undefined || bitmap.byteLength === 0) return null;
  if (offset === 0) return bytes(bitmap);
  const out = new Uint8Array(Math.ceil(length / 8));
  for (let i = 0; i < length; i++) {
    const bit = offset + i;
    if (((bitmap[bit >> 3] ?? 0) >> (bit & 7)) & 1) out[i >> 3] = (out[i >> 3] ?? 0) | (1 << (i & 7));
  }
  return out;
}

function intFormat(type: Int): string {
  const formats: Record<number, [string, string]> = { 8: ["c", "C"], 16: ["s", "S"], 32: ["i", "I"], 64: ["l", "L"] };
  const pair = formats[type.bitWidth];
  if (pair === undefined) throw new UnsupportedArrowType(`integer width ${type.bitWidth}`);
  return type.isSigned ? pair[0] : pair[1];
}

function timestampFormat(type: Timestamp): string {
  const unit = { [TimeUnit.SECOND]: "s", [TimeUnit.MILLISECOND]: "m", [TimeUnit.MICROSECOND]: "u", [TimeUnit.NANOSECOND]: "n" }[type.unit];
  return `ts${unit}:${type.timezone ?? ""}`;
}

/** The C Data format string of an Arrow JS type (spec: "Data type description – format strings"). */
export function formatOf(type: DataType): string {
  switch (type.typeId) {
    case Type.Null:
      return "n";
    case Type.Bool:
      return "b";
    case Type.Int:
      return intFormat(type as Int);
    case Type.Float:
      return { [Precision.HALF]: "e", [Precision.SINGLE]: "f", [Precision.DOUBLE]: "g" }[(type as Float).precision];
    case Type.Utf8:
      return "u";
    case Type.LargeUtf8:
      return "U";
    case Type.Binary:
      return "z";
    case Type.Timestamp:
      return timestampFormat(type as Timestamp);
    case Type.List:
      return "+l";
    case Type.LargeList:
      return "+L";
    case Type.Struct:
      return "+s";
    default:
      throw new UnsupportedArrowType(`Arrow type ${String(type)} has no C Data export here`);
  }
}

/** Describes one apache-arrow Data (a column, or a dictionary's values). */
export function exportData(data: Data, name: string, nullable: boolean): CDataArray {
  const type = data.type;
  if (DataType.isDictionary(type)) {
    const dictionary = data.dictionary;
    if (dictionary === undefined) throw new UnsupportedArrowType(`dictionary column ${name} has no dictionary`);
    const values = dictionary.data[0];
    if (values === undefined || dictionary.data.length !== 1) {
      throw new UnsupportedArrowType(`dictionary column ${name} must have exactly one dictionary chunk`);
    }
    return {
      format: intFormat(type.indices),
      name,
      flags: nullable ? ARROW_FLAG_NULLABLE : 0,
      length: data.length,
      nullCount: data.nullCount,
      offset: 0,
      buffers: [bitsFrom(data.nullBitmap, data.offset, data.length), bytes(data.values as ArrayBufferView)],
      children: [],
      dictionary: exportData(values, "", true),
    };
  }
  const validity = data.nullCount > 0 ? bitsFrom(data.nullBitmap, data.offset, data.length) : null;
  let buffers: (Uint8Array | null)[];
  let children: CDataArray[] = [];
  switch (type.typeId) {
    case Type.Null:
      buffers = [];
      break;
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Binary:
      buffers = [validity, bytes(data.valueOffsets as ArrayBufferView), bytes(data.values as ArrayBufferView)];
      break;
    case Type.List:
    case Type.LargeList: {
      buffers = [validity, bytes(data.valueOffsets as ArrayBufferView)];
      const child = data.children[0];
      const childField = (type as List).children[0];
      if (child === undefined || childField === undefined) throw new UnsupportedArrowType(`list column ${name} has no child`);
      children = [exportData(child, childField.name, childField.nullable)];
      break;
    }
    case Type.Struct: {
      buffers = [validity];
      const fields = (type as Struct).children;
      children = data.children.map((child, i) => {
        const field = fields[i];
        if (field === undefined) throw new UnsupportedArrowType(`struct column ${name} lacks field ${i}`);
        return exportData(child, field.name, field.nullable);
      });
      break;
    }
    case Type.Bool:
      buffers = [validity, bitsFrom(data.values as Uint8Array, data.offset, data.length) ?? new Uint8Array(Math.ceil(data.length / 8))];
      break;
    default:
      // Fixed-width types (ints, floats, timestamps): validity + values, already sliced.
      formatOf(type);
      buffers = [validity, bytes(data.values as ArrayBufferView)];
  }
  return {
    format: formatOf(type),
    name,
    flags: nullable ? ARROW_FLAG_NULLABLE : 0,
    length: data.length,
    nullCount: data.nullCount,
    offset: 0,
    buffers,
    children,
    dictionary: null,
  };
}

/** Describes a RecordBatch as one struct array (`+s`) whose children are its columns. */
export function exportRecordBatch(batch: RecordBatch): CDataArray {
  const children = batch.schema.fields.map((field, i) => {
    const column = batch.getChildAt(i);
    const data = column?.data[0];
    if (column === null || data === undefined || column.data.length !== 1) {
      throw new UnsupportedArrowType(`column ${field.name} must be one contiguous chunk`);
    }
    return exportData(data, field.name, field.nullable);
  });
  return {
    format: "+s",
    name: "",
    flags: 0,
    length: batch.numRows,
    nullCount: 0,
    offset: 0,
    buffers: [null],
    children,
    dictionary: null,
  };
}

function parseType(array: CDataArray): DataType {
  const format = array.format;
  const fixed: Record<string, () => DataType> = {
    n: () => new Null(),
    b: () => new Bool(),
    c: () => new Int8(),
    C: () => new Uint8(),
    s: () => new Int16(),
    S: () => new Uint16(),
    i: () => new Int32(),
    I: () => new Uint32(),
    l: () => new Int64(),
    L: () => new Uint64(),
    e: () => new Float16(),
    f: () => new Float32(),
    g: () => new Float64(),
    u: () => new Utf8(),
    U: () => new LargeUtf8(),
    z: () => new Binary(),
  };
  const make = fixed[format];
  let type: DataType;
  if (make !== undefined) {
    type = make();
  } else if (format.startsWith("ts")) {
    const tz = format.slice(4) || null;
    const ctor = { s: TimestampSecond, m: TimestampMillisecond, u: TimestampMicrosecond, n: TimestampNanosecond }[format[2] ?? ""];
    if (ctor === undefined) throw new UnsupportedArrowType(`format ${format}`);
    type = new ctor(tz);
  } else if (format === "+l" || format === "+L") {
    const child = array.children[0];
    if (child === undefined) throw new UnsupportedArrowType(`list without child`);
    const field = new Field(child.name, parseType(child), (child.flags & ARROW_FLAG_NULLABLE) !== 0);
    type = format === "+l" ? new List(field) : new LargeList(field);
  } else if (format === "+s") {
    type = new Struct(array.children.map((c) => new Field(c.name, parseType(c), (c.flags & ARROW_FLAG_NULLABLE) !== 0)));
  } else {
    throw new UnsupportedArrowType(`format ${format} has no import here`);
  }
  if (array.dictionary !== null) {
    const indices = type;
    if (!DataType.isInt(indices)) throw new UnsupportedArrowType(`dictionary indices of format ${format}`);
    return new Dictionary(parseType(array.dictionary), indices as never);
  }
  return type;
}

function typedView<T>(ctor: { new (b: ArrayBufferLike, o: number, l: number): T; BYTES_PER_ELEMENT: number }, view: Uint8Array | null | undefined): T | undefined {
  if (view === null || view === undefined) return undefined;
  return new ctor(view.buffer, view.byteOffset, Math.floor(view.byteLength / ctor.BYTES_PER_ELEMENT));
}

function importData(array: CDataArray, type: DataType): Data {
  const [validity, second, third] = array.buffers;
  const buffers: Partial<Record<BufferType, unknown>> = {};
  if (validity) buffers[BufferType.VALIDITY] = validity;
  let children: Data[] = [];
  let dictionary;
  if (DataType.isDictionary(type)) {
    buffers[BufferType.DATA] = typedView(type.indices.ArrayType as never, second);
    if (array.dictionary === null) throw new UnsupportedArrowType(`dictionary without values`);
    const values = importData(array.dictionary, type.dictionary);
    dictionary = new Vector([values]);
  } else if (DataType.isUtf8(type) || DataType.isBinary(type)) {
    buffers[BufferType.OFFSET] = typedView(Int32Array, second);
    buffers[BufferType.DATA] = third ?? new Uint8Array(0);
  } else if (DataType.isLargeUtf8(type)) {
    buffers[BufferType.OFFSET] = typedView(BigInt64Array, second);
    buffers[BufferType.DATA] = third ?? new Uint8Array(0);
  } else if (DataType.isList(type) || DataType.isLargeList(type)) {
    buffers[BufferType.OFFSET] = DataType.isList(type) ? typedView(Int32Array, second) : typedView(BigInt64Array, second);
    const child = array.children[0];
    const childType = type.children[0]?.type;
    if (child === undefined || childType === undefined) throw new UnsupportedArrowType(`list without child`);
    children = [importData(child, childType)];
  } else if (DataType.isStruct(type)) {
    children = array.children.map((c, i) => {
      const childType = type.children[i]?.type;
      if (childType === undefined) throw new UnsupportedArrowType(`struct child ${i}`);
      return importData(c, childType);
    });
  } else if (DataType.isBool(type)) {
    buffers[BufferType.DATA] = second;
  } else if (!DataType.isNull(type)) {
    buffers[BufferType.DATA] = typedView(type.ArrayType as never, second);
  }
  return new Data(type, array.offset, array.length, array.nullCount, buffers as never, children, dictionary);
}

/**
 * The array half of a batch's description as it crosses into the addon:
 * every number of the tree in one `Float64Array` and the buffers as regions
 * of a few `backings`. Reading the description object itself took the addon
 * ~15 napi calls per column; this takes a handful per batch. For a batch of
 * 198 columns, the JS thread's part of evalArrow went from 0.19-0.25 ms to
 * 0.12-0.14 ms, packing (~29 µs) included. The schema half (formats, names,
 * flags) goes once per stream, as `BatchSchema`.
 *
 * `geometry` holds, per array in pre-order (the array, its children, then
 * its dictionary): length, null count, offset, child count, 1 if it has a
 * dictionary, buffer count, then backing, byte offset and byte length of
 * each buffer (backing -1 for an absent buffer). Buffers that view the same
 * ArrayBuffer (every buffer of an IPC batch views its body) share a backing.
 */
export interface PackedArrays {
  geometry: Float64Array;
  backings: Uint8Array[];
}

/**
 * Lays out `PackedArrays` one array at a time, in pre-order: an array's own
 * geometry (`array`), one `absent` or `region` per buffer, then its children
 * and its dictionary, each the same way. The IPC decoder packs a received
 * batch straight from its message this way, with no description objects.
 */
export class ArrayPacker {
  readonly #geometry: number[] = [];
  readonly #backings: Uint8Array[] = [];
  readonly #backingOf = new Map<ArrayBufferLike, number>();

  array(length: number, nullCount: number, offset: number, children: number, hasDictionary: boolean, buffers: number): void {
    this.#geometry.push(length, nullCount, offset, children, hasDictionary ? 1 : 0, buffers);
  }

  absent(): void {
    this.#geometry.push(-1, 0, 0);
  }

  /** `byteLength` bytes at `byteOffset` of `within`. */
  region(within: ArrayBufferLike, byteOffset: number, byteLength: number): void {
    let backing = this.#backingOf.get(within);
    if (backing === undefined) {
      backing = this.#backings.length;
      this.#backingOf.set(within, backing);
      this.#backings.push(new Uint8Array(within));
    }
    this.#geometry.push(backing, byteOffset, byteLength);
  }

  /** A described array, its children and dictionary included. */
  described(node: CDataArray): void {
    this.array(node.length, node.nullCount, node.offset, node.children.length, node.dictionary !== null, node.buffers.length);
    for (const buffer of node.buffers) {
      if (buffer === null) this.absent();
      else this.region(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    }
    for (const child of node.children) this.described(child);
    if (node.dictionary !== null) this.described(node.dictionary);
  }

  finish(): PackedArrays {
    return { geometry: Float64Array.from(this.#geometry), backings: this.#backings };
  }
}

export function packArrays(array: CDataArray): PackedArrays {
  const packer = new ArrayPacker();
  packer.described(array);
  return packer.finish();
}

/**
 * The schema half of a record batch's description, as `exportRecordBatch`
 * and the IPC decoder lay it out (formats, names, flags, children and
 * dictionaries; no rows, no buffers): what the addon's `BatchSchema` reads.
 */
export function describeSchema(schema: Schema): CDataArray {
  return { ...schemaOnly("+s", "", 0), children: schema.fields.map((field) => describeField(field.type, field.name, field.nullable)) };
}

function describeField(type: DataType, name: string, nullable: boolean): CDataArray {
  const flags = nullable ? ARROW_FLAG_NULLABLE : 0;
  if (DataType.isDictionary(type)) return { ...schemaOnly(intFormat(type.indices), name, flags), dictionary: describeField(type.dictionary, "", true) };
  const nested = DataType.isList(type) || DataType.isLargeList(type) || DataType.isStruct(type);
  const children = nested ? (type.children as Field[]).map((child) => describeField(child.type, child.name, child.nullable)) : [];
  return { ...schemaOnly(formatOf(type), name, flags), children };
}

function schemaOnly(format: string, name: string, flags: number): CDataArray {
  return { format, name, flags, length: 0, nullCount: 0, offset: 0, buffers: [], children: [], dictionary: null };
}

/** Rebuilds a RecordBatch from the description of a struct array (`+s`). */
export function importRecordBatch(array: CDataArray): RecordBatch {
  const type = parseType(array);
  if (!DataType.isStruct(type)) throw new UnsupportedArrowType(`a record batch is a struct array, got ${array.format}`);
  const data = importData(array, type) as Data<Struct>;
  return new RecordBatch(new Schema(type.children), data);
}
