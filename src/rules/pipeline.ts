/**
 * Processing pipelines, compatible with pySigma's YAML pipelines for the
 * parts that matter to evaluation: `field_name_mapping` (one name or a list,
 * a list becomes an OR), `field_name_prefix`, `add_condition` (conditions
 * with Sigma value semantics, ANDed to the rule) and `value_placeholders`
 * (pipeline `vars` resolve `expand` placeholders), each optionally gated by
 * `rule_conditions` of type `logsource` (`rule_cond_op: and|or`). Pipelines
 * are sorted by `priority` (stable) and applied in order. Built-ins, as TS
 * data: `sysmon` (Windows categories → Sysmon channel + event ids, as
 * SigmaHQ's thor.yml), `windows` (service → event-log channel; PowerShell and
 * Defender categories) and `ecs` (winlogbeat field names). Channel conditions
 * look at `System_Channel` when the event has it, else `Channel` (see the
 * flattening notes in shared/regression/README.md), case-insensitively.
 */

import { readFileSync } from "node:fs";
import { load } from "js-yaml";
import type { DetExpr, LogSource, SigmaRule } from "./ast.ts";
import { RuleCompileError } from "./ast.ts";
import { isMap } from "./detection.ts";
import { compileItem, type Placeholders } from "./modifiers.ts";
import { WINDOWS_CATEGORIES, WINDOWS_SERVICE_CHANNELS } from "./pipeline-data.ts";
import { mapLeaves, mapRule, ruleExpr } from "./walk.ts";

export interface LogsourceCondition {
  type: "logsource";
  category: string | null;
  product: string | null;
  service: string | null;
}

interface Gate {
  id: string | null;
  ruleConditions: LogsourceCondition[];
  condOp: "and" | "or";
}

export type Transformation = Gate &
  (
    | { type: "field_name_mapping"; mapping: Record<string, string[]> }
    | { type: "field_name_prefix"; prefix: string }
    | { type: "add_condition"; conditions: Record<string, unknown> }
    | { type: "value_placeholders"; include: string[] | null }
    /** Built-in only: AND a prepared expression. */
    | { type: "add_expr"; expr: DetExpr }
    /** Built-in only: map field names with a function (returns the alternatives, ORed). */
    | { type: "map_fields"; map: (field: string) => string[] }
    /**
     * Built-in only: the rule becomes an OR over event sources, each its
     * condition ANDed with the rule's expression under that source's own field
     * names (process_creation: Sysmon 1 as is, or Security 4688 with
     * Image→NewProcessName).
     */
    | { type: "route_alternatives"; alternatives: { condition: DetExpr; fieldMapping: Record<string, string> }[] }
  );

export interface Pipeline {
  name: string;
  priority: number;
  vars: Record<string, string[]>;
  transformations: Transformation[];
}

const ALWAYS: Gate = { id: null, ruleConditions: [], condOp: "and" };

function logsource(category: string | null, product: string | null, service: string | null): LogsourceCondition {
  return { type: "logsource", category, product, service };
}

function matchesLogsource(c: LogsourceCondition, ls: LogSource): boolean {
  return (c.category === null || c.category === ls.category) && (c.product === null || c.product === ls.product) && (c.service === null || c.service === ls.service);
}

function gateOpen(g: Gate, rule: SigmaRule): boolean {
  if (g.ruleConditions.length === 0) return true;
  const hits = g.ruleConditions.map((c) => matchesLogsource(c, rule.logsource));
  return g.condOp === "and" ? hits.every(Boolean) : hits.some(Boolean);
}

/** `System_Channel` when the event has it, else `Channel`: one of `channels`, case-insensitive. */
export function channelCondition(channels: string[]): DetExpr {
  const eq = (field: string): DetExpr => compileItem(field, channels, new Map());
  const sysExists: DetExpr = { pred: { field: "System_Channel", op: { kind: "exists" } } };
  return { or: [{ and: [sysExists, eq("System_Channel")] }, { and: [{ not: sysExists }, eq("Channel")] }] };
}

function alternativesExpr(alts: Record<string, unknown>[]): DetExpr {
  const one = (m: Record<string, unknown>): DetExpr => {
    const items = Object.entries(m).map(([k, v]) => compileItem(k, v, new Map()));
    return items.length === 1 ? (items[0] as DetExpr) : { and: items };
  };
  return alts.length === 1 ? one(alts[0] as Record<string, unknown>) : { or: alts.map(one) };
}

