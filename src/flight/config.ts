/**
 * The Flight server's CLI surface: its flags (beside `--flight-server`, a
 * core flag) and their translation into `FlightServerOptions` less the hooks,
 * which the CLI injects from its Engine. The token comes from
 * `--flight-token` or SIGMA_FLIGHT_TOKEN (the environment keeps it out of
 * process listings); TLS needs both a certificate and a key, as PEM files.
 */

import type { FlagSpec, Options } from "../cli/args.ts";
import { UsageError } from "../cli/args.ts";
import type { FlightServerOptions } from "./server.ts";

export const flightServerFlags: FlagSpec[] = [
  { name: "flight-token", description: "bearer token every Flight call but Handshake must carry (or env SIGMA_FLIGHT_TOKEN)", takesValue: true },
  { name: "flight-tls-cert", description: "PEM certificate chain for the Flight server (with --flight-tls-key)", takesValue: true },
  { name: "flight-tls-key", description: "PEM private key for the Flight server (with --flight-tls-cert)", takesValue: true },
  { name: "flight-ring-batches", description: "match batches kept per DoPut stream for DoGet (default 64)", takesValue: true },
];

export type FlightServerConfig = Omit<FlightServerOptions, "hooks">;

export function parseFlightServerConfig(options: Options, env: Record<string, string | undefined> = process.env): FlightServerConfig {
  const address = options.requireString("flight-server", "to serve Flight (host:port)");
  if (!/^(\[[^\]]+\]|[^:]+):\d+$/.test(address)) throw new UsageError(`--flight-server wants host:port, got "${address}"`);
  const token = options.string("flight-token") ?? env.SIGMA_FLIGHT_TOKEN ?? null;
  return {
    address,
    token: token === "" ? null : token,
    tls: options.certificateAndKey("flight-tls-cert", "flight-tls-key"),
    ring: { batchesPerStream: options.integer("flight-ring-batches", 64, 1) },
  };
}
