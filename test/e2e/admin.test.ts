/**
 * The admin endpoint of the compiled binary while it serves a stream on
 * stdin: Prometheus metrics that move with the input, hot reload that swaps
 * the rules without stopping the stream, token checks on reload, and a clean
 * exit 0 on SIGTERM.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY } from "../support/binary.ts";
import { testCertificates } from "../support/tls.ts";

const dir = mkdtempSync(join(tmpdir(), "sigma-admin-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rule = (id: string, needle: string): string => `title: Rule ${needle}
id: ${id}
level: low
logsource: {product: test}
detection:
  sel: {msg|contains: ${needle}}
  condition: sel
`;

async function freePort(): Promise<number> {
  const server = Bun.serve({ port: 0, fetch: () => new Response() });
  const port = server.port ?? 0;
  await server.stop(true);
  return port;
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await Bun.sleep(100);
  }
}

function metric(text: string, name: string): number {
  const match = new RegExp(`^sigma_${name} (\\S+)$`, "m").exec(text);
  return Number(match?.[1] ?? NaN);
}

describe.skipIf(!existsSync(BINARY))("admin endpoint", () => {
  test("metrics, hot reload on loopback, SIGTERM", async () => {
    const rules = join(dir, "rules");
    await Bun.write(join(rules, "a.yml"), rule("00000000-0000-4000-8000-00000000000a", "alpha"));
    const port = await freePort();
    const child = Bun.spawn([BINARY, "--rules", rules, "--events", "-", "--out", join(dir, "out.ndjson"), "--admin", `127.0.0.1:${port}`, "--chunk-bytes", "1024"], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    const base = `http://127.0.0.1:${port}`;
    try {
      await waitFor(async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined));
      child.stdin.write(`{"msg":"alpha one"}\n{"msg":"beta one"}\n`.repeat(600));
      child.stdin.flush();
      const first = await waitFor(async () => {
        const text = await (await fetch(`${base}/metrics`)).text();
        return metric(text, "events_total") > 0 ? text : undefined;
      });
      expect(metric(first, "rules_loaded")).toBe(1);
      expect(metric(first, "rules_generation")).toBe(1);
      expect(first).toContain("# TYPE sigma_matches_total counter");

      writeFileSync(join(rules, "b.yml"), rule("00000000-0000-4000-8000-00000000000b", "beta"));
      const reload = await fetch(`${base}/reload`, { method: "POST" });
      expect(reload.status).toBe(200);
      const outcome = (await reload.json()) as { loaded: number; generation: number };
      expect(outcome).toMatchObject({ loaded: 2, generation: 2 });
      const after = await (await fetch(`${base}/metrics`)).text();
      expect(metric(after, "rules_loaded")).toBe(2);

      child.stdin.write(`{"msg":"beta two"}\n`);
      await child.stdin.end();
      child.kill("SIGTERM");
      expect(await child.exited).toBe(0);
      const out = await Bun.file(join(dir, "out.ndjson")).text();
      expect(out).toContain('"title":"Rule beta"');
      expect(out).toContain('"title":"Rule alpha"');
    } finally {
      child.kill(9);
    }
  }, 60_000);

  test("reload needs the token when one is configured", async () => {
    const rules = join(dir, "rules-token");
    await Bun.write(join(rules, "a.yml"), rule("00000000-0000-4000-8000-0000000000aa", "alpha"));
    const port = await freePort();
    const child = Bun.spawn([BINARY, "--rules", rules, "--events", "-", "--out", "/dev/null", "--admin", `127.0.0.1:${port}`, "--admin-token", "s3cret"], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    const base = `http://127.0.0.1:${port}`;
    try {
      await waitFor(async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined));
      expect((await fetch(`${base}/reload`, { method: "POST" })).status).toBe(401);
      expect((await fetch(`${base}/reload`, { method: "POST", headers: { authorization: "Bearer wrong" } })).status).toBe(401);
      expect((await fetch(`${base}/reload`, { method: "POST", headers: { authorization: "Bearer s3cret" } })).status).toBe(200);
      await child.stdin.end();
      expect(await child.exited).toBe(0);
    } finally {
      child.kill(9);
    }
  }, 60_000);

  test("TLS: https trusting the test CA; plain http and a client without the CA get nothing", async () => {
    const certs = testCertificates();
    if (typeof certs === "string") {
      console.warn(`SKIP admin TLS: ${certs}`);
      return;
    }
    const rules = join(dir, "rules-tls");
    await Bun.write(join(rules, "a.yml"), rule("00000000-0000-4000-8000-0000000000ab", "alpha"));
    const port = await freePort();
    const admin = ["--admin", `127.0.0.1:${port}`, "--admin-tls-cert", certs.certPath, "--admin-tls-key", certs.keyPath];
    const child = Bun.spawn([BINARY, "--rules", rules, "--events", "-", "--out", "/dev/null", ...admin], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    const base = `https://127.0.0.1:${port}`;
    const trusting = { tls: { ca: certs.ca.toString("utf8") } };
    const outcome = (url: string, init?: RequestInit): Promise<number | string> =>
      fetch(url, { ...init, signal: AbortSignal.timeout(10_000) }).then(
        (response) => response.status,
        (error: unknown) => `refused: ${error instanceof Error ? error.name : String(error)}`,
      );
    try {
      await waitFor(async () => ((await fetch(`${base}/healthz`, trusting)).ok ? true : undefined));
      expect(metric(await (await fetch(`${base}/metrics`, trusting)).text(), "events_total")).toBe(0);
      expect(String(await outcome(`${base}/healthz`))).toStartWith("refused");
      expect(String(await outcome(`http://127.0.0.1:${port}/healthz`))).toStartWith("refused");
      await child.stdin.end();
      expect(await child.exited).toBe(0);
    } finally {
      child.kill(9);
    }
  }, 60_000);
});
