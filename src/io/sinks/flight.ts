/**
 * Flight match sink (`--output flight --flight-sink grpc://host:port
 * [--flight-sink-path name]`): pushes each batch's matches downstream as one
 * match record batch (src/flight/matches.ts) on a DoPut stream, and settles
 * the batch's ack when the PutResult for that batch arrives, so an upstream
 * source commits only what the downstream server has acknowledged.
 *
 * Batches without matches send nothing and settle at once. The downstream
 * server must answer one PutResult per batch, in order (sigma's own server
 * does); a match schema change (other input columns) starts a new DoPut
 * stream, since one Flight stream carries one schema.
 */

import type { Options } from "../../cli/args.ts";
import { DoPutWriter, FlightClient } from "../../flight/client.ts";
import { matchBatch } from "../../flight/matches.ts";
import type { Ack } from "../ack.ts";
import type { EvalResult } from "../result.ts";
import type { Sink, SinkRole } from "../sink.ts";
import type { SinkSpec } from "../spec.ts";
import { errorMessage, log } from "../../telemetry/log.ts";

export interface FlightSinkConfig {
  role: SinkRole;
  location: string;
  /** Descriptor path of the DoPut stream. */
  path: string[];
  token: string | null;
  /** PEM roots that sign a grpc+tls downstream's certificate; the system roots when null. */
  rootCerts: Uint8Array | null;
}

export class FlightSink implements Sink {
  readonly kind = "flight";
  readonly role: SinkRole;
  readonly #client: FlightClient;
  #writer: DoPutWriter | null = null;
  #schemaKey = "";
  readonly #pending = new Set<Promise<void>>();

  constructor(readonly config: FlightSinkConfig) {
    this.role = config.role;
    this.#client = new FlightClient(config.location, { token: config.token, rootCerts: config.rootCerts });
  }

  async write(result: EvalResult, ack: Ack): Promise<void> {
    if (result.matchRows.length === 0) {
      ack.settle("delivered");
      return;
    }
    const batch = matchBatch(result);
    const key = batch.schema.fields.map((f) => `${f.name}:${String(f.type)}`).join(",");
    if (this.#writer === null || key !== this.#schemaKey) {
      const previous = this.#writer;
      this.#writer = new DoPutWriter(this.#client, this.config.path);
      this.#schemaKey = key;
      if (previous !== null) this.#track(previous.end().catch((error: unknown) => log.warn("flight_sink.stream_end_failed", { error })));
    }
    let acknowledged: Promise<Uint8Array>;
    try {
      ({ acknowledged } = await this.#writer.put(batch));
    } catch (error) {
      this.#failed(ack, error);
      return;
    }
    this.#track(
      acknowledged.then(
        () => ack.settle("delivered"),
        (error: unknown) => this.#failed(ack, error),
      ),
    );
  }

  /** The stream is broken: the next batch opens a new one. */
  #failed(ack: Ack, error: unknown): void {
    this.#writer = null;
    ack.settle("failed", `DoPut to ${this.config.location} failed: ${errorMessage(error)}`);
  }

  #track(promise: Promise<void>): void {
    this.#pending.add(promise);
    void promise.finally(() => this.#pending.delete(promise));
  }

  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  async stop(): Promise<void> {
    await this.flush();
    const writer = this.#writer;
    this.#writer = null;
    if (writer !== null) await writer.end().catch((error: unknown) => log.warn("flight_sink.stream_end_failed", { error }));
    this.#client.close();
  }
}

export function parseFlightSinkConfig(options: Options, role: SinkRole, env: Record<string, string | undefined> = process.env): FlightSinkConfig {
  const location = options.requireString("flight-sink", "with --output flight (grpc://host:port)");
  const path = (options.string("flight-sink-path") ?? "sigma-matches").split("/").filter((p) => p !== "");
  const token = options.string("flight-sink-token") ?? env.SIGMA_FLIGHT_SINK_TOKEN ?? null;
  return { role, location, path, token, rootCerts: options.file("flight-sink-ca") ?? null };
}

export function createFlightSink(config: FlightSinkConfig): FlightSink {
  return new FlightSink(config);
}

export const flightSinkSpec: SinkSpec<FlightSinkConfig> = {
  kind: "flight",
  flags: [
    { name: "flight-sink", description: "Flight server to DoPut matches to, grpc://host:port or grpc+tls://host:port (required for flight output)", takesValue: true, required: true },
    { name: "flight-sink-path", description: "descriptor path of the match stream, '/'-separated (default sigma-matches)", takesValue: true },
    { name: "flight-sink-token", description: "bearer token for the downstream Flight server (or env SIGMA_FLIGHT_SINK_TOKEN)", takesValue: true },
    { name: "flight-sink-ca", description: "PEM roots for a grpc+tls downstream (default: the system's)", takesValue: true },
  ],
  parse: parseFlightSinkConfig,
  create: (config) => createFlightSink(config),
};