function renameFields(e: DetExpr, map: (f: string) => string[]): DetExpr {
  return mapLeaves(e, (leaf) => {
    if ("placeholder" in leaf) {
      const f = leaf.placeholder.field;
      if (f === null) return leaf;
      const names = map(f);
      const alts = names.map((n): DetExpr => ({ placeholder: { ...leaf.placeholder, field: n } }));
      return alts.length === 1 ? (alts[0] as DetExpr) : { or: alts };
    }
    if (!("pred" in leaf)) return leaf;
    const { field, op } = leaf.pred;
    const op2 = op.kind === "fieldref" ? { ...op, other: map(op.other)[0] ?? op.other } : op;
    if (field === null) return op2 === op ? leaf : { pred: { field, op: op2 } };
    const names = map(field);
    const alts = names.map((n): DetExpr => ({ pred: { field: n, op: op2 } }));
    return alts.length === 1 ? (alts[0] as DetExpr) : { or: alts };
  });
}

function resolvePlaceholders(e: DetExpr, ph: Placeholders, include: string[] | null): DetExpr {
  return mapLeaves(e, (leaf) => {
    if (!("placeholder" in leaf)) return leaf;
    const { field, value, modifiers } = leaf.placeholder;
    const names = [...value.matchAll(/%([A-Za-z0-9_.-]+)%/g)].map((m) => m[1] as string);
    if (!names.every((n) => ph.has(n) && (include === null || include.includes(n)))) return leaf;
    return compileItem([field ?? "", ...modifiers].join("|"), value, ph);
  });
}

/** A transformation that adds a condition for some logsources: it routes events to rules. */
function isRouting(t: Transformation): boolean {
  return (t.type === "add_condition" || t.type === "add_expr" || t.type === "route_alternatives") && t.ruleConditions.length > 0;
}

/** True when some pipeline routes logsources, so that a rule only sees events of its logsource. */
export function routesLogsources(pipelines: Pipeline[]): boolean {
  return pipelines.some((p) => p.transformations.some(isRouting));
}

/**
 * True when a routing transformation of `pipelines` covers the rule's
 * logsource. Under routing pipelines, a rule whose logsource none of them
 * covers sees no events: the pipelines cannot tell which events are its own.
 * A rule naming only a product the pipelines route is covered without a
 * condition of its own: it sees every event.
 */
export function isRouted(rule: SigmaRule, pipelines: Pipeline[]): boolean {
  const { category, product, service } = rule.logsource;
  // A product-wide rule (no category, no service) sees every event of a product the pipelines route.
  const productWide = product !== null && category === null && service === null;
  return pipelines.some((p) =>
    p.transformations.some(
      (t) => isRouting(t) && (gateOpen(t, rule) || (productWide && t.ruleConditions.some((c) => c.product === product))),
    ),
  );
}

/** Apply pipelines (sorted by priority, stable) to one rule; `ph` adds config placeholder values. */
export function applyPipelines(rule: SigmaRule, pipelines: Pipeline[], ph: Placeholders = new Map()): SigmaRule {
  const sorted = [...pipelines].sort((a, b) => a.priority - b.priority);
  let r = rule;
  for (const p of sorted) {
    const vars: Placeholders = new Map([...ph, ...Object.entries(p.vars)]);
    for (const t of p.transformations) {
      if (!gateOpen(t, r)) continue;
      switch (t.type) {
        case "field_name_mapping":
          r = mapRule(r, (e) => renameFields(e, (f) => t.mapping[f] ?? [f]));
          break;
        case "map_fields":
          r = mapRule(r, (e) => renameFields(e, t.map));
          break;
        case "field_name_prefix":
          r = mapRule(r, (e) => renameFields(e, (f) => [t.prefix + f]));
          break;
        case "add_condition": {
          const items = Object.entries(t.conditions).map(([k, v]) => compileItem(k, v, vars));
          r = { ...r, extra: [...r.extra, items.length === 1 ? (items[0] as DetExpr) : { and: items }] };
          break;
        }
        case "add_expr":
          r = { ...r, extra: [...r.extra, t.expr] };
          break;
        case "value_placeholders":
          r = mapRule(r, (e) => resolvePlaceholders(e, vars, t.include));
          break;
        case "route_alternatives": {
          const base = ruleExpr(r);
          const routed: DetExpr = {
            or: t.alternatives.map((a) => ({ and: [a.condition, renameFields(base, (f) => [a.fieldMapping[f] ?? f])] })),
          };
          r = { ...r, detection: { ...r.detection, searches: new Map([[ROUTED_SEARCH, routed]]), condition: { kind: "id", name: ROUTED_SEARCH } }, extra: [] };
          break;
        }
      }
    }
  }
  return r;
}

// ---------------------------------------------------------------- built-ins

/** The search identifier a `route_alternatives` rule is rewritten to. */
const ROUTED_SEARCH = "__routed";

