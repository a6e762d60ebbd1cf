/**
 * Loads Sigma YAML from a file or a directory tree (`.yml`/`.yaml`, sorted
 * paths for determinism) into detection rules, correlation rules and
 * filters. A multi-document file follows the Sigma collection convention:
 * `action: global` sets a document merged into every following document,
 * `action: reset` clears it, `action: repeat` reuses the previous document
 * with this one merged over it. Every document that fails (YAML error,
 * missing detection, unknown modifier, bad condition, bad regex, unresolved
 * placeholder, ...) becomes a `RuleError` and everything else still loads.
 * Pipelines (field mapping, logsource conditions, placeholder values) are
 * applied here, before placeholders are checked.
 */

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { loadAll } from "js-yaml";
import type { RuleError, SigmaCorrelation, SigmaFilter, SigmaRule } from "./ast.ts";
import { RuleCompileError } from "./ast.ts";
import { parseCorrelation } from "./correlation.ts";
import { isMap, parseDetection } from "./detection.ts";
import { parseFilter } from "./filter.ts";
import { peekIdTitle, readMeta } from "./meta.ts";
import type { Placeholders } from "./modifiers.ts";
import { applyPipelines, isRouted, routesLogsources, type Pipeline } from "./pipeline.ts";
import { mapLeaves, mapRule, rulePlaceholders } from "./walk.ts";

export interface LoadOptions {
  /** Placeholder values for `expand` (`%name%` → values); pipelines may add more. */
  placeholders?: Record<string, string[]>;
  /** Processing pipelines applied to each detection rule, in order. */
  pipelines?: Pipeline[];
}

export interface LoadResult {
  rules: SigmaRule[];
  correlations: SigmaCorrelation[];
  filters: SigmaFilter[];
  errors: RuleError[];
  /** Loaded with a caveat: YAML files that are not rules, placeholders without values. */
  warnings: RuleError[];
}

/** Every .yml/.yaml file under `path` (or `path` itself), sorted. */
export function listRuleFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  const out: string[] = [];
  const walk = (dir: string): void => {
    // withFileTypes: the entry types come with the listing, no stat per file.
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if ((entry.isFile() || (entry.isSymbolicLink() && statSync(p).isFile())) && /\.ya?ml$/i.test(entry.name)) out.push(p);
    }
  };
  walk(path);
  return out.sort();
}

/** Load every rule under each path (files or directories). */
export function loadRules(paths: string | string[], opts: LoadOptions = {}): LoadResult {
  const result: LoadResult = { rules: [], correlations: [], filters: [], errors: [], warnings: [] };
  const files: string[] = [];
  for (const p of Array.isArray(paths) ? paths : [paths]) {
    try {
      files.push(...listRuleFiles(p));
    } catch (e) {
      result.errors.push({ path: p, id: null, title: null, code: "io", message: (e as Error).message });
    }
  }
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, "utf8");
    } catch (e) {
      result.errors.push({ path: f, id: null, title: null, code: "io", message: (e as Error).message });
      continue;
    }
    loadText(text, f, opts, result);
  }
  return result;
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (isMap(base) && isMap(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = k in out ? deepMerge(out[k], v) : v;
    return out;
  }
  return over;
}

/** Expand the multi-document convention into the effective documents. */
export function effectiveDocuments(docs: unknown[]): unknown[] {
  let global: unknown = null;
  let previous: unknown = null;
  const out: unknown[] = [];
  for (const d of docs) {
    if (d === null || d === undefined) continue;
    const action = isMap(d) ? d["action"] : undefined;
    const body = isMap(d) ? Object.fromEntries(Object.entries(d).filter(([k]) => k !== "action")) : d;
    if (action === "global") {
      global = body;
      continue;
    }
    if (action === "reset") {
      global = null;
      continue;
    }
    let doc: unknown = action === "repeat" ? deepMerge(previous, body) : body;
    if (action !== "repeat" && global !== null) doc = deepMerge(global, doc);
    previous = doc;
    out.push(doc);
  }
  return out;
}

/** Load the documents of one YAML text into `result`. */
export function loadText(text: string, path: string, opts: LoadOptions, result: LoadResult): void {
  let docs: unknown[];
  try {
    docs = loadAll(text);
  } catch (e) {
    result.errors.push({ path, id: null, title: null, code: "yaml", message: (e as Error).message });
    return;
  }
  const ph: Placeholders = new Map(Object.entries(opts.placeholders ?? {}));
  for (const doc of effectiveDocuments(docs)) {
    const { id, title } = peekIdTitle(doc);
    try {
      if (!isMap(doc)) throw new RuleCompileError("structure", "document is not a map");
      if ("correlation" in doc) {
        result.correlations.push(parseCorrelation(doc, path));
      } else if ("filter" in doc) {
        result.filters.push(parseFilter(doc, path, ph));
      } else {
        if (!("detection" in doc) && !("logsource" in doc) && !("id" in doc)) {
          // A YAML file beside the rules that is not one (a backend config such as thor.yml).
          result.warnings.push({ path, id, title, code: "structure", message: "not a Sigma rule (no id, detection, logsource, correlation or filter): skipped" });
          continue;
        }
        if (!("detection" in doc)) throw new RuleCompileError("structure", "missing 'detection' section");
        const meta = readMeta(doc, path);
        let rule: SigmaRule = { ...meta, kind: "rule", detection: parseDetection(doc["detection"], ph), extra: [] };
        if (opts.pipelines !== undefined && opts.pipelines.length > 0) {
          if (routesLogsources(opts.pipelines) && !isRouted(rule, opts.pipelines)) {
            const ls = Object.entries(rule.logsource).filter(([, v]) => v !== null).map(([k, v]) => `${k}=${v}`).join(" ");
            result.warnings.push({
              path, id, title, code: "pipeline",
              message: `logsource ${ls || "(none)"} is not routed by the pipelines ${opts.pipelines.map((p) => p.name).join(", ")}: the rule sees no events`,
            });
            rule = { ...rule, extra: [...rule.extra, { const: false }] };
          }
          rule = applyPipelines(rule, opts.pipelines, ph);
        }
        const missing = rulePlaceholders(rule);
        if (missing.length > 0) {
          // A placeholder without values is an empty value list: it matches nothing, so a
          // positive selection never fires and an allow-list filter excludes nothing.
          const names = [...new Set(missing.flatMap((p) => [...p.value.matchAll(/%([A-Za-z0-9_.-]+)%/g)].map((m) => m[1])))];
          rule = mapRule(rule, (e) => mapLeaves(e, (leaf) => ("placeholder" in leaf ? { const: false } : leaf)));
          result.warnings.push({
            path, id, title, code: "placeholder",
            message: `placeholder(s) ${names.map((n) => `%${n}%`).join(", ")} have no values and match nothing: supply --placeholder name=value or a pipeline`,
          });
        }
        result.rules.push(rule);
      }
    } catch (e) {
      if (e instanceof RuleCompileError) result.errors.push({ path, id, title, code: e.code, message: e.message });
      else result.errors.push({ path, id, title, code: "structure", message: `internal error: ${(e as Error).message}` });
    }
  }
}
