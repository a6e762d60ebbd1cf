/**
 * Arrow Flight's wire contract (format/Flight.proto, package
 * `arrow.flight.protocol`, service `FlightService`): the messages sigma
 * speaks, their hand-written protobuf codecs, and the grpc-js service
 * definition built from them. No .proto is loaded at run time, so the
 * compiled binary is self-contained.
 *
 * FlightData is the hot message. Decoding returns `dataHeader` and `dataBody`
 * as subarrays of the received gRPC message (no copy); encoding takes the body
 * as a list of parts and copies each once, straight into the outgoing frame.
 * Field numbers follow Flight.proto; unknown fields are skipped, as protobuf
 * requires.
 */

import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import {
  WIRE_LEN,
  WIRE_VARINT,
  WireError,
  WireReader,
  WireWriter,
  lenFieldSize,
  utf8,
  utf8Bytes,
  varintFieldSize,
} from "./wire.ts";

export const SERVICE_PATH = "/arrow.flight.protocol.FlightService";

/** 256 MiB: one record batch travels as one gRPC message, so big batches need big messages. */
export const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

export const grpcChannelOptions = {
  "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
  "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
} as const;

const EMPTY = new Uint8Array(0);

export const DescriptorType = { UNKNOWN: 0, PATH: 1, CMD: 2 } as const;

export interface FlightDescriptor {
  type: number;
  cmd: Uint8Array;
  path: string[];
}

export interface FlightData {
  descriptor: FlightDescriptor | null;
  /** An Arrow IPC Message flatbuffer (no continuation marker or length prefix). */
  dataHeader: Uint8Array;
  appMetadata: Uint8Array;
  /** The IPC message body: buffers at the offsets the header names. */
  dataBody: Uint8Array;
}

/** FlightData to encode: the body may be given in parts to spare a concatenation. */
export interface FlightDataOut {
  descriptor?: FlightDescriptor | null;
  dataHeader: Uint8Array;
  appMetadata?: Uint8Array;
  dataBody?: Uint8Array | readonly Uint8Array[];
}

export interface HandshakeMessage {
  protocolVersion: number;
  payload: Uint8Array;
}

export interface Ticket {
  ticket: Uint8Array;
}

export interface Criteria {
  expression: Uint8Array;
}

export interface Action {
  type: string;
  body: Uint8Array;
}

export interface ActionType {
  type: string;
  description: string;
}

export interface FlightResult {
  body: Uint8Array;
}

export interface PutResult {
  appMetadata: Uint8Array;
}

export interface SchemaResult {
  /** An IPC-encapsulated Schema message (continuation, length, flatbuffer). */
  schema: Uint8Array;
}

export interface FlightEndpoint {
  ticket: Ticket;
  locations: string[];
}

export interface FlightInfo {
  schema: Uint8Array;
  descriptor: FlightDescriptor | null;
  endpoints: FlightEndpoint[];
  totalRecords: number;
  totalBytes: number;
  ordered: boolean;
  appMetadata: Uint8Array;
}

export type Empty = Record<string, never>;

// --- helpers -------------------------------------------------------------

function wrongWire(message: string, field: number): never {
  throw new WireError(`${message}: field ${field} has the wrong wire type`);
}

/** int64 values are varints of their two's complement; -1 ("unknown") takes ten bytes. */
function int64Size(field: number, value: number): number {
  return value < 0 ? varintFieldSize(field, 0) - 1 + 10 : varintFieldSize(field, value);
}

function writeInt64(w: WireWriter, field: number, value: number): void {
  if (value >= 0) {
    w.varintField(field, value);
    return;
  }
  w.tag(field, WIRE_VARINT);
  let v = BigInt.asUintN(64, BigInt(value));
  for (let i = 0; i < 9; i++) {
    w.byte(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  w.byte(Number(v));
}

function readInt64(r: WireReader): number {
  return r.int64();
}

// --- FlightDescriptor ----------------------------------------------------

function descriptorSize(d: FlightDescriptor): number {
  let size = 0;
  if (d.type !== 0) size += varintFieldSize(1, d.type);
  if (d.cmd.length > 0) size += lenFieldSize(2, d.cmd.length);
  for (const p of d.path) size += lenFieldSize(3, utf8Bytes(p).length);
  return size;
}

function writeDescriptor(w: WireWriter, d: FlightDescriptor): void {
  if (d.type !== 0) w.varintField(1, d.type);
  if (d.cmd.length > 0) w.bytesField(2, d.cmd);
  for (const p of d.path) w.bytesField(3, utf8Bytes(p));
}

export function encodeDescriptor(d: FlightDescriptor): Buffer {
  const w = new WireWriter(descriptorSize(d));
  writeDescriptor(w, d);
  return w.finish();
}

export function decodeDescriptor(buf: Uint8Array): FlightDescriptor {
  const r = new WireReader(buf);
  const d: FlightDescriptor = { type: 0, cmd: EMPTY, path: [] };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_VARINT) d.type = r.varint();
    else if (field === 2 && wire === WIRE_LEN) d.cmd = r.bytes();
    else if (field === 3 && wire === WIRE_LEN) d.path.push(r.string());
    else if (field >= 1 && field <= 3) wrongWire("FlightDescriptor", field);
    else r.skip(wire);
  }
  return d;
}

