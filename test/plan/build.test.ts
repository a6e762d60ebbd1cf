import { describe, expect, test } from "bun:test";
import { buildPlan, lowerPlan } from "../../src/plan/build.ts";
import { dedupePredicates, dropUnused, flattenBoolean, foldConstants, optimize, PASSES } from "../../src/plan/passes.ts";
import type { LogicalPlan } from "../../src/plan/logical.ts";
import { KEYWORD_FIELD } from "../../src/plan/types.ts";
import { validatePlan } from "../../src/plan/validate.ts";
import { loadYaml } from "../rules/helpers.ts";

const rule = (id: string, det: string, extra = "") =>
  `title: R ${id}\nid: ${id}\n${extra}logsource: {category: process_creation, product: windows}\ndetection:\n${det
    .trim()
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n")}\n`;

function load(...docs: string[]) {
  const r = loadYaml(docs.join("---\n"));
  expect(r.errors).toEqual([]);
  return r;
}

describe("buildPlan", () => {
  test("fields are interned, only referenced ones; identical predicates are shared across rules", () => {
    const r = load(
      rule("a", "sel:\n  Image|endswith: '\\cmd.exe'\n  CommandLine|contains: whoami\ncondition: sel"),
      rule("b", "sel:\n  Image|endswith: '\\CMD.EXE'\ncondition: sel"),
    );
    const { plan } = buildPlan(r);
    expect(plan.version).toBe(1);
    expect(plan.fields).toEqual(["Image", "CommandLine"]);
    expect(plan.predicates).toEqual([
      { field: 0, op: { kind: "string", mode: "suffix", value: "\\cmd.exe", cased: false } },
      { field: 1, op: { kind: "string", mode: "contains", value: "whoami", cased: false } },
    ]);
    expect(plan.rules.map((x) => x.condition)).toEqual([{ and: [{ pred: 0 }, { pred: 1 }] }, { pred: 0 }]);
    expect(validatePlan(plan, { uniquePredicates: true })).toEqual([]);
  });

  test("nested and/or are flattened and single-child nodes dropped", () => {
    const r = load(rule("a", "s1: {A: 1}\ns2: {B: 2}\ns3: {C: 3}\ncondition: s1 and (s2 and (s3))"));
    expect(buildPlan(r).plan.rules[0]?.condition).toEqual({ and: [{ pred: 0 }, { pred: 1 }, { pred: 2 }] });
  });

  test("keywords use KEYWORD_FIELD and fieldref targets are interned", () => {
    const r = load(rule("a", "kw: [evil]\nsel: {Image|fieldref: ParentImage}\ncondition: kw or sel"));
    const { plan } = buildPlan(r);
    expect(plan.predicates[0]).toEqual({ field: KEYWORD_FIELD, op: { kind: "string", mode: "contains", value: "evil", cased: false } });
    expect(plan.fields).toEqual(["Image", "ParentImage"]);
    expect(plan.predicates[1]).toEqual({ field: 0, op: { kind: "fieldref", other: 1, mode: "exact", cased: false } });
  });

  test("a rule without id gets a stable synthetic id", () => {
    const r = loadYaml("title: no id\ndetection: {s: {A: 1}, condition: s}\n");
    const a = buildPlan(r).plan.rules[0]?.id;
    expect(a).toMatch(/^synthetic-[0-9a-f]{8}$/);
    expect(buildPlan(r).plan.rules[0]?.id).toBe(a as string);
  });

  test("filters fold into the target rule as AND NOT", () => {
    const r = load(
      rule("target", "sel: {Image|endswith: '\\whoami.exe'}\ncondition: sel", "name: tgt\n"),
      "title: F\nlogsource: {category: process_creation, product: windows}\nfilter:\n  rules: [tgt]\n  selection: {ParentImage|endswith: '\\ccmexec.exe'}\n  condition: selection\n",
      rule("other", "sel: {Image|endswith: '\\x.exe'}\ncondition: sel"),
    );
    expect(r.filters.length).toBe(1);
    const { plan } = buildPlan(r);
    expect(plan.rules[0]?.condition).toEqual({ and: [{ pred: 0 }, { not: { pred: 1 } }] });
    expect(plan.rules[1]?.condition).toEqual({ pred: 2 });
  });

  test("a filter with a different logsource does not apply", () => {
    const r = load(
      rule("target", "sel: {Image: a}\ncondition: sel", "name: tgt\n"),
      "title: F\nlogsource: {category: network_connection}\nfilter:\n  rules: [tgt]\n  selection: {X: 1}\n  condition: selection\n",
    );
    expect(buildPlan(r).plan.rules[0]?.condition).toEqual({ pred: 0 });
  });

  test("correlations: sources by name or id, aliases, generate, correlation of correlation", () => {
    const r = load(
      rule("r1", "sel: {EventID: 4625}\ncondition: sel", "name: failed\n"),
      rule("r2", "sel: {EventID: 4624}\ncondition: sel", "name: success\n"),
      `title: many failed\nid: c1\nname: many_failed\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [TargetUserName]\n  timespan: 5m\n  condition: {gte: 10}\n`,
      `title: then success\nid: c2\ncorrelation:\n  type: temporal_ordered\n  rules: [many_failed, r2]\n  group-by: [user]\n  aliases:\n    user:\n      many_failed: TargetUserName\n      success: TargetUserName\n  timespan: 1h\nlevel: high\n`,
    );
    const { plan, errors } = buildPlan(r);
    expect(errors).toEqual([]);
    expect(plan.correlations.map((c) => [c.id, c.kind, c.sources, c.groupBy, c.timespanMs, c.condition, c.emit])).toEqual([
      ["c1", "event_count", [0], [["TargetUserName"]], 300_000, { gte: 10 }, false],
      ["c2", "temporal_ordered", [2, 1], [["TargetUserName"], ["TargetUserName"]], 3_600_000, { gte: 2 }, true],
    ]);
    expect(plan.rules.map((x) => x.emit)).toEqual([false, false]);
  });

  test("value correlations need a field; unknown references are reported", () => {
    const bad = loadYaml(`title: v\ncorrelation: {type: value_count, rules: [x], group-by: [a], timespan: 1h, condition: {gte: 3}}\n`);
    expect(bad.errors[0]?.message).toBe("correlation type 'value_count' needs 'condition.field'");
    const r = loadYaml(`title: v\nid: v\ncorrelation: {type: value_sum, rules: [missing], group-by: [a], timespan: 2d, condition: {field: Bytes, gt: 1000}}\n`);
    expect(r.correlations[0]?.timespanMs).toBe(172_800_000);
    const { plan, errors } = buildPlan(r);
    expect(plan.correlations).toEqual([]);
    expect(errors.map((e) => e.message)).toEqual(["correlation references unknown rule 'missing'"]);
  });

  test("value_percentile and bad timespans", () => {
    const r = loadYaml(`title: p\ncorrelation: {type: value_percentile, rules: [x], group-by: [a], timespan: 24h, condition: {field: image, percentile: 95, lte: 1}}\n`);
    expect([r.correlations[0]?.valueField, r.correlations[0]?.percentile, r.correlations[0]?.condition]).toEqual(["image", 95, { lte: 1 }]);
    expect(loadYaml(`title: p\ncorrelation: {type: event_count, rules: [x], timespan: 5 minutes, condition: {gt: 1}}\n`).errors[0]?.message).toMatch(/invalid timespan/);
  });

  test("cyclic correlations are rejected", () => {
    const r = loadYaml(
      `title: a\nid: a\ncorrelation: {type: event_count, rules: [b], timespan: 1m, condition: {gt: 1}}\n---\ntitle: b\nid: b\ncorrelation: {type: event_count, rules: [a], timespan: 1m, condition: {gt: 1}}\n`,
    );
    const { plan, errors } = buildPlan(r);
    expect(plan.correlations).toEqual([]);
    expect(errors.length).toBe(2);
  });
});

