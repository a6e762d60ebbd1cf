/**
 * Flight source (`--input flight --flight-source grpc://host:port --ticket
 * <t>`): DoGet from an upstream Flight server; each received record batch is
 * an ArrowBatch (or a SpannedJsonBatch when it is one Utf8 column named `json`),
 * positioned as {descriptor: ticket, batch, row}. DoGet has no
 * acknowledgement, so acks only pace the stream: the next message is not
 * read before `emit` has room (gRPC flow control then holds the server).
 */

import { StreamBatchOrigin, type Batch } from "../../batch/batch.ts";
import type { Options } from "../../cli/args.ts";
import { FlightClient } from "../../flight/client.ts";
import { IpcDecoder, isJsonSchema, jsonColumnSpans } from "../../flight/ipc.ts";
import type { FlightData } from "../../flight/protocol.ts";
import { Ack } from "../ack.ts";
import { InputUnreadable, type Source, type SourceContext } from "../source.ts";
import type { SourceSpec } from "../spec.ts";
import { errorMessage } from "../../telemetry/log.ts";

export interface FlightSourceConfig {
  location: string;
  ticket: string;
  token: string | null;
  /** PEM roots that sign a grpc+tls upstream's certificate; the system roots when null. */
  rootCerts: Uint8Array | null;
  jsonColumn: string;
}

export class FlightSource implements Source {
  readonly kind = "flight";
  readonly #client: FlightClient;
  #cancel: (() => void) | null = null;
  #stopped = false;

  constructor(readonly config: FlightSourceConfig) {
    this.#client = new FlightClient(config.location, { token: config.token, rootCerts: config.rootCerts });
  }

  async start(ctx: SourceContext): Promise<void> {
    const call = this.#client.doGet(Buffer.from(this.config.ticket));
    this.#cancel = () => call.cancel();
    const onAbort = (): void => void this.stop();
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    const decoder = new IpcDecoder();
    let number = 0;
    try {
      for await (const message of call as AsyncIterable<FlightData>) {
        const decoded = decoder.push(message);
        if (decoded?.kind !== "batch") continue;
        const origin = new StreamBatchOrigin(this.config.ticket, number++);
        const records = decoded.records;
        const batch: Batch = isJsonSchema(records.schema, this.config.jsonColumn)
          ? { kind: "json-spans", ...jsonColumnSpans(records.record()), origin }
          : { kind: "arrow", records, origin };
        await ctx.emit(batch, new Ack(() => {}, ctx.ledger));
      }
    } catch (error) {
      // A cancel from stop() ends the stream with CANCELLED: that is a clean end, not a failure.
      if (this.#stopped) return;
      const why = errorMessage(error);
      throw new InputUnreadable(`DoGet of ${this.config.ticket} from ${this.config.location} failed after ${number} batches: ${why}`);
    } finally {
      ctx.signal.removeEventListener("abort", onAbort);
      this.#client.close();
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancel?.();
  }
}

export function parseFlightSourceConfig(options: Options, env: Record<string, string | undefined> = process.env): FlightSourceConfig {
  return {
    location: options.requireString("flight-source", "with --input flight (grpc://host:port)"),
    ticket: options.requireString("ticket", "with --input flight (the stream to DoGet)"),
    token: options.string("flight-source-token") ?? env.SIGMA_FLIGHT_SOURCE_TOKEN ?? null,
    rootCerts: options.file("flight-source-ca") ?? null,
    jsonColumn: "json",
  };
}

export function createFlightSource(config: FlightSourceConfig): FlightSource {
  return new FlightSource(config);
}

export const flightSourceSpec: SourceSpec<FlightSourceConfig> = {
  kind: "flight",
  flags: [
    { name: "flight-source", description: "upstream Flight server to DoGet events from, grpc://host:port or grpc+tls://host:port (required for flight input)", takesValue: true, required: true },
    { name: "ticket", description: "the DoGet ticket naming the upstream stream (required for flight input)", takesValue: true, required: true },
    { name: "flight-source-token", description: "bearer token for the upstream Flight server (or env SIGMA_FLIGHT_SOURCE_TOKEN)", takesValue: true },
    { name: "flight-source-ca", description: "PEM roots for a grpc+tls upstream (default: the system's)", takesValue: true },
  ],
  parse: parseFlightSourceConfig,
  create: (config) => createFlightSource(config),
};
