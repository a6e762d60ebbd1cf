/**
 * Load-time rule selection by metadata: minimum level, status, tags, and
 * include/exclude by id or path. Selection happens before planning, so an
 * excluded rule costs nothing at run time. A correlation or filter is kept
 * or dropped by the same tests as a detection rule.
 */

import type { Level } from "../plan/types.ts";
import type { RuleMeta } from "./ast.ts";

export const LEVELS: readonly Level[] = ["informational", "low", "medium", "high", "critical"];

export interface RuleSelection {
  minLevel: Level | null;
  statuses: string[];
  /** A rule is kept when it has at least one of these tags (case-insensitive). */
  tags: string[];
  includeIds: string[];
  excludeIds: string[];
  /** Substrings of rule paths. */
  includePaths: string[];
  excludePaths: string[];
}

export const SELECT_ALL: RuleSelection = {
  minLevel: null,
  statuses: [],
  tags: [],
  includeIds: [],
  excludeIds: [],
  includePaths: [],
  excludePaths: [],
};

export function isSelected(rule: RuleMeta, selection: RuleSelection): boolean {
  if (selection.minLevel !== null) {
    const level = rule.level === null ? -1 : LEVELS.indexOf(rule.level);
    if (level < LEVELS.indexOf(selection.minLevel)) return false;
  }
  if (selection.statuses.length > 0 && (rule.status === null || !selection.statuses.includes(rule.status))) return false;
  if (selection.tags.length > 0) {
    const tags = new Set(rule.tags.map((t) => t.toLowerCase()));
    if (!selection.tags.some((t) => tags.has(t.toLowerCase()))) return false;
  }
  if (selection.includeIds.length > 0 && (rule.id === null || !selection.includeIds.includes(rule.id))) return false;
  if (rule.id !== null && selection.excludeIds.includes(rule.id)) return false;
  if (selection.includePaths.length > 0 && !selection.includePaths.some((p) => rule.path.includes(p))) return false;
  if (selection.excludePaths.some((p) => rule.path.includes(p))) return false;
  return true;
}
