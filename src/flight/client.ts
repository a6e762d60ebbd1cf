/**
 * A small Arrow Flight client on grpc-js, for the Flight sink (DoPut), the
 * Flight source (DoGet), tests and benchmarks. It speaks the same hand-written
 * codecs as the server, accepts `grpc://host:port` or `grpc+tls://host:port`
 * locations, and carries a bearer token on every call when given one.
 */

import {
  Client,
  Metadata,
  credentials,
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientWritableStream,
} from "@grpc/grpc-js";
import { isIP } from "node:net";
import { checkServerIdentity } from "node:tls";
import { RecordBatch, type Schema } from "apache-arrow";
import { IpcDecoder, IpcEncoder, schemaFromEncapsulated, type EncodedBatch } from "./ipc.ts";
import {
  SERVICE_PATH,
  decodeActionType,
  decodeFlightData,
  decodeFlightInfo,
  decodePutResult,
  decodeResult,
  decodeSchemaResult,
  encodeAction,
  encodeCriteria,
  encodeDescriptor,
  encodeEmpty,
  encodeFlightData,
  encodeTicket,
  grpcChannelOptions,
  pathDescriptor,
  type ActionType,
  type FlightData,
  type FlightDataOut,
  type FlightInfo,
  type PutResult,
} from "./protocol.ts";

export interface FlightClientOptions {
  token?: string | null;
  /** PEM root certificates for grpc+tls; the system roots when absent. */
  rootCerts?: Uint8Array | null;
}

/** Splits `grpc://host:port` / `grpc+tls://host:port` / `host:port` into a target and TLS flag. */
export function parseLocation(location: string): { target: string; tls: boolean } {
  const match = /^(grpc(?:\+tcp|\+tls)?):\/\/(.+)$/.exec(location);
  if (match === null) return { target: location, tls: false };
  return { target: (match[2] as string).replace(/\/$/, ""), tls: match[1] === "grpc+tls" };
}

const identity = (b: Buffer): Buffer => b;

/** The host of a `host:port` or `[v6]:port` target. */
function hostOf(target: string): string {
  const host = target.slice(0, target.lastIndexOf(":"));
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/**
 * A stand-in TLS server name for a server addressed by IP. grpc-js sends the
 * target's host as the server name (SNI), and Bun's tls refuses an IP
 * address there, as RFC 6066 does, so no grpc+tls connection to an IP would
 * ever open. The certificate is still checked against the IP address itself.
 */
const IP_TARGET_SERVER_NAME = "sigma-flight-ip-target.invalid";

/** Credentials and channel options for a target: TLS trusting `rootCerts` (the system's when null), or plaintext. */
function channelSecurity(target: string, tls: boolean, rootCerts: Uint8Array | null): { creds: ChannelCredentials; options: ChannelOptions } {
  if (!tls) return { creds: credentials.createInsecure(), options: {} };
  const roots = rootCerts === null ? null : Buffer.from(rootCerts);
  const host = hostOf(target);
  if (isIP(host) === 0) return { creds: credentials.createSsl(roots), options: {} };
  return {
    creds: credentials.createSsl(roots, null, null, { checkServerIdentity: (_serverName, cert) => checkServerIdentity(host, cert) }),
    options: { "grpc.ssl_target_name_override": IP_TARGET_SERVER_NAME },
  };
}

/**
 * The client's HTTP/2 receive window. At the 64 KiB default a server sends a
 * multi-megabyte reply (a DoExchange match batch, a DoGet stream) 64 KiB per
 * window update; closed-loop DoExchange round trips of 1,000 events (~2.2 MB
 * replies) took 49-52 ms p50 with it, 39-45 ms with this.
 */
const RECEIVE_WINDOW_BYTES = 16 << 20;

export class FlightClient {
  readonly #client: Client;
  readonly #token: string | null;

  constructor(location: string, options: FlightClientOptions = {}) {
    const { target, tls } = parseLocation(location);
    const security = channelSecurity(target, tls, options.rootCerts ?? null);
    this.#client = new Client(target, security.creds, { ...grpcChannelOptions, ...security.options, "grpc-node.flow_control_window": RECEIVE_WINDOW_BYTES });
    this.#token = options.token ?? null;
  }

  metadata(): Metadata {
    const metadata = new Metadata();
    if (this.#token !== null) metadata.set("authorization", `Bearer ${this.#token}`);
    return metadata;
  }

  close(): void {
    this.#client.close();
  }

  /** Resolves once the channel is connected, or rejects after `timeoutMs`. */
  ready(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) =>
      this.#client.waitForReady(Date.now() + timeoutMs, (error) => (error === undefined || error === null ? resolve() : reject(error))),
    );
  }

  doPut(options: CallOptions = {}): ClientDuplexStream<FlightDataOut, PutResult> {
    return this.#client.makeBidiStreamRequest(`${SERVICE_PATH}/DoPut`, encodeFlightData, decodePutResult, this.metadata(), options);
  }

  /**
   * DoPut of FlightData already in wire form (`encodeFlightData`), written as
   * is: a stream replayed many times is serialized once.
   */
  doPutEncoded(options: CallOptions = {}): ClientDuplexStream<Buffer, PutResult> {
    return this.#client.makeBidiStreamRequest(`${SERVICE_PATH}/DoPut`, identity, decodePutResult, this.metadata(), options);
  }

  doExchange(options: CallOptions = {}): ClientDuplexStream<FlightDataOut, FlightData> {
    return this.#client.makeBidiStreamRequest(`${SERVICE_PATH}/DoExchange`, encodeFlightData, decodeFlightData, this.metadata(), options);
  }

  /** DoExchange whose FlightData is written already in wire form, as `doPutEncoded`. */
  doExchangeEncoded(options: CallOptions = {}): ClientDuplexStream<Buffer, FlightData> {
    return this.#client.makeBidiStreamRequest(`${SERVICE_PATH}/DoExchange`, identity, decodeFlightData, this.metadata(), options);
  }

  doGet(ticket: Uint8Array, options: CallOptions = {}): ClientReadableStream<FlightData> {
    return this.#client.makeServerStreamRequest(`${SERVICE_PATH}/DoGet`, encodeTicket, decodeFlightData, { ticket }, this.metadata(), options);
  }

  /** Every batch of a DoGet stream, decoded. */
  async *getBatches(ticket: Uint8Array, options: CallOptions = {}): AsyncGenerator<RecordBatch> {
    const decoder = new IpcDecoder();
    for await (const message of this.doGet(ticket, options) as AsyncIterable<FlightData>) {
      const decoded = decoder.push(message);
      if (decoded?.kind === "batch") yield decoded.records.record();
    }
  }

  async listFlights(expression = new Uint8Array(0)): Promise<FlightInfo[]> {
    const out: FlightInfo[] = [];
    const stream = this.#client.makeServerStreamRequest(`${SERVICE_PATH}/ListFlights`, encodeCriteria, decodeFlightInfo, { expression }, this.metadata());
    for await (const info of stream as AsyncIterable<FlightInfo>) out.push(info);
    return out;
  }

  getFlightInfo(...path: string[]): Promise<FlightInfo> {
    return new Promise((resolve, reject) =>
      this.#client.makeUnaryRequest(`${SERVICE_PATH}/GetFlightInfo`, encodeDescriptor, decodeFlightInfo, pathDescriptor(...path), this.metadata(), (error, value) =>
        error !== null || value === undefined ? reject(error) : resolve(value),
      ),
    );
  }

  getSchema(...path: string[]): Promise<Schema | null> {
    return new Promise((resolve, reject) =>
      this.#client.makeUnaryRequest(`${SERVICE_PATH}/GetSchema`, encodeDescriptor, decodeSchemaResult, pathDescriptor(...path), this.metadata(), (error, value) =>
        error !== null || value === undefined ? reject(error) : resolve(schemaFromEncapsulated(value.schema)),
      ),
    );
  }

  async listActions(): Promise<ActionType[]> {
    const out: ActionType[] = [];
    const stream = this.#client.makeServerStreamRequest(`${SERVICE_PATH}/ListActions`, encodeEmpty, decodeActionType, {}, this.metadata());
    for await (const action of stream as AsyncIterable<ActionType>) out.push(action);
    return out;
  }

  /** Runs an action and returns its result bodies. */
  async doAction(type: string, body: Uint8Array = new Uint8Array(0)): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    const stream = this.#client.makeServerStreamRequest(`${SERVICE_PATH}/DoAction`, encodeAction, decodeResult, { type, body }, this.metadata());
    for await (const result of stream as AsyncIterable<{ body: Uint8Array }>) out.push(result.body);
    return out;
  }

  /** A raw client-streaming call with a passthrough codec: the transport ceiling benchmark. */
  rawClientStream(path: string, done: (error: Error | null, reply?: Buffer) => void): ClientWritableStream<Buffer> {
    return this.#client.makeClientStreamRequest<Buffer, Buffer>(path, identity, identity, this.metadata(), {}, (error, reply) => done(error, reply));
  }
}

