/**
 * The built-in Arrow Flight server (`--flight-server host:port`). It is a
 * Source for the pipeline (DoPut and DoExchange streams become batches) and
 * a Sink for the replies (`server.sink` must be among the pipeline's sinks):
 *
 * - DoPut: each record batch is emitted as an ArrowBatch (or a SpannedJsonBatch
 *   when it is one Utf8 column named `json`); one PutResult per batch, sent
 *   when that batch's ack settles, i.e. after every sink has it, with app
 *   metadata `{"batch":n,"matches":k}`. Reading waits on `emit`, so a client
 *   is never read faster than the pipeline allows.
 * - DoExchange: the same input; each input batch gets one match batch back
 *   on the same stream, in order (zero rows when nothing matched).
 * - DoGet: the match ring (ring.ts) by ticket = stream name. The ring holds
 *   the matches no caller has received: DoPut streams' and other sources'.
 *   An exchange's matches go back on the exchange only (and to the other
 *   sinks): keeping each reply for 64 batches more outlived JSC's young
 *   generation, and the full collections that followed, one every ~1.7 s
 *   at 1,000 batches a second, put ~3 ms on the exchange's p99.
 * - ListFlights / GetFlightInfo / GetSchema: the ring's streams; GetSchema of
 *   any other descriptor advertises the input schema the rules need (the
 *   referenced fields as nullable Utf8), so clients can prune columns.
 * - ListActions / DoAction: `status`, `rules`, `reload`.
 * - Handshake and bearer-token auth (auth.ts); TLS through options.
 *
 * Malformed IPC fails that one call with INVALID_ARGUMENT; the server goes on.
 */