/** thor.yml's second process_creation source: Security 4688, with its own names for two fields. */
const SECURITY_PROCESS_CREATION = {
  condition: { and: [channelCondition(["Security"]), compileItem("EventID", 4688, new Map())] } as DetExpr,
  fieldMapping: { Image: "NewProcessName", ParentImage: "ParentProcessName" },
};

function sysmonPipeline(): Pipeline {
  const sysmon = WINDOWS_SERVICE_CHANNELS["sysmon"] ?? ["Microsoft-Windows-Sysmon/Operational"];
  const transformations: Transformation[] = [];
  for (const [category, m] of Object.entries(WINDOWS_CATEGORIES)) {
    if (m.service !== "sysmon") continue;
    const sysmonCondition: DetExpr = { and: [channelCondition(sysmon), alternativesExpr(m.alternatives)] };
    if (category === "process_creation") {
      transformations.push({
        id: "sysmon_process_creation",
        ruleConditions: [logsource(category, "windows", null)],
        condOp: "and",
        type: "route_alternatives",
        alternatives: [{ condition: sysmonCondition, fieldMapping: {} }, SECURITY_PROCESS_CREATION],
      });
      continue;
    }
    transformations.push({
      id: `sysmon_${category}`,
      ruleConditions: [logsource(category, "windows", null)],
      condOp: "and",
      type: "add_expr",
      expr: { and: [channelCondition(sysmon), alternativesExpr(m.alternatives)] },
    });
  }
  transformations.push({ id: "sysmon_service", ruleConditions: [logsource(null, "windows", "sysmon")], condOp: "and", type: "add_expr", expr: channelCondition(sysmon) });
  return { name: "sysmon", priority: 10, vars: {}, transformations };
}

function windowsPipeline(): Pipeline {
  const transformations: Transformation[] = [];
  for (const [service, channels] of Object.entries(WINDOWS_SERVICE_CHANNELS)) {
    transformations.push({ id: `windows_${service}`, ruleConditions: [logsource(null, "windows", service)], condOp: "and", type: "add_expr", expr: channelCondition(channels) });
  }
  for (const [category, m] of Object.entries(WINDOWS_CATEGORIES)) {
    if (m.service === "sysmon") continue;
    const channels = WINDOWS_SERVICE_CHANNELS[m.service] ?? [];
    const gate = { ruleConditions: [logsource(category, null, null)], condOp: "and" as const };
    transformations.push({ id: `windows_${category}`, ...gate, type: "add_expr", expr: { and: [channelCondition(channels), alternativesExpr(m.alternatives)] } });
    const fm = m.fieldMapping;
    if (fm !== undefined) {
      transformations.push({ id: `windows_${category}_fields`, ...gate, type: "field_name_mapping", mapping: Object.fromEntries(Object.entries(fm).map(([k, v]) => [k, [v]])) });
    }
  }
  return { name: "windows", priority: 10, vars: {}, transformations };
}

/** Winlogbeat: System fields under `winlog.*`, EventData under `winlog.event_data.*`, ECS names for the common process fields (both spellings ORed). */
const ECS_SYSTEM: Record<string, string> = {
  EventID: "winlog.event_id",
  Channel: "winlog.channel",
  System_Channel: "winlog.channel",
  Computer: "winlog.computer_name",
  Provider_Name: "winlog.provider_name",
  Task: "winlog.task",
  Opcode: "winlog.opcode",
  Level: "log.level",
  EventRecordID: "winlog.record_id",
};
const ECS_FIELDS: Record<string, string> = {
  CommandLine: "process.command_line",
  Image: "process.executable",
  ProcessId: "process.pid",
  CurrentDirectory: "process.working_directory",
  ParentImage: "process.parent.executable",
  ParentCommandLine: "process.parent.command_line",
  ParentProcessId: "process.parent.pid",
  OriginalFileName: "process.pe.original_file_name",
  Hashes: "process.hash",
  User: "user.name",
  DestinationIp: "destination.ip",
  DestinationPort: "destination.port",
  DestinationHostname: "destination.domain",
  SourceIp: "source.ip",
  SourcePort: "source.port",
  TargetFilename: "file.path",
  TargetObject: "registry.path",
  QueryName: "dns.question.name",
  ImageLoaded: "file.path",
};

export function ecsFieldNames(field: string): string[] {
  const sys = ECS_SYSTEM[field];
  if (sys !== undefined) return [sys];
  if (field.includes(".")) return [field];
  const ecs = ECS_FIELDS[field];
  const raw = `winlog.event_data.${field}`;
  return ecs === undefined ? [raw] : [ecs, raw];
}

function ecsPipeline(): Pipeline {
  return { name: "ecs", priority: 20, vars: {}, transformations: [{ ...ALWAYS, id: "ecs_winlogbeat", type: "map_fields", map: ecsFieldNames }] };
}