describe("passes", () => {
  const base = (): LogicalPlan => ({
    fields: ["A", "B", "C"],
    predicates: [
      { field: 0, op: { kind: "exists" } },
      { field: 1, op: { kind: "exists" } },
      { field: 0, op: { kind: "exists" } },
    ],
    rules: [{ id: "r", title: "r", level: null, status: null, tags: [], name: null, path: "p", emit: true, condition: { or: [{ pred: 0 }, { and: [{ pred: 2 }, { const: true }] }] } }],
    correlations: [],
    options: { maxEventBytes: 1, maxDepth: 1, timestampField: null, threads: 0 },
  });
  test("each pass is pure and reports whether it changed the plan", () => {
    const p = base();
    const snapshot = JSON.stringify(p);
    const d = dedupePredicates.run(p);
    expect(d.changed).toBe(true);
    expect(d.plan.predicates.length).toBe(2);
    expect(JSON.stringify(p)).toBe(snapshot);
    expect(dedupePredicates.run(d.plan).changed).toBe(false);
    const f = foldConstants.run(d.plan);
    expect(f.plan.rules[0]?.condition).toEqual({ or: [{ pred: 0 }, { and: [{ pred: 0 }] }] });
    const fl = flattenBoolean.run(f.plan);
    expect(fl.plan.rules[0]?.condition).toEqual({ or: [{ pred: 0 }, { pred: 0 }] });
    const u = dropUnused.run(fl.plan);
    expect(u.plan.fields).toEqual(["A"]);
    expect(u.plan.predicates.length).toBe(1);
  });
  test("optimize reaches a fixpoint", () => {
    const { plan } = optimize(base());
    expect(plan.rules[0]?.condition).toEqual({ pred: 0 });
    expect(plan.fields).toEqual(["A"]);
  });
  test("an invariant violation names the pass", () => {
    const broken = { name: "break-things", run: (p: LogicalPlan) => ({ plan: { ...p, rules: p.rules.map((r) => ({ ...r, condition: { pred: 99 } })) }, changed: true }) };
    expect(() => optimize(base(), [...PASSES.slice(0, 1), broken])).toThrow(/after pass 'break-things': rules\[0\] \(r\): predicate 99 is out of range/);
  });
  test("constant folding: and with false, not const", () => {
    const p = base();
    p.rules[0]!.condition = { or: [{ and: [{ pred: 1 }, { const: false }] }, { not: { const: true } }] };
    expect(optimize(p).plan.rules[0]?.condition).toEqual({ const: false });
    expect(optimize(p).plan.predicates).toEqual([]);
  });
  test("lowerPlan is naive (one predicate per leaf)", () => {
    const r = load(rule("a", "s: {A: 1}\nt: {A: 1}\ncondition: s or t"));
    expect(lowerPlan(r).logical.predicates.length).toBe(2);
    expect(buildPlan(r).plan.predicates.length).toBe(1);
    expect(buildPlan(r).plan.rules[0]?.condition).toEqual({ pred: 0 });
  });
});

describe("validatePlan", () => {
  test("reports each violated invariant", () => {
    const errs = validatePlan(
      {
        fields: ["A", "A"],
        predicates: [
          { field: 5, op: { kind: "string", mode: "exact", value: "ABC", cased: false } },
          { field: 5, op: { kind: "string", mode: "exact", value: "ABC", cased: false } },
        ],
        rules: [{ id: "r", condition: { pred: 7 } }],
        correlations: [{ id: "c", sources: [1], groupBy: [] }],
      },
      { uniquePredicates: true },
    );
    expect(errs).toEqual([
      "fields[1] 'A' is a duplicate",
      "predicates[0].field 5 is out of range",
      "predicates[0] value 'ABC' is not folded",
      "predicates[1].field 5 is out of range",
      "predicates[1] value 'ABC' is not folded",
      "predicates[1] duplicates predicates[0]",
      "rules[0] (r): predicate 7 is out of range",
      "correlations[0] (c) groupBy has 0 entries for 1 sources",
      "correlations[0] (c) references itself",
    ]);
  });
});