import {
  Metadata,
  Server,
  ServerCredentials,
  status,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceError,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { Field, Schema, Utf8 } from "apache-arrow";
import { StreamBatchOrigin, type Batch, type BatchOrigin } from "../batch/batch.ts";
import { Ack, type AckStatus } from "../io/ack.ts";
import type { EvalResult } from "../io/result.ts";
import type { RuleHeader } from "../plan/types.ts";
import type { Sink, SinkRole } from "../io/sink.ts";
import type { Source, SourceContext } from "../io/source.ts";
import { errorMessage, log } from "../telemetry/log.ts";
import { authorized, handshakeAccepted, isLoopback } from "./auth.ts";
import { IpcDecoder, IpcEncoder, InvalidIpc, encapsulatedSchema, isJsonSchema, jsonColumnSpans } from "./ipc.ts";
import { lazyMatchBatch, matchBatch, matchSchema } from "./matches.ts";
import {
  flightService,
  grpcChannelOptions,
  pathDescriptor,
  type Action,
  type ActionType,
  type Criteria,
  type FlightData,
  type FlightDataOut,
  type FlightDescriptor,
  type FlightInfo,
  type FlightResult,
  type HandshakeMessage,
  type PutResult,
  type SchemaResult,
  type Ticket,
} from "./protocol.ts";
import { DEFAULT_RING_LIMITS, MatchRing, type RingLimits } from "./ring.ts";
import type { ServerTls } from "../cli/args.ts";
import type { LabelledMetric } from "../telemetry/metrics.ts";

/** What the CLI injects: the engine-facing facts the server reports, and the reload action. */
export interface FlightServerHooks {
  rules(): readonly RuleHeader[];
  /** Engine statistics, JSON-serialisable (Engine.stats()). */
  stats(): unknown;
  /** Field names the rules reference: the input schema advertised by GetSchema. */
  referencedFields(): readonly string[];
  /** Reloads the rules; its result is returned to the caller as JSON. Absent: `reload` is refused. */
  reload?: () => Promise<unknown>;
}

export interface FlightServerOptions {
  /** host:port; port 0 picks a free port (see `port` after listen). */
  address: string;
  token?: string | null;
  tls?: ServerTls | null;
  /** Name of the single Utf8 column that marks a batch as JSON events. */
  jsonColumn?: string;
  ring?: Partial<RingLimits>;
  hooks: FlightServerHooks;
}

/** Stream name for batches that reached the server's sink from other sources. */
export const OTHER_SOURCES_STREAM = "matches";

const ACTIONS: ActionType[] = [
  { type: "status", description: "engine and server statistics as JSON" },
  { type: "rules", description: "the loaded rules (id, title, level, status, tags, path) as JSON" },
  { type: "reload", description: "reload the rules; needs the bearer token, or a loopback-bound server" },
];

/** Where an exchange's replies go: one writer per DoExchange call, fed in batch order by the sink. */
interface ExchangeReply {
  encoder: IpcEncoder;
  call: ServerDuplexStream<FlightData, FlightDataOut>;
}

/** What the server remembers about a batch it emitted, until its sink write. */
interface BatchTag {
  stream: string;
  number: number;
  exchange: ExchangeReply | null;
  matches: number;
}

function grpcError(code: status, details: string): Partial<ServiceError> {
  return { code, details, message: details, metadata: new Metadata() };
}

function streamName(descriptor: FlightDescriptor | null): string {
  if (descriptor === null) return "default";
  if (descriptor.path.length > 0) return descriptor.path.join("/");
  if (descriptor.cmd.length > 0) return Buffer.from(descriptor.cmd).toString("utf8");
  return "default";
}

/**
 * Writes one message, waiting for the stream to drain when grpc-js reports a
 * full buffer; a call that is cancelled or closed meanwhile ends the wait too,
 * so a vanished client never holds an ack (and shutdown) open.
 */
function writeOut<T>(call: { write(m: T): boolean; once(e: string, f: () => void): unknown; cancelled: boolean }, message: T): Promise<void> | void {
  if (call.cancelled) return;
  if (call.write(message)) return;
  return new Promise((resolve) => {
    call.once("drain", () => resolve());
    call.once("close", () => resolve());
    call.once("cancelled", () => resolve());
    call.once("error", () => resolve());
  });
}

export class FlightServer implements Source {
  readonly kind = "flight-server";
  readonly sink: Sink;
  readonly #server: Server;
  readonly #options: FlightServerOptions;
  readonly #token: string | null;
  readonly #jsonColumn: string;
  readonly #ring: MatchRing;
  /** By origin, which a result keeps even where its batch is the engine's joined copy (a SpannedJsonBatch). */
  readonly #tags = new WeakMap<BatchOrigin, BatchTag>();
  readonly #calls = new Set<{ cancel(): void }>();
  #ctx: SourceContext | null = null;
  readonly #ctxReady: Promise<SourceContext>;
  #resolveCtx: (ctx: SourceContext) => void = () => {};
  #stopped: Promise<void> | null = null;
  #resolveStopped: () => void = () => {};
  #port = 0;
  readonly #counters = { putCalls: 0, exchangeCalls: 0, getCalls: 0, batches: 0, rows: 0, bytes: 0, invalid: 0, unauthenticated: 0 };

  constructor(options: FlightServerOptions) {
    this.#options = options;
    this.#token = options.token ?? null;
    this.#jsonColumn = options.jsonColumn ?? "json";
    this.#ring = new MatchRing({ ...DEFAULT_RING_LIMITS, ...options.ring });
    this.#ctxReady = new Promise((resolve) => (this.#resolveCtx = resolve));
    this.#server = new Server(grpcChannelOptions);
    this.#server.addService(flightService, this.#implementation());
    const server = this;
    this.sink = {
      kind: "flight-server",
      role: "matches" as SinkRole,
      write: (result, ack) => server.#write(result, ack),
      flush: () => Promise.resolve(),
      stop: () => Promise.resolve(),
    };
  }

  /** The server's counters for /metrics: calls per method, what DoPut and DoExchange received, refusals. */
  metrics(): LabelledMetric[] {
    const c = this.#counters;
    const counter = (name: string, help: string, value: number): LabelledMetric => ({ name, help, kind: "counter", series: [{ labels: {}, value }] });
    return [
      {
        name: "flight_calls_total",
        help: "Flight calls served, by method",
        kind: "counter",
        series: [
          { labels: { method: "DoPut" }, value: c.putCalls },
          { labels: { method: "DoExchange" }, value: c.exchangeCalls },
          { labels: { method: "DoGet" }, value: c.getCalls },
        ],
      },
      counter("flight_received_batches_total", "record batches received by DoPut and DoExchange", c.batches),
      counter("flight_received_rows_total", "rows of those batches", c.rows),
      counter("flight_received_bytes_total", "FlightData header and body bytes received by DoPut and DoExchange", c.bytes),
      counter("flight_invalid_batches_total", "batches refused as malformed (the caller got INVALID_ARGUMENT)", c.invalid),
      counter("flight_unauthenticated_calls_total", "calls refused for a missing or wrong token", c.unauthenticated),
    ];
  }

  get port(): number {
    return this.#port;
  }

  /** Binds the address; resolves with the bound port. Calls wait for `start` before emitting. */
  async listen(): Promise<number> {
    const { address, tls } = this.#options;
    const credentials =
      tls === null || tls === undefined
        ? ServerCredentials.createInsecure()
        : ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }], false);
    this.#port = await new Promise<number>((resolve, reject) =>
      this.#server.bindAsync(address, credentials, (error, port) => (error === null ? resolve(port) : reject(error))),
    );
    log.info("flight.listening", { address, port: this.#port, tls: tls !== null && tls !== undefined, auth: this.#token !== null });
    return this.#port;
  }

  /** Serves until `stop()` or the pipeline's abort signal. */
  start(ctx: SourceContext): Promise<void> {
    this.#ctx = ctx;
    this.#resolveCtx(ctx);
    const stopped = new Promise<void>((resolve) => (this.#resolveStopped = resolve));
    ctx.signal.addEventListener("abort", () => void this.stop(), { once: true });
    if (ctx.signal.aborted) void this.stop();
    return stopped;
  }

  stop(): Promise<void> {
    if (this.#stopped !== null) return this.#stopped;
    this.#stopped = (async () => {
      // Stop taking calls, give open ones a moment to finish their acks, then cut them.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          for (const call of this.#calls) call.cancel();
          this.#server.forceShutdown();
          resolve();
        }, 2_000);
        this.#server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      log.info("flight.stopped", { ...this.#counters });
      this.#resolveStopped();
    })();
    return this.#stopped;
  }

  // --- sink ----------------------------------------------------------------

  async #write(result: EvalResult, ack: Ack): Promise<void> {
    const tag = this.#tags.get(result.batch.origin);
    try {
      if (tag === undefined) {
        if (result.matchRows.length > 0) {
          this.#ring.push(OTHER_SOURCES_STREAM, lazyMatchBatch(result));
        }
        ack.settle("delivered");
        return;
      }
      tag.matches = result.matchRows.length;
      if (tag.exchange === null) {
        // For the ring the match batch is built only if a DoGet asks.
        if (tag.matches > 0) this.#ring.push(tag.stream, lazyMatchBatch(result));
      } else if (!tag.exchange.call.cancelled) {
        const { encoder, call } = tag.exchange;
        for (const message of encoder.encoded(matchBatch(result))) await writeOut(call, message);
      }
      ack.settle("delivered");
    } catch (error) {
      log.error("flight.reply_failed", { error });
      ack.settle("failed", errorMessage(error));
    }
  }

  // --- calls ---------------------------------------------------------------

  #check(metadata: Metadata): Partial<ServiceError> | null {
    if (authorized(this.#token, metadata)) return null;
    this.#counters.unauthenticated++;
    return grpcError(status.UNAUTHENTICATED, "missing or wrong bearer token (authorization: Bearer <token>)");
  }

  #implementation(): UntypedServiceImplementation {
    return {
      Handshake: (call: ServerDuplexStream<HandshakeMessage, HandshakeMessage>) => this.#handshake(call),
      ListFlights: (call: ServerWritableStream<Criteria, FlightInfo>) => this.#listFlights(call),
      GetFlightInfo: (call: ServerUnaryCall<FlightDescriptor, FlightInfo>, done: sendUnaryData<FlightInfo>) => this.#getFlightInfo(call, done),
      GetSchema: (call: ServerUnaryCall<FlightDescriptor, SchemaResult>, done: sendUnaryData<SchemaResult>) => this.#getSchema(call, done),
      DoGet: (call: ServerWritableStream<Ticket, FlightDataOut>) => this.#doGet(call),
      DoPut: (call: ServerDuplexStream<FlightData, PutResult>) => void this.#doStream(call, "put"),
      DoExchange: (call: ServerDuplexStream<FlightData, FlightDataOut>) => void this.#doStream(call, "exchange"),
      DoAction: (call: ServerWritableStream<Action, FlightResult>) => void this.#doAction(call),
      ListActions: (call: ServerWritableStream<unknown, ActionType>) => this.#listActions(call),
    };
  }

  #handshake(call: ServerDuplexStream<HandshakeMessage, HandshakeMessage>): void {
    // pyarrow's authenticate_basic_token sends only a Basic header and no message, so the
    // headers are checked at once; a token in the payload is checked as messages arrive.
    let accepted = this.#token === null;
    const accept = (): void => {
      if (accepted || this.#token === null) return;
      accepted = true;
      const reply = new Metadata();
      reply.set("authorization", `Bearer ${this.#token}`);
      call.sendMetadata(reply);
    };
    if (this.#token !== null && handshakeAccepted(this.#token, call.metadata, new Uint8Array(0))) accept();
    call.on("data", (request: HandshakeMessage) => {
      if (!accepted && this.#token !== null && handshakeAccepted(this.#token, call.metadata, request.payload)) accept();
      if (accepted) call.write({ protocolVersion: request.protocolVersion, payload: request.payload });
    });
    call.on("end", () => {
      if (accepted) return void call.end();
      this.#counters.unauthenticated++;
      call.emit("error", grpcError(status.UNAUTHENTICATED, "handshake refused: wrong token"));
    });
    call.on("error", () => {});
  }

  #info(name: string): FlightInfo | null {
    const stream = this.#ring.get(name);
    if (stream === undefined) return null;
    return {
      schema: encapsulatedSchema(stream.schema),
      descriptor: pathDescriptor(...name.split("/")),
      endpoints: [{ ticket: { ticket: Buffer.from(name) }, locations: [] }],
      totalRecords: stream.rows,
      totalBytes: stream.bytes,
      ordered: true,
      appMetadata: new Uint8Array(0),
    };
  }

  #listFlights(call: ServerWritableStream<Criteria, FlightInfo>): void {
    const denied = this.#check(call.metadata);
    if (denied !== null) return void call.emit("error", denied);
    const filter = Buffer.from(call.request.expression).toString("utf8");
    for (const name of this.#ring.names()) {
      if (filter !== "" && !name.startsWith(filter)) continue;
      const info = this.#info(name);
      if (info !== null) call.write(info);
    }
    call.end();
  }

  #getFlightInfo(call: ServerUnaryCall<FlightDescriptor, FlightInfo>, done: sendUnaryData<FlightInfo>): void {
    const denied = this.#check(call.metadata);
    if (denied !== null) return done(denied);
    const name = streamName(call.request);
    const info = this.#info(name);
    if (info === null) return done(grpcError(status.NOT_FOUND, `no match stream named ${JSON.stringify(name)}`));
    done(null, info);
  }

  /** The input schema the rules need: referenced fields as nullable Utf8. */
  inputSchema(): Schema {
    return new Schema(this.#options.hooks.referencedFields().map((name) => new Field(name, new Utf8(), true)));
  }

  #getSchema(call: ServerUnaryCall<FlightDescriptor, SchemaResult>, done: sendUnaryData<SchemaResult>): void {
    const denied = this.#check(call.metadata);
    if (denied !== null) return done(denied);
    const stream = this.#ring.get(streamName(call.request));
    done(null, { schema: encapsulatedSchema(stream?.schema ?? this.inputSchema()) });
  }

  #doGet(call: ServerWritableStream<Ticket, FlightDataOut>): void {
    const denied = this.#check(call.metadata);
    if (denied !== null) return void call.emit("error", denied);
    this.#counters.getCalls++;
    const name = Buffer.from(call.request.ticket).toString("utf8");
    const stream = this.#ring.get(name);
    if (stream === undefined) return void call.emit("error", grpcError(status.NOT_FOUND, `no match stream named ${JSON.stringify(name)}`));
    void (async () => {
      const encoder = new IpcEncoder();
      for (const message of encoder.schema(stream.schema)) await writeOut(call, message);
      for (const entry of stream.batches) {
        if (call.cancelled) return;
        for (const message of encoder.encoded(entry.batch())) await writeOut(call, message);
      }
      call.end();
    })().catch((error: unknown) => call.emit("error", grpcError(status.INTERNAL, String(error))));
  }

  #listActions(call: ServerWritableStream<unknown, ActionType>): void {
    const denied = this.#check(call.metadata);
    if (denied !== null) return void call.emit("error", denied);
    for (const action of ACTIONS) call.write(action);
    call.end();
  }

  async #doAction(call: ServerWritableStream<Action, FlightResult>): Promise<void> {
    const denied = this.#check(call.metadata);
    if (denied !== null) return void call.emit("error", denied);
    const { hooks } = this.#options;
    const reply = (value: unknown): void => {
      call.write({ body: Buffer.from(JSON.stringify(value)) });
      call.end();
    };
    try {
      switch (call.request.type) {
        case "status":
          return reply({ engine: hooks.stats(), server: { ...this.#counters, port: this.#port, streams: this.#ring.names() } });
        case "rules":
          return reply(hooks.rules().map((r) => ({ id: r.id, title: r.title, level: r.level, status: r.status, tags: r.tags, path: r.path })));
        case "reload": {
          // State-changing: only an authenticated caller (a token is configured and was checked above),
          // or anyone on a loopback-only server.
          const host = this.#options.address.slice(0, this.#options.address.lastIndexOf(":"));
          if (this.#token === null && !isLoopback(host)) {
            return void call.emit("error", grpcError(status.PERMISSION_DENIED, "reload needs --flight-token unless the server is bound to loopback"));
          }
          if (hooks.reload === undefined) return void call.emit("error", grpcError(status.UNIMPLEMENTED, "this server cannot reload rules"));
          const outcome = await hooks.reload();
          log.info("flight.reload", {});
          return reply(outcome ?? { reloaded: true });
        }
        default:
          return void call.emit("error", grpcError(status.INVALID_ARGUMENT, `unknown action ${JSON.stringify(call.request.type)}`));
      }
    } catch (error) {
      call.emit("error", grpcError(status.INTERNAL, errorMessage(error)));
    }
  }

  /** DoPut and DoExchange: read batches (awaiting emit for backpressure), reply per batch as acks settle. */
  async #doStream(call: ServerDuplexStream<FlightData, PutResult> | ServerDuplexStream<FlightData, FlightDataOut>, mode: "put" | "exchange"): Promise<void> {
    const denied = this.#check(call.metadata);
    if (denied !== null) return void call.emit("error", denied);
    const handle = { cancel: () => call.destroy() };
    this.#calls.add(handle);
    if (mode === "put") this.#counters.putCalls++;
    else this.#counters.exchangeCalls++;
    const ctx = this.#ctx ?? (await this.#ctxReady);
    const decoder = new IpcDecoder();
    const unsettled = new OpenAcks();
    let failure: string | null = null;
    let failedEarly = false;
    let exchange: ExchangeReply | null = null;
    let number = 0;
    try {
      const reader = new PullReader<FlightData>(call);
      for (let message = await reader.next(); message !== null; message = await reader.next()) {
        if (failure !== null) break;
        this.#counters.bytes += message.dataHeader.length + message.dataBody.length;
        const decoded = decoder.push(message);
        if (decoded === null) continue;
        const stream = streamName(decoder.descriptor);
        if (decoded.kind === "schema") {
          const inputSchema = isJsonSchema(decoded.schema, this.#jsonColumn) ? null : decoded.schema;
          if (mode === "put") {
            this.#ring.declare(stream, matchSchema(inputSchema));
          } else {
            exchange = { encoder: new IpcEncoder(), call: call as ServerDuplexStream<FlightData, FlightDataOut> };
            // The reply stream's schema goes out at once, so a client may start reading before any batch.
            for (const out of exchange.encoder.schema(matchSchema(inputSchema))) await writeOut(exchange.call, out);
          }
          continue;
        }
        if (decoded.kind !== "batch") continue;
        const n = number++;
        const records = decoded.records;
        const origin = new StreamBatchOrigin(stream, n);
        const json = isJsonSchema(records.schema, this.#jsonColumn);
        const batch: Batch = json ? { kind: "json-spans", ...jsonColumnSpans(records.record()), origin } : { kind: "arrow", records, origin, replyWithMatches: mode === "exchange" };
        const tag: BatchTag = { stream, number: n, exchange, matches: 0 };
        this.#tags.set(origin, tag);
        this.#counters.batches++;
        this.#counters.rows += records.numRows;
        unsettled.opened();
        const ack = new Ack((outcome: AckStatus, reason?: string) => {
          if (outcome !== "delivered") {
            failure ??= `batch ${n} failed: ${reason ?? "unknown"}`;
            // Fail the call now: a client that waits for each PutResult would otherwise wait forever.
            if (!call.cancelled && !failedEarly) {
              failedEarly = true;
              const code = outcome === "invalid" ? status.INVALID_ARGUMENT : status.INTERNAL;
              if (outcome === "invalid") this.#counters.invalid++;
              log.warn("flight.call_failed", { mode, code: status[code], details: failure });
              call.emit("error", grpcError(code, failure));
            }
          } else if (mode === "put" && !call.cancelled) {
            (call as ServerDuplexStream<FlightData, PutResult>).write({ appMetadata: Buffer.from(JSON.stringify({ batch: n, matches: tag.matches })) });
          }
          unsettled.settled();
        }, ctx.ledger);
        await ctx.emit(batch, ack);
      }
      await unsettled.drained();
      if (failedEarly) return;
      if (failure !== null) throw new FlightCallFailed(failure);
      if (!call.cancelled) call.end();
    } catch (error) {
      // Acks already handed to the pipeline still settle; wait so none is left open behind the error.
      await unsettled.drained();
      const invalid = error instanceof InvalidIpc || (error instanceof Error && error.name === "WireError");
      if (invalid) this.#counters.invalid++;
      const code = invalid ? status.INVALID_ARGUMENT : status.INTERNAL;
      const details = errorMessage(error);
      log.warn("flight.call_failed", { mode, code: status[code], details });
      if (!call.cancelled) call.emit("error", grpcError(code, details));
    } finally {
      this.#calls.delete(handle);
    }
  }
}

class FlightCallFailed extends Error {}

/**
 * The acks of one call that have not settled yet. A count, not a list of
 * promises: a DoPut or DoExchange call may live for days at a thousand
 * batches a second.
 */
class OpenAcks {
  #open = 0;
  #waiters: (() => void)[] = [];

  opened(): void {
    this.#open++;
  }

  settled(): void {
    this.#open--;
    if (this.#open > 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves once every opened ack has settled. */
  drained(): Promise<void> {
    return this.#open === 0 ? Promise.resolve() : new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
}

/**
 * Reads a server stream one message at a time, pausing the stream while a
 * message waits. Unlike `for await`, leaving early does not destroy the
 * stream, so the call can still end with a proper gRPC status.
 */
class PullReader<T> {
  readonly #queue: T[] = [];
  #ended = false;
  #wake: (() => void) | null = null;

  constructor(private readonly stream: NodeJS.ReadableStream) {
    stream.on("data", (message: T) => {
      this.#queue.push(message);
      stream.pause();
      this.#notify();
    });
    const end = (): void => {
      this.#ended = true;
      this.#notify();
    };
    stream.on("end", end);
    stream.on("error", end);
    stream.on("close", end);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  async next(): Promise<T | null> {
    for (;;) {
      const message = this.#queue.shift();
      if (message !== undefined) return message;
      if (this.#ended) return null;
      this.stream.resume();
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }
}

/** Creates and binds a Flight server. The CLI then runs `runPipeline(server, engine, [server.sink, ...sinks])`. */
export async function startFlightServer(options: FlightServerOptions): Promise<FlightServer> {
  const server = new FlightServer(options);
  await server.listen();
  return server;
}

