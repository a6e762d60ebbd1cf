/**
 * Correlation rules end to end: our own YAML (base rules + correlations),
 * compiled to a plan, evaluated through `Engine` on NDJSON with event time,
 * checking the correlation match rows; snapshot/restore across engines; and
 * one run of `bun src/main.ts` with --timestamp-field and --state.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildPlan } from "../../src/plan/build.ts";
import { LineOrigin } from "../../src/batch/batch.ts";
import { Engine } from "../../src/native/engine.ts";
import { loadYaml } from "../rules/helpers.ts";

const RULES = `title: Failed logon
id: 7f6c2a10-1111-4c4c-9a9a-000000000001
name: failed_logon
status: test
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4625}
  condition: sel
---
title: Successful logon
id: 7f6c2a10-1111-4c4c-9a9a-000000000002
name: good_logon
status: test
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4624}
  condition: sel
---
title: Logon burst
id: 7f6c2a10-2222-4c4c-9a9a-000000000001
name: logon_burst
status: test
level: high
correlation:
  type: event_count
  rules: [failed_logon]
  group-by: [TargetUserName]
  timespan: 1m
  condition: {gte: 3}
---
title: Guessed then in
id: 7f6c2a10-2222-4c4c-9a9a-000000000002
status: test
level: critical
correlation:
  type: temporal_ordered
  rules: [logon_burst, good_logon]
  group-by: [user]
  aliases:
    user:
      logon_burst: TargetUserName
      good_logon: TargetUserName
  timespan: 5m
  generate: true
`;

const T0 = Date.parse("2024-05-01T10:00:00Z");
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();
const event = (id: number, user: string, seconds: number): string =>
  JSON.stringify({ EventID: id, TargetUserName: user, TimeCreated_SystemTime: at(seconds) });

// Rows: 0-2 alice fails (burst at row 2); 3 bob fails; 4 alice logs in (ordered → fires);
// 5-6 bob fails 2 min later (burst needs all 3 in 1 min: no); 7 bob logs in (no burst: nothing).
// "Guessed then in" has generate: true, so its sources (the burst and good_logon) are output too;
// failed_logon only feeds the burst (generate: false) and is never output.
const EVENTS = [
  event(4625, "alice", 0),
  event(4625, "alice", 10),
  event(4625, "alice", 60),
  event(4625, "bob", 0),
  event(4624, "alice", 90),
  event(4625, "bob", 120),
  event(4625, "bob", 130),
  event(4624, "bob", 140),
];

function compile(): Engine {
  const loaded = loadYaml(RULES);
  expect(loaded.errors).toEqual([]);
  const build = buildPlan(
    { rules: loaded.rules, correlations: loaded.correlations },
    { timestampField: "TimeCreated_SystemTime", threads: 1 },
  );
  expect(build.errors).toEqual([]);
  const { engine, errors } = Engine.compile(build.plan);
  expect(errors).toEqual([]);
  return engine;
}

function matches(engine: Engine, lines: string[]): { row: number; id: string }[] {
  const bytes = new TextEncoder().encode(lines.join("\n") + "\n");
  const r = engine.evalJsonSync({ kind: "json", bytes, origin: new LineOrigin("correlation", 1) });
  return Array.from(r.matchRows, (row, i) => ({ row, id: engine.rules[r.matchRules[i] ?? 0]?.id ?? "?" }));
}

describe("correlation rules", () => {
  test("burst and ordered follow-up fire at the completing rows", () => {
    const engine = compile();
    expect(matches(engine, EVENTS)).toEqual([
      { row: 2, id: "7f6c2a10-2222-4c4c-9a9a-000000000001" },
      { row: 4, id: "7f6c2a10-1111-4c4c-9a9a-000000000002" },
      { row: 4, id: "7f6c2a10-2222-4c4c-9a9a-000000000002" },
      { row: 7, id: "7f6c2a10-1111-4c4c-9a9a-000000000002" },
    ]);
    const stats = engine.stats().correlation;
    expect(stats.fired).toBe(2);
    expect(stats.groups).toBeGreaterThan(0);
  });

  test("snapshot → new engine → restore continues the windows", () => {
    const first = compile();
    expect(matches(first, EVENTS.slice(0, 2))).toEqual([]);
    const snap = first.snapshot();
    const second = compile();
    expect(second.restore(snap)).toEqual({ groups: 1, ignored: [], droppedGroups: 0 });
    expect(matches(second, EVENTS.slice(2, 3))).toEqual([{ row: 0, id: "7f6c2a10-2222-4c4c-9a9a-000000000001" }]);
    expect(() => second.restore(new TextEncoder().encode("nope"))).toThrow();
  });
});

describe("sigma run with correlations", () => {
  const dir = mkdtempSync(join(tmpdir(), "sigma-corr-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("correlation match lines carry the correlation's id; --state persists windows", async () => {
    const rules = join(dir, "rules");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(rules);
    writeFileSync(join(rules, "logons.yml"), RULES);
    const run = async (lines: string[]): Promise<{ id: string; user: string }[]> => {
      const events = join(dir, "events.ndjson");
      writeFileSync(events, lines.join("\n") + "\n");
      const proc = Bun.spawn(
        [process.execPath, "src/main.ts", "--rules", rules, "--events", events, "--timestamp-field", "TimeCreated_SystemTime", "--state", join(dir, "state.json"), "--quiet"],
        { cwd: join(import.meta.dir, "../.."), stdout: "pipe", stderr: "pipe" },
      );
      const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      expect({ code, error: err.includes('"level":"error"') }).toEqual({ code: 0, error: false });
      return out
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as { rule: { id: string }; event: { TargetUserName: string } })
        .map((m) => ({ id: m.rule.id, user: m.event.TargetUserName }));
    };
    expect(await run(EVENTS)).toEqual([
      { id: "7f6c2a10-2222-4c4c-9a9a-000000000001", user: "alice" },
      { id: "7f6c2a10-1111-4c4c-9a9a-000000000002", user: "alice" },
      { id: "7f6c2a10-2222-4c4c-9a9a-000000000002", user: "alice" },
      { id: "7f6c2a10-1111-4c4c-9a9a-000000000002", user: "bob" },
    ]);
    expect(existsSync(join(dir, "state.json"))).toBe(true);
    // A second process continues bob's window from the state file: 2 fails at 120/130 s + 1 at 150 s.
    expect(await run([event(4625, "bob", 150)])).toEqual([{ id: "7f6c2a10-2222-4c4c-9a9a-000000000001", user: "bob" }]);
  }, 30_000);
});
