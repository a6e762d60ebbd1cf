import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildPlan } from "../../src/plan/build.ts";
import { describeExpr } from "../../src/plan/explain.ts";
import { ecsFieldNames, loadPipelines, parsePipeline, PipelineError } from "../../src/rules/pipeline.ts";
import { loadYaml } from "./helpers.ts";

/** The tests' directories live under one root, removed when the file's tests end. */
const scratch = mkdtempSync(join(tmpdir(), "sigma-pipe-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const proc = `title: p\nid: p\nlogsource: {category: process_creation, product: windows}\ndetection:\n  sel: {Image|endswith: '\\\\cmd.exe'}\n  condition: sel\n`;
const sec = `title: s\nid: s\nlogsource: {product: windows, service: security}\ndetection:\n  sel: {EventID: 4624}\n  condition: sel\n`;

function planOf(text: string, names: string[]) {
  const r = loadYaml(text, { pipelines: loadPipelines(names) });
  expect(r.errors).toEqual([]);
  return buildPlan(r).plan;
}

describe("built-in pipelines", () => {
  test("sysmon: process_creation → Sysmon channel (System_Channel if present, else Channel) and EventID 1, or Security 4688 with NewProcessName", () => {
    const plan = planOf(proc, ["sysmon"]);
    expect(plan.fields).toEqual(["System_Channel", "Channel", "EventID", "Image", "NewProcessName"]);
    const preds = plan.predicates.map((p) => [plan.fields[p.field], p.op]);
    expect(preds).toContainEqual(["Channel", { kind: "string", mode: "exact", value: "microsoft-windows-sysmon/operational", cased: false }]);
    expect(preds).toContainEqual(["EventID", { kind: "string", mode: "exact", value: "1", cased: false }]);
    expect(preds).toContainEqual(["EventID", { kind: "string", mode: "exact", value: "4688", cased: false }]);
    expect(preds).toContainEqual(["NewProcessName", { kind: "string", mode: "suffix", value: "\\cmd.exe", cased: false }]);
    expect(describeExpr(plan.rules[0]!.condition)).toBe(
      "(((#0 and #1) or (not #0 and #2)) and #3 and #4) or (((#0 and #5) or (not #0 and #6)) and #7 and #8)",
    );
  });
  test("windows: service → channel, case-insensitive (events say 'security')", () => {
    const plan = planOf(sec, ["windows"]);
    expect(plan.predicates.map((p) => p.op)).toContainEqual({ kind: "string", mode: "exact", value: "security", cased: false });
  });
  test("a logsource the selected pipelines do not route sees no events", () => {
    // sysmon routes no Security events, windows no Sysmon categories: those rules become inert.
    expect(planOf(sec, ["sysmon"]).fields).toEqual([]);
    expect(planOf(proc, ["windows"]).fields).toEqual([]);
    expect(planOf(sec, ["sysmon", "windows"]).fields).toContain("EventID");
  });
  test("ecs: winlogbeat names, ECS and raw spellings ORed", () => {
    expect(ecsFieldNames("CommandLine")).toEqual(["process.command_line", "winlog.event_data.CommandLine"]);
    expect(ecsFieldNames("EventID")).toEqual(["winlog.event_id"]);
    expect(ecsFieldNames("SubjectUserName")).toEqual(["winlog.event_data.SubjectUserName"]);
    const plan = planOf(proc, ["sysmon", "ecs"]);
    expect(plan.fields).toEqual(["winlog.channel", "winlog.event_id", "process.executable", "winlog.event_data.Image", "winlog.event_data.NewProcessName"]);
  });
  test("unknown pipeline name", () => {
    expect(() => loadPipelines(["nope"])).toThrow(PipelineError);
    expect(() => loadPipelines(["nope"])).toThrow(/neither a built-in \(sysmon, windows, ecs\)/);
  });
});

describe("YAML pipelines", () => {
  test("field_name_mapping, field_name_prefix, add_condition with logsource rule conditions, priority order", () => {
    const dir = mkdtempSync(join(scratch, "case-"));
    const file = join(dir, "p.yml");
    writeFileSync(
      file,
      `name: test
priority: 5
transformations:
  - id: map
    type: field_name_mapping
    mapping:
      Image: [NewProcessName, exe]
    rule_conditions:
      - type: logsource
        category: process_creation
  - type: add_condition
    conditions:
      Channel: Security
    rule_conditions:
      - type: logsource
        service: security
      - type: logsource
        category: process_creation
    rule_cond_op: or
  - type: field_name_prefix
    prefix: 'e.'
`,
    );
    const plan = planOf(proc, [file]);
    expect(plan.fields).toEqual(["e.NewProcessName", "e.exe", "e.Channel"]);
    expect(describeExpr(plan.rules[0]!.condition)).toBe("(#0 or #1) and #2");
  });
  test("value_placeholders resolve expand from pipeline vars", () => {
    const p = parsePipeline("vars: {admins: [alice, bob]}\ntransformations:\n  - type: value_placeholders\n", "inline");
    const r = loadYaml(`title: x\ndetection:\n  s: {User|expand: '%admins%'}\n  condition: s\n`, { pipelines: [p] });
    expect(r.errors).toEqual([]);
    expect(buildPlan(r).plan.predicates.map((x) => (x.op.kind === "string" ? x.op.value : ""))).toEqual(["alice", "bob"]);
  });
  test("errors name the pipeline and the transformation", () => {
    expect(() => parsePipeline("transformations:\n  - type: drop_everything\n", "p.yml")).toThrow("p.yml transformations[0]: unsupported transformation type \"drop_everything\"");
    expect(() => parsePipeline("transformations:\n  - type: add_condition\n    conditions: {X|bogus: 1}\n", "p.yml")).toThrow("p.yml: unknown modifier 'bogus' in 'X|bogus'");
    expect(() => parsePipeline("transformations:\n  - type: field_name_mapping\n    mapping: {A: B}\n    rule_conditions: [{type: include_fields}]\n", "p.yml")).toThrow(/only 'logsource'/);
  });
});
