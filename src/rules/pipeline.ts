/** Processing pipelines (stub; filled in below). */
import type { SigmaRule } from "./ast.ts";
import type { Placeholders } from "./modifiers.ts";
export interface Pipeline { name: string }
export function applyPipelines(rule: SigmaRule, _p: Pipeline[], _ph?: Placeholders): SigmaRule {
  return rule;
}