export const BUILTIN_PIPELINES: Record<string, () => Pipeline> = { sysmon: sysmonPipeline, windows: windowsPipeline, ecs: ecsPipeline };

// ---------------------------------------------------------------- YAML

export class PipelineError extends Error {}

function perr(where: string, msg: string): never {
  throw new PipelineError(`${where}: ${msg}`);
}

function strList(v: unknown, where: string): string[] {
  const xs = Array.isArray(v) ? v : [v];
  if (xs.some((x) => typeof x !== "string")) perr(where, "expected a string or a list of strings");
  return xs as string[];
}

/** Parse a pySigma-style YAML pipeline. */
export function parsePipeline(text: string, where: string): Pipeline {
  let doc: unknown;
  try {
    doc = load(text);
  } catch (e) {
    perr(where, (e as Error).message);
  }
  if (!isMap(doc)) perr(where, "a pipeline must be a map");
  const ts = doc["transformations"];
  if (!Array.isArray(ts)) perr(where, "'transformations' must be a list");
  const vars: Record<string, string[]> = {};
  if (isMap(doc["vars"])) for (const [k, v] of Object.entries(doc["vars"])) vars[k] = strList(Array.isArray(v) ? v.map(String) : String(v), `${where} vars.${k}`);
  const transformations = ts.map((t, i): Transformation => {
    const w = `${where} transformations[${i}]`;
    if (!isMap(t)) perr(w, "must be a map");
    const conds = t["rule_conditions"] ?? [];
    if (!Array.isArray(conds)) perr(w, "'rule_conditions' must be a list");
    const ruleConditions = conds.map((c, j): LogsourceCondition => {
      if (!isMap(c) || c["type"] !== "logsource") perr(`${w} rule_conditions[${j}]`, `unsupported rule condition ${JSON.stringify(isMap(c) ? c["type"] : c)} (only 'logsource')`);
      const s = (k: string): string | null => (typeof c[k] === "string" ? (c[k] as string) : null);
      return logsource(s("category"), s("product"), s("service"));
    });
    const op = t["rule_cond_op"] ?? "and";
    if (op !== "and" && op !== "or") perr(w, "'rule_cond_op' must be and or or");
    const gate: Gate = { id: typeof t["id"] === "string" ? t["id"] : null, ruleConditions, condOp: op };
    switch (t["type"]) {
      case "field_name_mapping": {
        if (!isMap(t["mapping"])) perr(w, "'mapping' must be a map");
        const mapping: Record<string, string[]> = {};
        for (const [k, v] of Object.entries(t["mapping"])) mapping[k] = strList(v, `${w} mapping.${k}`);
        return { ...gate, type: "field_name_mapping", mapping };
      }
      case "field_name_prefix":
        if (typeof t["prefix"] !== "string") perr(w, "'prefix' must be a string");
        return { ...gate, type: "field_name_prefix", prefix: t["prefix"] };
      case "add_condition":
        if (!isMap(t["conditions"])) perr(w, "'conditions' must be a map");
        return { ...gate, type: "add_condition", conditions: t["conditions"] };
      case "value_placeholders":
        return { ...gate, type: "value_placeholders", include: t["include"] === undefined ? null : strList(t["include"], `${w} include`) };
      default:
        return perr(w, `unsupported transformation type ${JSON.stringify(t["type"])} (supported: field_name_mapping, field_name_prefix, add_condition, value_placeholders)`);
    }
  });
  // Validate add_condition values now, so a bad pipeline fails at load, not per rule.
  for (const t of transformations) {
    if (t.type === "add_condition") {
      for (const [k, v] of Object.entries(t.conditions)) {
        try {
          compileItem(k, v, new Map(Object.entries(vars)));
        } catch (e) {
          perr(where, e instanceof RuleCompileError ? e.message : String(e));
        }
      }
    }
  }
  const name = typeof doc["name"] === "string" ? doc["name"] : where;
  const priority = typeof doc["priority"] === "number" ? doc["priority"] : 0;
  return { name, priority, vars, transformations };
}

/** Built-in names (sysmon, windows, ecs) or YAML file paths → pipelines. Throws PipelineError with the name or path. */
export function loadPipelines(names: string[]): Pipeline[] {
  return names.map((n) => {
    const builtin = BUILTIN_PIPELINES[n];
    if (builtin !== undefined) return builtin();
    let text: string;
    try {
      text = readFileSync(n, "utf8");
    } catch (e) {
      throw new PipelineError(`pipeline '${n}' is neither a built-in (${Object.keys(BUILTIN_PIPELINES).join(", ")}) nor a readable file: ${(e as Error).message}`);
    }
    return parsePipeline(text, n);
  });
}