export function pathDescriptor(...path: string[]): FlightDescriptor {
  return { type: DescriptorType.PATH, cmd: EMPTY, path };
}

// --- FlightData ----------------------------------------------------------

const FLIGHT_DATA_BODY = 1000;

/**
 * A field FlightData does not define (Flight.proto uses 1–3 and 1000), so
 * every receiver skips it, as protobuf requires: its filler bytes put
 * `data_body` at an 8-byte boundary of the receiver's buffer. A body at an
 * odd address would make the addon copy every offsets buffer into aligned
 * memory (native/binding/src/c_data.rs), ~2.9 MB per 2,000 × 365 batch.
 */
const ALIGNMENT_PADDING = 15;
/**
 * @grpc/grpc-js (sigma's server and client) hands each message over as a
 * view 5 bytes into an 8-byte-aligned buffer: the gRPC frame prefix
 * (compressed flag and length) comes first.
 */
const GRPC_PREFIX_BYTES = 5;
const ZEROS = new Uint8Array(16);

/** Bytes of the padding field that aligns a body starting `bodyStart` bytes into the message: 0, or 2–9. */
function alignmentPadding(bodyStart: number): number {
  const short = (8 - ((GRPC_PREFIX_BYTES + bodyStart) % 8)) % 8;
  // The field's own tag and length take two bytes.
  return short === 0 ? 0 : short >= 2 ? short : short + 8;
}

export function encodeFlightData(m: FlightDataOut): Buffer {
  const parts = m.dataBody === undefined ? [] : m.dataBody instanceof Uint8Array ? [m.dataBody] : m.dataBody;
  let bodyLength = 0;
  for (const p of parts) bodyLength += p.length;
  const appMetadata = m.appMetadata ?? EMPTY;
  const descriptor = m.descriptor ?? null;
  const descriptorLength = descriptor === null ? 0 : descriptorSize(descriptor);
  let size = 0;
  if (descriptor !== null) size += lenFieldSize(1, descriptorLength);
  if (m.dataHeader.length > 0) size += lenFieldSize(2, m.dataHeader.length);
  if (appMetadata.length > 0) size += lenFieldSize(3, appMetadata.length);
  let padding = 0;
  if (bodyLength > 0) {
    const bodyField = lenFieldSize(FLIGHT_DATA_BODY, bodyLength);
    padding = alignmentPadding(size + bodyField - bodyLength);
    size += padding + bodyField;
  }
  const w = new WireWriter(size);
  if (descriptor !== null) {
    w.tag(1, WIRE_LEN);
    w.varint(descriptorLength);
    writeDescriptor(w, descriptor);
  }
  if (m.dataHeader.length > 0) w.bytesField(2, m.dataHeader);
  if (appMetadata.length > 0) w.bytesField(3, appMetadata);
  if (padding > 0) w.bytesField(ALIGNMENT_PADDING, ZEROS.subarray(0, padding - 2));
  if (bodyLength > 0) w.bytesField(FLIGHT_DATA_BODY, parts);
  return w.finish();
}

export function decodeFlightData(buf: Uint8Array): FlightData {
  const r = new WireReader(buf);
  const m: FlightData = { descriptor: null, dataHeader: EMPTY, appMetadata: EMPTY, dataBody: EMPTY };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 || field === 2 || field === 3 || field === FLIGHT_DATA_BODY) {
      if (wire !== WIRE_LEN) wrongWire("FlightData", field);
      const bytes = r.bytes();
      if (field === 1) m.descriptor = decodeDescriptor(bytes);
      else if (field === 2) m.dataHeader = bytes;
      else if (field === 3) m.appMetadata = bytes;
      else m.dataBody = bytes;
    } else {
      r.skip(wire);
    }
  }
  return m;
}

// --- small messages ------------------------------------------------------

/** A message of `bytes`/`string` fields only, keyed by field number. */
function encodeLenFields(fields: readonly (readonly [number, Uint8Array])[]): Buffer {
  let size = 0;
  for (const [field, value] of fields) if (value.length > 0) size += lenFieldSize(field, value.length);
  const w = new WireWriter(size);
  for (const [field, value] of fields) if (value.length > 0) w.bytesField(field, value);
  return w.finish();
}

