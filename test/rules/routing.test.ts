/**
 * Logsource routing through the engine: with the sysmon pipeline, a
 * process_creation rule sees Sysmon EventID 1 with its own field names and
 * Security 4688 with NewProcessName/ParentProcessName, and nothing else;
 * a rule whose logsource no selected pipeline routes sees no events; the
 * keywords of routed rules are scanned on their logsource's rows only,
 * those of unrouted rules on every row.
 */

import { expect, test } from "bun:test";
import { LineOrigin } from "../../src/batch/batch.ts";
import { Engine } from "../../src/native/engine.ts";
import { buildPlan } from "../../src/plan/build.ts";
import { describePhysicalStages, type PhysicalPlan } from "../../src/plan/explain-physical.ts";
import { loadPipelines } from "../../src/rules/pipeline.ts";
import { loadYaml } from "./helpers.ts";

const RULES = `title: Whoami
id: 0e7f0a52-0000-4000-8000-000000000001
logsource: {category: process_creation, product: windows}
detection:
  sel:
    Image|endswith: '\\whoami.exe'
    ParentImage|endswith: '\\cmd.exe'
  condition: sel
---
title: Zeek Not Private
id: 0e7f0a52-0000-4000-8000-000000000002
logsource: {product: zeek, service: rdp}
detection:
  sel: {id.orig_h|cidr: 10.0.0.0/8}
  condition: not sel
`;

const EVENTS = [
  { Channel: "Microsoft-Windows-Sysmon/Operational", EventID: 1, Image: "C:\\Windows\\whoami.exe", ParentImage: "C:\\Windows\\cmd.exe" },
  { Channel: "Security", EventID: 4688, NewProcessName: "C:\\Windows\\whoami.exe", ParentProcessName: "C:\\Windows\\cmd.exe" },
  { Channel: "security", EventID: "4688", NewProcessName: "C:\\Windows\\WHOAMI.EXE", ParentProcessName: "C:\\Windows\\cmd.exe" },
  { Channel: "Security", EventID: 4688, Image: "C:\\Windows\\whoami.exe", ParentImage: "C:\\Windows\\cmd.exe" },
  { Channel: "Microsoft-Windows-Sysmon/Operational", EventID: 3, Image: "C:\\Windows\\whoami.exe", ParentImage: "C:\\Windows\\cmd.exe" },
  { Channel: "Microsoft-Windows-Sysmon/Operational", EventID: 1, NewProcessName: "C:\\Windows\\whoami.exe", ParentProcessName: "C:\\Windows\\cmd.exe" },
];

test("process_creation: Sysmon 1 or Security 4688 with its field names; unrouted logsources see nothing", () => {
  const loaded = loadYaml(RULES, { pipelines: loadPipelines(["sysmon", "windows"]) });
  expect(loaded.errors).toEqual([]);
  expect(loaded.warnings.map((w) => w.code)).toEqual(["pipeline"]);
  const { engine } = Engine.compile(buildPlan(loaded).plan);
  const bytes = new TextEncoder().encode(EVENTS.map((e) => JSON.stringify(e)).join("\n") + "\n");
  const result = engine.evalJsonSync({ kind: "json", bytes, origin: new LineOrigin("routing", 1) });
  expect(Array.from(result.matchRows)).toEqual([0, 1, 2]);
  expect(new Set(result.matchRules)).toEqual(new Set([0]));
});

const ROUTED_KEYWORDS = `title: Keywords In Security
id: 0e7f0a52-0000-4000-8000-000000000003
logsource: {product: windows, service: security}
detection:
  keywords: [mimikatz, 'sekurlsa::']
  condition: keywords
`;

test("keywords of routed rules: scanned only on their logsource's rows, and found there", () => {
  const loaded = loadYaml(ROUTED_KEYWORDS, { pipelines: loadPipelines(["windows"]) });
  expect(loaded.errors).toEqual([]);
  const { engine } = Engine.compile(buildPlan(loaded).plan);
  const explained = engine.explain() as PhysicalPlan;
  expect(explained.keywordGate).toBeGreaterThan(0);
  expect(describePhysicalStages(explained)[0]).toContain(`keywords only on rows where one of their rules' ${explained.keywordGate} routing predicates hit`);
  const events = [
    { Channel: "Security", EventID: 4688, CommandLine: "run mimikatz now" },
    { Channel: "System", EventID: 7045, CommandLine: "run mimikatz now" },
    { Channel: "Security", EventID: 4624, TargetUserName: "x", Detail: ["a", "sekurlsa::logonpasswords"] },
    { Channel: "Security", EventID: 4624, TargetUserName: "nothing here" },
    { EventID: 1, CommandLine: "sekurlsa::pth" },
  ];
  const bytes = new TextEncoder().encode(events.map((e) => JSON.stringify(e)).join("\n") + "\n");
  const result = engine.evalJsonSync({ kind: "json", bytes, origin: new LineOrigin("routing", 1) });
  expect(Array.from(result.matchRows)).toEqual([0, 2]);
});

const UNROUTED_KEYWORDS = `title: Keywords Anywhere
id: 0e7f0a52-0000-4000-8000-000000000004
logsource: {product: windows}
detection:
  keywords: ['lsadump::']
  condition: keywords
`;

test("keywords of an unrouted rule beside routed ones: scanned on every row, the routed ones still only on their rows", () => {
  const loaded = loadYaml(`${ROUTED_KEYWORDS}---\n${UNROUTED_KEYWORDS}`, { pipelines: loadPipelines(["windows"]) });
  expect(loaded.errors).toEqual([]);
  const { engine } = Engine.compile(buildPlan(loaded).plan);
  const explained = engine.explain() as PhysicalPlan;
  expect(explained.keywordGate).toBeGreaterThan(0);
  expect(explained.keywordOpenRules).toBe(1);
  expect(describePhysicalStages(explained)[0]).toContain("except those of 1 unrouted rule(s), on every row");
  const events = [
    { Channel: "System", EventID: 7045, ImagePath: "mimikatz lsadump::sam" },
    { Channel: "Security", EventID: 4688, CommandLine: "mimikatz lsadump::sam" },
    { Channel: "System", EventID: 7045, ImagePath: "mimikatz only" },
  ];
  const bytes = new TextEncoder().encode(events.map((e) => JSON.stringify(e)).join("\n") + "\n");
  const result = engine.evalJsonSync({ kind: "json", bytes, origin: new LineOrigin("routing", 1) });
  const pairs = Array.from(result.matchRows, (row, i) => `${row}:${engine.rules[result.matchRules[i]!]!.title}`);
  expect(pairs.sort()).toEqual(["0:Keywords Anywhere", "1:Keywords Anywhere", "1:Keywords In Security"]);
});
