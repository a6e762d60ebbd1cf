/**
 * The compiled single binary, end to end: copied to a fresh directory with
 * no node_modules next to it, run on NDJSON (plain, gzip, stdin), with dead
 * letters for malformed, oversized and over-deep lines, and the documented
 * exit codes for every kind of bad invocation.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { BINARY, runBinary, SHARED } from "../support/binary.ts";

const RULE = `title: Whoami Execution
id: 5b0d6d4c-0b1e-4a59-9d8e-3f1d2c7a9e01
status: test
level: medium
tags: [attack.discovery, attack.t1033]
logsource: {product: windows, category: process_creation}
detection:
  sel: {CommandLine|contains: whoami}
  condition: sel
`;

const BROKEN_RULE = `title: Broken
id: 0d7c1f0e-7c55-4f7e-a3a1-9c3f9e2d1b00
logsource: {product: windows}
detection:
  sel: {CommandLine|nosuchmodifier: x}
  condition: sel
`;

const deep = `{"a":${"[".repeat(100)}1${"]".repeat(100)},"CommandLine":"whoami"}`;
const EVENTS = [
  `{"CommandLine":"cmd /c whoami","EventID":1}`,
  `{"CommandLine":"dir"}`,
  `this is not json`,
  ``,
  `{"CommandLine":"WHOAMI /all","pad":"${"x".repeat(2000)}"}`,
  deep,
  `[1,2,3]`,
  `{"CommandLine":"whoami /priv"}`,
].join("\n");

let dir = "";
let binary = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sigma-e2e-"));
  // A directory with nothing but the binary: no node_modules, no sources.
  binary = join(dir, "sigma");
  if (existsSync(BINARY)) copyFileSync(BINARY, binary);
  writeFileSync(join(dir, "rule.yml"), RULE);
  writeFileSync(join(dir, "broken.yml"), BROKEN_RULE);
  writeFileSync(join(dir, "events.ndjson"), EVENTS + "\n");
  writeFileSync(join(dir, "events.ndjson.gz"), gzipSync(EVENTS + "\n"));
});

afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

const run = (args: string[], stdin?: Uint8Array) => runBinary(args, { cwd: dir, binary, ...(stdin ? { stdin } : {}) });

describe.skipIf(!existsSync(BINARY))("dist/sigma", () => {
  test("matches, dead letters and the summary, from a directory with only the binary", async () => {
    const result = await run([
      "--rules", dir, "--input", "json", "--events", "events.ndjson", "--output", "json",
      "--out", "matches.ndjson", "--dead-letter", "dead.ndjson", "--max-event-bytes", "1000", "--max-depth", "50",
    ]);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain("loaded 1 rules, rejected 1");
    expect(result.stderr).toContain("broken.yml");
    expect(result.stderr).toContain("nosuchmodifier");
    const matches = readFileSync(join(dir, "matches.ndjson"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(matches.map((m) => m.source.line)).toEqual([1, 8]);
    expect(matches[0].rule).toEqual({
      id: "5b0d6d4c-0b1e-4a59-9d8e-3f1d2c7a9e01",
      title: "Whoami Execution",
      level: "medium",
      status: "test",
      tags: ["attack.discovery", "attack.t1033"],
    });
    expect(matches[0].event).toEqual({ CommandLine: "cmd /c whoami", EventID: 1 });
    const dead = readFileSync(join(dir, "dead.ndjson"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(dead.map((d) => d.source.line)).toEqual([3, 5, 6, 7]);
    expect(dead[0].raw).toBe("this is not json");
    expect(dead[0].reason).toMatch(/json/i);
    expect(dead[1].reason).toMatch(/bytes|size|long/i);
    expect(dead[2].reason).toMatch(/deep|depth|nest/i);
    expect(dead[3].reason).toMatch(/object/i);
    expect(result.stderr).toMatch(/events 3, matches 2 .*dead letters 4/);
  });

  test("gzip input is detected", async () => {
    const result = await run(["--rules", "rule.yml", "--events", "events.ndjson.gz", "--quiet"]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim().split("\n")).toHaveLength(3);
  });

  test("stdin input with -", async () => {
    const result = await run(["--rules", "rule.yml", "--events", "-", "--quiet"], new TextEncoder().encode(EVENTS));
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim().split("\n")).toHaveLength(3);
  });

  test("--help and --version", async () => {
    const help = await run(["--help"]);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain("--rules");
    expect(help.stdout).toContain("exit codes");
    const version = await run(["--version"]);
    expect(version.exitCode).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  test("exit codes: usage 2, rules 3, input 4", async () => {
    expect((await run(["--rules", "rule.yml", "--no-such-flag"])).exitCode).toBe(2);
    expect((await run(["--events", "events.ndjson"])).exitCode).toBe(2);
    const missingRules = await run(["--rules", "nowhere/", "--events", "events.ndjson"]);
    expect(missingRules.exitCode).toBe(3);
    expect(missingRules.stderr).toContain("nowhere");
    expect((await run(["--rules", "broken.yml", "--events", "events.ndjson"])).exitCode).toBe(3);
    const missingEvents = await run(["--rules", "rule.yml", "--events", "missing.ndjson"]);
    expect(missingEvents.exitCode).toBe(4);
    expect(missingEvents.stderr).toContain("missing.ndjson");
  });

  test.skipIf(!existsSync("/proc/self/environ"))("runs with mimalloc's purge delay set, in the same process, unless the user set it", async () => {
    const environOf = async (env: Record<string, string | undefined>): Promise<string[]> => {
      const child = Bun.spawn([binary, "--rules", "rule.yml", "--flight-server", "127.0.0.1:0", "--out", "/dev/null"], { cwd: dir, env, stdout: "ignore", stderr: "pipe" });
      try {
        const reader = child.stderr.getReader();
        let seen = "";
        while (!seen.includes("listening")) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`server exited: ${seen}`);
          seen += new TextDecoder().decode(value);
        }
        // The PID Bun.spawn returned is the process now serving: the re-exec kept it.
        return readFileSync(`/proc/${child.pid}/environ`, "utf8").split("\0");
      } finally {
        child.kill();
        await child.exited;
      }
    };
    const { MIMALLOC_PURGE_DELAY: _, ...inherited } = process.env;
    expect(await environOf(inherited)).toContain("MIMALLOC_PURGE_DELAY=1000");
    expect(await environOf({ ...inherited, MIMALLOC_PURGE_DELAY: "50" })).toContain("MIMALLOC_PURGE_DELAY=50");
  });

  test("modes that are not built yet say so and fail", async () => {
    for (const mode of ["coordinator", "worker"]) {
      const result = await run(["--rules", "rule.yml", "--events", "events.ndjson", "--mode", mode]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain("not yet available");
    }
  });

  test.skipIf(!existsSync(join(SHARED, "sigma")))("the SigmaHQ tree over the EVTX attack samples", async () => {
    const result = await run([
      "--rules", join(SHARED, "sigma"), "--input", "json",
      "--events", join(SHARED, "events", "windows_evtx_attack_samples.ndjson.gz"),
      "--output", "json", "--out", "m.ndjson", "--dead-letter", "dl.ndjson", "--verbose",
    ]);
    expect(result.exitCode).toBe(0);
    const loaded = /loaded (\d+) rules, rejected (\d+)/.exec(result.stderr);
    expect(Number(loaded?.[1])).toBeGreaterThan(3000);
    const rejectedLines = result.stderr.split("\n").filter((l) => l.startsWith("  rejected "));
    expect(rejectedLines.length).toBe(Number(loaded?.[2]));
    const lines = readFileSync(join(dir, "m.ndjson"), "utf8").trim().split("\n");
    expect(lines.length).toBeGreaterThan(1000);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(result.stderr).toMatch(/events 8274,/);
  });
});

if (!existsSync(join(SHARED, "sigma"))) {
  test.skip("SigmaHQ tree run: ../shared is absent on this machine", () => {});
}
