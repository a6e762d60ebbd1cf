/**
 * The admin HTTP endpoint (`--admin <host:port>`): `GET /metrics` in the
 * Prometheus text format (engine counters from the Rust side, run totals
 * and process memory from the JS side), `GET /healthz`, and `POST /reload`
 * (hot rule reload).
 *
 * Reload changes state, so it needs `Authorization: Bearer <token>` when a
 * token is configured, and is refused outright when no token is configured
 * and the server is bound to anything but loopback. TLS through a PEM
 * certificate and key.
 */

import type { Server } from "bun";
import { errorMessage, log } from "./log.ts";
import type { ServerTls } from "../cli/args.ts";
import { renderLabelled, type LabelledMetric } from "./metrics.ts";

export interface AdminHooks {
  /** Counters and gauges by metric name (without the `sigma_` prefix), and the labelled ones. */
  metrics(): { values: Record<string, number>; labelled: LabelledMetric[] };
  reload(): Promise<unknown>;
}

export interface AdminServerOptions {
  address: string;
  token: string | null;
  tls: ServerTls | null;
  hooks: AdminHooks;
}

const HELP: Record<string, string> = {
  events_total: "events evaluated",
  matches_total: "rule matches written",
  dead_letters_total: "input lines rejected to the dead-letter output",
  batches_total: "batches evaluated",
  input_bytes_total: "NDJSON bytes evaluated",
  engine_parse_seconds_total: "time the engine spent parsing JSON (all engine threads)",
  engine_match_seconds_total: "time the engine spent in matchers (all engine threads)",
  engine_resolve_seconds_total: "time the engine spent resolving rule conditions (all engine threads)",
  rules_loaded: "rules in the running plan",
  rules_generation: "rule set generation, incremented by every reload",
  process_resident_memory_bytes: "resident set size of the process",
};

export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "");
  return bare === "localhost" || bare === "::1" || /^127\.\d+\.\d+\.\d+$/.test(bare);
}

export function splitAddress(address: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(address);
  if (match === null) throw new Error(`address must be host:port, got "${address}"`);
  return { host: (match[1] ?? "").replace(/^\[|\]$/g, ""), port: Number(match[2]) };
}

/** The run's own counters and gauges (one series each, no labels), then the sources' and sinks' metrics. */
export function renderMetrics(values: Record<string, number>, labelled: readonly LabelledMetric[]): string {
  const own = Object.entries(values).map(
    ([name, value]): LabelledMetric => ({ name, help: HELP[name] ?? name, kind: name.endsWith("_total") ? "counter" : "gauge", series: [{ labels: {}, value }] }),
  );
  return renderLabelled([...own, ...labelled]);
}

export class AdminServer {
  readonly #server: Server<undefined>;
  readonly #loopback: boolean;

  constructor(private readonly options: AdminServerOptions) {
    const { host, port } = splitAddress(options.address);
    this.#loopback = isLoopback(host);
    this.#server = Bun.serve({
      hostname: host,
      port,
      ...(options.tls ? { tls: { cert: options.tls.cert, key: options.tls.key } } : {}),
      fetch: (request) => this.#handle(request),
    });
  }

  get port(): number {
    return this.#server.port ?? 0;
  }

  #authorized(request: Request): boolean {
    const token = this.options.token;
    if (token === null) return this.#loopback;
    return request.headers.get("authorization") === `Bearer ${token}`;
  }

  async #handle(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (request.method === "GET" && path === "/metrics") {
      const { values, labelled } = this.options.hooks.metrics();
      return new Response(renderMetrics(values, labelled), { headers: { "content-type": "text/plain; version=0.0.4" } });
    }
    if (request.method === "GET" && path === "/healthz") return new Response("ok\n");
    if (request.method === "POST" && path === "/reload") {
      if (!this.#authorized(request)) {
        log.warn("admin.reload_refused", { reason: this.options.token === null ? "no token and not bound to loopback" : "bad token" });
        return new Response("reload needs a bearer token\n", { status: 401 });
      }
      try {
        return Response.json(await this.options.hooks.reload());
      } catch (error) {
        return Response.json({ error: errorMessage(error) }, { status: 500 });
      }
    }
    return new Response("not found\n", { status: 404 });
  }

  async stop(): Promise<void> {
    await this.#server.stop(true);
  }
}