/**
 * One DoPut stream with per-batch acknowledgement: `put(batch)` resolves with
 * the PutResult app_metadata of that batch. The server answers batches in
 * order, so results are matched to batches first-in first-out.
 */
export class DoPutWriter {
  readonly #call: ClientDuplexStream<FlightDataOut, PutResult>;
  readonly #encoder: IpcEncoder;
  readonly #waiting: { resolve: (m: Uint8Array) => void; reject: (e: Error) => void }[] = [];
  #error: Error | null = null;
  readonly #ended: Promise<void>;

  constructor(client: FlightClient, path: string[]) {
    this.#call = client.doPut();
    this.#encoder = new IpcEncoder(pathDescriptor(...path));
    this.#call.on("data", (result: PutResult) => this.#waiting.shift()?.resolve(result.appMetadata));
    this.#ended = new Promise((resolve) => {
      this.#call.on("error", (error: Error) => {
        this.#error = error;
        for (const w of this.#waiting.splice(0)) w.reject(error);
        resolve();
      });
      this.#call.on("end", () => {
        const error = this.#error ?? new Error("DoPut stream ended before every batch was acknowledged");
        for (const w of this.#waiting.splice(0)) w.reject(error);
        resolve();
      });
    });
  }

  /**
   * Sends one batch; resolves when it is written to the transport, with a
   * promise of its PutResult (wrapped: a promise resolving to a promise would flatten).
   */
  async put(batch: RecordBatch | EncodedBatch): Promise<{ acknowledged: Promise<Uint8Array> }> {
    if (this.#error !== null) throw this.#error;
    const result = new Promise<Uint8Array>((resolve, reject) => this.#waiting.push({ resolve, reject }));
    // An unobserved rejection here is reported through the caller's await of the returned promise.
    result.catch(() => {});
    for (const message of batch instanceof RecordBatch ? this.#encoder.batch(batch) : this.#encoder.encoded(batch)) {
      if (!this.#call.write(message)) await new Promise<void>((resolve) => this.#call.once("drain", () => resolve()));
    }
    return { acknowledged: result };
  }

  /** Half-closes the stream and waits for the server to finish it. */
  async end(): Promise<void> {
    this.#call.end();
    await this.#ended;
    if (this.#error !== null) throw this.#error;
  }

  cancel(): void {
    this.#call.cancel();
  }
}