function decodeLenFields(buf: Uint8Array, name: string, wanted: readonly number[]): Map<number, Uint8Array> {
  const r = new WireReader(buf);
  const out = new Map<number, Uint8Array>();
  while (!r.done) {
    const { field, wire } = r.tag();
    if (wanted.includes(field)) {
      if (wire !== WIRE_LEN) wrongWire(name, field);
      out.set(field, r.bytes());
    } else {
      r.skip(wire);
    }
  }
  return out;
}

export function encodeHandshake(m: HandshakeMessage): Buffer {
  const size = (m.protocolVersion > 0 ? varintFieldSize(1, m.protocolVersion) : 0) + (m.payload.length > 0 ? lenFieldSize(2, m.payload.length) : 0);
  const w = new WireWriter(size);
  if (m.protocolVersion > 0) w.varintField(1, m.protocolVersion);
  if (m.payload.length > 0) w.bytesField(2, m.payload);
  return w.finish();
}

export function decodeHandshake(buf: Uint8Array): HandshakeMessage {
  const r = new WireReader(buf);
  const m: HandshakeMessage = { protocolVersion: 0, payload: EMPTY };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_VARINT) m.protocolVersion = r.varint();
    else if (field === 2 && wire === WIRE_LEN) m.payload = r.bytes();
    else r.skip(wire);
  }
  return m;
}

export const encodeTicket = (m: Ticket): Buffer => encodeLenFields([[1, m.ticket]]);
export const decodeTicket = (buf: Uint8Array): Ticket => ({ ticket: decodeLenFields(buf, "Ticket", [1]).get(1) ?? EMPTY });

export const encodeCriteria = (m: Criteria): Buffer => encodeLenFields([[1, m.expression]]);
export const decodeCriteria = (buf: Uint8Array): Criteria => ({ expression: decodeLenFields(buf, "Criteria", [1]).get(1) ?? EMPTY });

export const encodeAction = (m: Action): Buffer => encodeLenFields([[1, utf8Bytes(m.type)], [2, m.body]]);
export function decodeAction(buf: Uint8Array): Action {
  const f = decodeLenFields(buf, "Action", [1, 2]);
  return { type: utf8(f.get(1) ?? EMPTY), body: f.get(2) ?? EMPTY };
}

export const encodeActionType = (m: ActionType): Buffer => encodeLenFields([[1, utf8Bytes(m.type)], [2, utf8Bytes(m.description)]]);
export function decodeActionType(buf: Uint8Array): ActionType {
  const f = decodeLenFields(buf, "ActionType", [1, 2]);
  return { type: utf8(f.get(1) ?? EMPTY), description: utf8(f.get(2) ?? EMPTY) };
}

export const encodeResult = (m: FlightResult): Buffer => encodeLenFields([[1, m.body]]);
export const decodeResult = (buf: Uint8Array): FlightResult => ({ body: decodeLenFields(buf, "Result", [1]).get(1) ?? EMPTY });

export const encodePutResult = (m: PutResult): Buffer => encodeLenFields([[1, m.appMetadata]]);
export const decodePutResult = (buf: Uint8Array): PutResult => ({ appMetadata: decodeLenFields(buf, "PutResult", [1]).get(1) ?? EMPTY });

export const encodeSchemaResult = (m: SchemaResult): Buffer => encodeLenFields([[1, m.schema]]);
export const decodeSchemaResult = (buf: Uint8Array): SchemaResult => ({ schema: decodeLenFields(buf, "SchemaResult", [1]).get(1) ?? EMPTY });

export const encodeEmpty = (_m: Empty): Buffer => Buffer.alloc(0);
export const decodeEmpty = (_buf: Uint8Array): Empty => ({});

// --- FlightInfo ----------------------------------------------------------

function endpointBytes(e: FlightEndpoint): Buffer {
  const ticket = encodeTicket(e.ticket);
  const locations = e.locations.map((uri) => encodeLenFields([[1, utf8Bytes(uri)]]));
  // The ticket field is present even when empty: it is how a client knows what to DoGet.
  let size = lenFieldSize(1, ticket.length);
  for (const l of locations) size += lenFieldSize(2, l.length);
  const w = new WireWriter(size);
  w.bytesField(1, ticket);
  for (const l of locations) w.bytesField(2, l);
  return w.finish();
}

function decodeEndpoint(buf: Uint8Array): FlightEndpoint {
  const r = new WireReader(buf);
  const e: FlightEndpoint = { ticket: { ticket: EMPTY }, locations: [] };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_LEN) e.ticket = decodeTicket(r.bytes());
    else if (field === 2 && wire === WIRE_LEN) e.locations.push(utf8(decodeLenFields(r.bytes(), "Location", [1]).get(1) ?? EMPTY));
    else r.skip(wire);
  }
  return e;
}

