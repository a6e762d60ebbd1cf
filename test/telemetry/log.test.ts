import { expect, test } from "bun:test";
import { spawnSync } from "bun";

const LOG = new URL("../../src/telemetry/log.ts", import.meta.url).pathname;

/** Runs `body` in a fresh Bun process after routeProcessWarnings(); returns its stderr lines. */
function stderrOf(body: string, level: string): string[] {
  const script = `import { routeProcessWarnings } from ${JSON.stringify(LOG)};\nrouteProcessWarnings();\n${body}`;
  const run = spawnSync([process.execPath, "-e", script], { env: { ...process.env, SIGMA_LOG: level }, stderr: "pipe", stdout: "pipe" });
  expect(run.exitCode).toBe(0);
  return run.stderr.toString().split("\n").filter((line) => line !== "");
}

test("runtime warnings are JSON log events, never the runtime's own stderr lines", () => {
  const lines = stderrOf(`setTimeout(() => {}, -5);\nprocess.emitWarning("disk almost full", "StorageWarning");\nawait Bun.sleep(20);`, "debug");
  const events = lines.map((line) => JSON.parse(line) as { level: string; event: string; name: string; message: string });
  expect(events.map((e) => [e.level, e.event, e.name])).toEqual([
    ["debug", "process.warning", "TimeoutNegativeWarning"],
    ["warn", "process.warning", "StorageWarning"],
  ]);
  expect(events[1]?.message).toBe("disk almost full");
});

test("kafkajs's negative-timer warning stays below the default level", () => {
  expect(stderrOf(`setTimeout(() => {}, -5);\nawait Bun.sleep(20);`, "info")).toEqual([]);
});
