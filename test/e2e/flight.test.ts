/**
 * End to end: a real pyarrow Flight client (flight_client.py) against the
 * server started as `dist/sigma --flight-server 127.0.0.1:<port> --rules rules`.
 * SIGMA_FLIGHT_CMD picks what runs the server: `binary` (default) or
 * `source` (`bun src/main.ts`). A missing binary skips with a message saying
 * so. A third server speaks TLS with the test CA's certificate
 * (test/support/tls.ts); the same command, as a Flight client, pushes to it
 * and reads from it. Every wait is bounded and every server is killed in
 * afterAll.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { FlightClient } from "../../src/flight/client.ts";
import { pathDescriptor } from "../../src/flight/protocol.ts";
import { testCertificates, type TestCertificates } from "../support/tls.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const PYTHON = `${ROOT}.venv/bin/python`;
const CLIENT = `${ROOT}test/e2e/flight_client.py`;
const TOKEN = "e2e-token";
const mode = process.env.SIGMA_FLIGHT_CMD ?? "binary";

function command(): string[] | string {
  if (mode === "source") return [`${ROOT}node_modules/.bin/bun`, `${ROOT}src/main.ts`];
  if (!existsSync(`${ROOT}dist/sigma`)) return "dist/sigma is missing: run `npm run build` first (CI builds before testing)";
  return [`${ROOT}dist/sigma`];
}

function ensurePython(): string | null {
  if (!existsSync(PYTHON)) spawnSync("bash", [`${ROOT}scripts/services/python.sh`], { stdio: "inherit", timeout: 300_000 });
  return existsSync(PYTHON) ? null : "no .venv with pyarrow: scripts/services/python.sh failed";
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      s.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

interface Served {
  child: ChildProcess;
  port: number;
  /** grpc://127.0.0.1:port, or grpc+tls:// for a TLS server. */
  location: string;
  /** The admin endpoint's port (--admin), for /metrics. */
  adminPort: number;
  stderr: () => string;
}

const served: Served[] = [];
let skipReason: string | null = null;