export function encodeFlightInfo(m: FlightInfo): Buffer {
  const descriptor = m.descriptor === null ? null : encodeDescriptor(m.descriptor);
  const endpoints = m.endpoints.map(endpointBytes);
  let size = 0;
  if (m.schema.length > 0) size += lenFieldSize(1, m.schema.length);
  if (descriptor !== null) size += lenFieldSize(2, descriptor.length);
  for (const e of endpoints) size += lenFieldSize(3, e.length);
  if (m.totalRecords !== 0) size += int64Size(4, m.totalRecords);
  if (m.totalBytes !== 0) size += int64Size(5, m.totalBytes);
  if (m.ordered) size += varintFieldSize(6, 1);
  if (m.appMetadata.length > 0) size += lenFieldSize(7, m.appMetadata.length);
  const w = new WireWriter(size);
  if (m.schema.length > 0) w.bytesField(1, m.schema);
  if (descriptor !== null) w.bytesField(2, descriptor);
  for (const e of endpoints) w.bytesField(3, e);
  if (m.totalRecords !== 0) writeInt64(w, 4, m.totalRecords);
  if (m.totalBytes !== 0) writeInt64(w, 5, m.totalBytes);
  if (m.ordered) w.varintField(6, 1);
  if (m.appMetadata.length > 0) w.bytesField(7, m.appMetadata);
  return w.finish();
}

export function decodeFlightInfo(buf: Uint8Array): FlightInfo {
  const r = new WireReader(buf);
  const m: FlightInfo = { schema: EMPTY, descriptor: null, endpoints: [], totalRecords: 0, totalBytes: 0, ordered: false, appMetadata: EMPTY };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_LEN) m.schema = r.bytes();
    else if (field === 2 && wire === WIRE_LEN) m.descriptor = decodeDescriptor(r.bytes());
    else if (field === 3 && wire === WIRE_LEN) m.endpoints.push(decodeEndpoint(r.bytes()));
    else if (field === 4 && wire === WIRE_VARINT) m.totalRecords = readInt64(r);
    else if (field === 5 && wire === WIRE_VARINT) m.totalBytes = readInt64(r);
    else if (field === 6 && wire === WIRE_VARINT) m.ordered = r.varint() !== 0;
    else if (field === 7 && wire === WIRE_LEN) m.appMetadata = r.bytes();
    else r.skip(wire);
  }
  return m;
}

// --- service definition --------------------------------------------------

function method<Req, Res>(
  name: string,
  requestStream: boolean,
  responseStream: boolean,
  encodeReq: (m: Req) => Buffer,
  decodeReq: (b: Uint8Array) => Req,
  encodeRes: (m: Res) => Buffer,
  decodeRes: (b: Uint8Array) => Res,
): MethodDefinition<Req, Res> {
  return {
    path: `${SERVICE_PATH}/${name}`,
    requestStream,
    responseStream,
    requestSerialize: encodeReq,
    requestDeserialize: decodeReq,
    responseSerialize: encodeRes,
    responseDeserialize: decodeRes,
    originalName: name[0]?.toLowerCase() + name.slice(1),
  };
}

/** FlightService with every method sigma serves (PollFlightInfo is answered UNIMPLEMENTED by grpc-js). */
export const flightService = {
  Handshake: method<HandshakeMessage, HandshakeMessage>("Handshake", true, true, encodeHandshake, decodeHandshake, encodeHandshake, decodeHandshake),
  ListFlights: method<Criteria, FlightInfo>("ListFlights", false, true, encodeCriteria, decodeCriteria, encodeFlightInfo, decodeFlightInfo),
  GetFlightInfo: method<FlightDescriptor, FlightInfo>("GetFlightInfo", false, false, encodeDescriptor, decodeDescriptor, encodeFlightInfo, decodeFlightInfo),
  GetSchema: method<FlightDescriptor, SchemaResult>("GetSchema", false, false, encodeDescriptor, decodeDescriptor, encodeSchemaResult, decodeSchemaResult),
  DoGet: method<Ticket, FlightData>("DoGet", false, true, encodeTicket, decodeTicket, encodeFlightData, decodeFlightData),
  DoPut: method<FlightData, PutResult>("DoPut", true, true, encodeFlightData, decodeFlightData, encodePutResult, decodePutResult),
  DoExchange: method<FlightData, FlightData>("DoExchange", true, true, encodeFlightData, decodeFlightData, encodeFlightData, decodeFlightData),
  DoAction: method<Action, FlightResult>("DoAction", false, true, encodeAction, decodeAction, encodeResult, decodeResult),
  ListActions: method<Empty, ActionType>("ListActions", false, true, encodeEmpty, decodeEmpty, encodeActionType, decodeActionType),
} satisfies ServiceDefinition;

export type FlightServiceDefinition = typeof flightService;
