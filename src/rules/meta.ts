/**
 * Reads the metadata every Sigma document shares (title, id, name, level,
 * status, tags, logsource) from a YAML document, with type checks that turn
 * malformed values into structure errors.
 */

import type { Level } from "../plan/types.ts";
import type { LogSource, RuleMeta } from "./ast.ts";
import { RuleCompileError } from "./ast.ts";
import { isMap } from "./detection.ts";

const LEVELS = new Set<string>(["informational", "low", "medium", "high", "critical"]);

function optString(doc: Record<string, unknown>, key: string): string | null {
  const v = doc[key];
  if (v === undefined || v === null) return null;
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(v);
  throw new RuleCompileError("structure", `'${key}' must be a string`);
}

export function readLogsource(v: unknown): LogSource {
  if (v === undefined || v === null) return { category: null, product: null, service: null };
  if (!isMap(v)) throw new RuleCompileError("structure", "'logsource' must be a map");
  return { category: optString(v, "category"), product: optString(v, "product"), service: optString(v, "service") };
}

export function readMeta(doc: Record<string, unknown>, path: string): RuleMeta {
  const title = optString(doc, "title");
  if (title === null) throw new RuleCompileError("structure", "missing 'title'");
  const levelText = optString(doc, "level");
  if (levelText !== null && !LEVELS.has(levelText)) throw new RuleCompileError("structure", `unknown level '${levelText}'`);
  const tagsRaw = doc["tags"] ?? [];
  if (!Array.isArray(tagsRaw) || tagsRaw.some((t) => typeof t !== "string")) throw new RuleCompileError("structure", "'tags' must be a list of strings");
  return {
    id: optString(doc, "id"),
    title,
    name: optString(doc, "name"),
    level: levelText as Level | null,
    status: optString(doc, "status"),
    tags: tagsRaw as string[],
    logsource: readLogsource(doc["logsource"]),
    path,
  };
}

/** The id and title of a document, best effort, for error reports. */
export function peekIdTitle(doc: unknown): { id: string | null; title: string | null } {
  if (!isMap(doc)) return { id: null, title: null };
  const id = typeof doc["id"] === "string" ? doc["id"] : null;
  const title = typeof doc["title"] === "string" ? doc["title"] : null;
  return { id, title };
}
