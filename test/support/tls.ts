/**
 * The tests' throwaway CA and server certificate for 127.0.0.1, made by
 * scripts/services/test-certs.sh (the Kafka broker's TLS listener uses the
 * same files). Absent openssl, `testCertificates` returns why, for a skip.
 */

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./binary.ts";

export interface TestCertificates {
  /** Paths of the PEM files, for flags. */
  caPath: string;
  certPath: string;
  keyPath: string;
  /** The CA certificate's PEM, for in-process clients. */
  ca: Buffer;
}

export const TLS_DIR = join(ROOT, ".cache", "tls");

export function testCertificates(): TestCertificates | string {
  const made = spawnSync("bash", [join(ROOT, "scripts", "services", "test-certs.sh"), TLS_DIR], { encoding: "utf8", timeout: 60_000 });
  if (made.status !== 0) return `no test certificates: scripts/services/test-certs.sh failed: ${made.stderr.trim()}`;
  const caPath = join(TLS_DIR, "ca.pem");
  return { caPath, certPath: join(TLS_DIR, "server.pem"), keyPath: join(TLS_DIR, "server.key"), ca: readFileSync(caPath) };
}