async function serve(token: string | null, tls: TestCertificates | null = null): Promise<Served | string> {
  const cmd = command();
  if (typeof cmd === "string") return cmd;
  const port = await freePort();
  const adminPort = await freePort();
  const [exe, ...prefix] = cmd as [string, ...string[]];
  const env: Record<string, string | undefined> = { ...process.env, SIGMA_LOG: "warn" };
  if (token !== null) env.SIGMA_FLIGHT_TOKEN = token;
  else delete env.SIGMA_FLIGHT_TOKEN;
  const tlsFlags = tls === null ? [] : ["--flight-tls-cert", tls.certPath, "--flight-tls-key", tls.keyPath];
  const args = ["--flight-server", `127.0.0.1:${port}`, ...tlsFlags, "--admin", `127.0.0.1:${adminPort}`, "--rules", `${ROOT}rules`, "--quiet"];
  const child = spawn(exe, [...prefix, ...args], { env, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const location = `${tls === null ? "grpc" : "grpc+tls"}://127.0.0.1:${port}`;
  const s: Served = { child, port, location, adminPort, stderr: () => err };
  served.push(s);
  // Ready when the port accepts a Flight call (UNAUTHENTICATED counts as up), bounded to 30 s.
  const client = new FlightClient(location, { rootCerts: tls?.ca ?? null });
  const deadline = Date.now() + 30_000;
  try {
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode}: ${err}`);
      try {
        await client.listActions();
        return s;
      } catch (error) {
        if ((error as { code?: number }).code === 16) return s;
        await Bun.sleep(200);
      }
    }
  } finally {
    client.close();
  }
  throw new Error(`server did not come up in 30 s: ${err}`);
}

function py(server: Served, scenario: string, token?: string): Record<string, unknown> {
  const args = [CLIENT, server.location, scenario, ...(token === undefined ? [] : [token])];
  const env = { ...process.env, SIGMA_TEST_TLS_ROOTS: certificates === null ? "" : certificates.caPath };
  const run = spawnSync(PYTHON, args, { timeout: 120_000, encoding: "utf8", env });
  if (run.status !== 0) throw new Error(`flight_client.py ${scenario} failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

let open: Served | null = null;
let secured: Served | null = null;
let certificates: TestCertificates | null = null;
let encrypted: Served | string = "not started";

beforeAll(async () => {
  skipReason = ensurePython();
  if (skipReason !== null) return;
  const a = await serve(null);
  if (typeof a === "string") {
    skipReason = a;
    return;
  }
  open = a;
  const b = await serve(TOKEN);
  if (typeof b === "string") throw new Error(b);
  secured = b;
  const certs = testCertificates();
  if (typeof certs === "string") {
    encrypted = certs;
    return;
  }
  certificates = certs;
  encrypted = await serve(null, certs);
}, 400_000);

afterAll(async () => {
  for (const s of served) {
    if (s.child.exitCode !== null || s.child.signalCode !== null) continue;
    s.child.kill("SIGTERM");
    const exited = await Promise.race([new Promise((r) => s.child.once("exit", r)), Bun.sleep(10_000).then(() => false)]);
    if (exited === false) s.child.kill("SIGKILL");
  }
}, 30_000);

function skipped(): boolean {
  if (skipReason === null) return false;
  console.warn(`SKIP flight e2e: ${skipReason}`);
  return true;
}

describe(`flight e2e (${mode})`, () => {
  test("pyarrow: do_put acks with match counts, do_get, list/get info, schema, actions, do_exchange", () => {
    if (skipped() || open === null) return;
    const out = py(open, "basic");
    expect(out.acks).toEqual([
      { batch: 0, matches: 1 },
      { batch: 1, matches: 0 },
      { batch: 2, matches: 3 },
    ]);
    expect(out.json_acks).toEqual([{ batch: 0, matches: 1 }]);
    expect(out.get_rows).toBe(4);
    expect(out.get_columns).toEqual(["rule_id", "rule_title", "rule_level", "rule_tags", "row", "Image", "CommandLine", "OriginalFileName"]);
    expect(out.flights).toEqual(["e2e/basic", "e2e/json"]);
    expect(out.info_records).toBe(4);
    expect(out.info_ticket).toBe("e2e/basic");
    expect(out.input_schema as string[]).toContain("CommandLine");
    expect(out.actions).toEqual(["reload", "rules", "status"]);
    expect(out.status_batches).toBe(4);
    expect(out.rules as number).toBeGreaterThan(0);
    expect(out.exchange_counts).toEqual([1, 0, 4]);
  }, 130_000);

  test("pyarrow: a 64 MiB batch goes through in one message", () => {
    if (skipped() || open === null) return;
    const out = py(open, "big");
    expect(out.bytes as number).toBeGreaterThan(64 << 20);
    expect(out.acks).toEqual([{ batch: 0, matches: 0 }]);
  }, 130_000);

  test("malformed IPC gets INVALID_ARGUMENT, the server keeps serving", async () => {
    if (skipped() || open === null) return;
    const out = py(open, "malformed");
    expect(String(out.message)).toContain("invalid argument");
    expect(out.after).toEqual([{ batch: 0, matches: 1 }]);
    // Raw garbage as data_header, from the TS client.
    const client = new FlightClient(`grpc://127.0.0.1:${open.port}`);
    try {
      const call = client.doPut({ deadline: Date.now() + 30_000 });
      const code = new Promise<number>((resolve) => call.on("error", (e: { code: number }) => resolve(e.code)));
      call.on("data", () => {});
      call.write({ descriptor: pathDescriptor("garbage"), dataHeader: new Uint8Array(64).fill(0xab), dataBody: new Uint8Array(16) });
      call.end();
      expect(await code).toBe(3);
      expect((await client.listActions()).length).toBe(3);
      const metrics = await (await fetch(`http://127.0.0.1:${open.adminPort}/metrics`)).text();
      expect(Number(/^sigma_flight_invalid_batches_total (\d+)$/m.exec(metrics)?.[1] ?? NaN)).toBe(2);
    } finally {
      client.close();
    }
  }, 130_000);

  test("auth: refused without the token, accepted with it (basic-token handshake and bearer header)", () => {
    if (skipped() || secured === null) return;
    const out = py(secured, "auth", TOKEN);
    expect(out.anonymous).toBe("unauthenticated");
    expect(out.handshake_header).toBe("authorization");
    expect(out.with_token_actions).toEqual(["reload", "rules", "status"]);
    expect((out.reload as { rules?: number }).rules ?? 1).toBeGreaterThan(0);
    const put = py(secured, "basic", TOKEN);
    expect(put.acks).toEqual([
      { batch: 0, matches: 1 },
      { batch: 1, matches: 0 },
      { batch: 2, matches: 3 },
    ]);
  }, 130_000);

  test("/metrics counts the server's calls, what they brought and the refusals", async () => {
    if (skipped() || secured === null) return;
    const server = secured;
    const read = async (): Promise<(series: string) => number> => {
      const text = await (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text();
      return (series) => Number(new RegExp(`^sigma_${series.replace(/[{}]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
    };
    const before = await read();
    // "basic": DoPut of 3 batches (9 rows) and of 1 (2 rows), one DoGet, a DoExchange of 3 batches (7 rows).
    py(server, "basic", TOKEN);
    // "auth": an anonymous call, refused.
    py(server, "auth", TOKEN);
    const after = await read();
    const added = (series: string): number => after(series) - before(series);
    expect(added('flight_calls_total{method="DoPut"}')).toBe(2);
    expect(added('flight_calls_total{method="DoExchange"}')).toBe(1);
    expect(added('flight_calls_total{method="DoGet"}')).toBe(1);
    expect(added("flight_received_batches_total")).toBe(7);
    expect(added("flight_received_rows_total")).toBe(18);
    expect(added("flight_invalid_batches_total")).toBe(0);
    expect(added("flight_unauthenticated_calls_total")).toBeGreaterThanOrEqual(1);
    expect(added("events_total")).toBe(18);
  }, 130_000);

  test("TLS: pyarrow puts and lists over grpc+tls; plaintext and a client without the CA are refused", () => {
    if (skipped() || tlsSkipped(encrypted)) return;
    const out = py(encrypted, "tls");
    expect(out.acks).toEqual([{ batch: 0, matches: 1 }]);
    expect(out.actions).toEqual(["reload", "rules", "status"]);
    expect(out.plaintext).toBe("FlightUnavailableError");
    expect(out.untrusted).toBe("FlightUnavailableError");
  }, 130_000);

  test("TLS: sigma as Flight client pushes matches (--flight-sink-ca) and reads them back (--flight-source-ca)", async () => {
    if (skipped() || tlsSkipped(encrypted) || certificates === null) return;
    const push = sigma(["--events", `${ROOT}rules/samples/windows-sysmon.ndjson`, "--pipeline", "sysmon", "--pipeline", "windows", "--output", "flight"], [
      ["--flight-sink", encrypted.location],
      ["--flight-sink-ca", certificates.caPath],
      ["--flight-sink-path", "e2e/tls-sink"],
    ]);
    expect(push.status).toBe(0);
    expect(summaryCount(push.stderr, "matches")).toBeGreaterThan(0);

    // The server evaluated the pushed match batches as events; what it matched is the stream to read.
    const client = new FlightClient(encrypted.location, { rootCerts: certificates.ca });
    let served: number;
    try {
      served = (await client.getFlightInfo("e2e", "tls-sink")).totalRecords;
    } finally {
      client.close();
    }
    expect(served).toBeGreaterThan(0);
    const pull = sigma(["--input", "flight"], [
      ["--flight-source", encrypted.location],
      ["--flight-source-ca", certificates.caPath],
      ["--ticket", "e2e/tls-sink"],
    ]);
    expect(pull.status).toBe(0);
    expect(summaryCount(pull.stderr, "events")).toBe(served);

    // Without the CA the system roots do not trust the test certificate: one clear line each, not a hang.
    const untrustingSource = sigma(["--input", "flight"], [
      ["--flight-source", encrypted.location],
      ["--ticket", "e2e/tls-sink"],
    ]);
    expect(untrustingSource.status).toBe(4);
    expect(untrustingSource.stderr).toContain(`sigma: DoGet of e2e/tls-sink from ${encrypted.location} failed after 0 batches: 14 UNAVAILABLE`);
    const untrustingSink = sigma(["--events", `${ROOT}rules/samples/windows-sysmon.ndjson`, "--pipeline", "sysmon", "--pipeline", "windows", "--output", "flight"], [
      ["--flight-sink", encrypted.location],
    ]);
    expect(untrustingSink.status).toBe(1);
    expect(untrustingSink.stderr).toContain(`error: a batch was not delivered (failed): DoPut to ${encrypted.location} failed: 14 UNAVAILABLE`);
  }, 130_000);
});

function tlsSkipped(server: Served | string): server is string {
  if (typeof server !== "string") return false;
  console.warn(`SKIP flight TLS e2e: ${server}`);
  return true;
}

/** One run of the command under test with the rules/ folder, `args` and the flag pairs. */
function sigma(args: string[], flags: [string, string][]): { status: number | null; stderr: string } {
  const [exe, ...prefix] = command() as [string, ...string[]];
  const run = spawnSync(exe, [...prefix, "--rules", `${ROOT}rules`, ...args, ...flags.flat()], { timeout: 120_000, encoding: "utf8", env: { ...process.env, SIGMA_LOG: "warn" } });
  return { status: run.status, stderr: run.stderr };
}

/** A count from the run summary on stderr ("events 12, matches 3, ..."). */
function summaryCount(stderr: string, what: "events" | "matches"): number {
  const match = new RegExp(`\\b${what} ([\\d,]+)`).exec(stderr);
  if (match === null) throw new Error(`no "${what}" in the summary: ${stderr}`);
  return Number((match[1] as string).replaceAll(",", ""));
}
