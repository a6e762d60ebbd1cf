/**
 * The NDJSON records sigma writes: one match record per (event, rule) and one
 * dead-letter record per rejected input. Every NDJSON or Kafka sink renders
 * through here, so the record format has one definition (DESIGN.md "Records").
 *
 * Match record: {"rule":{id,title,level,status,tags},"event":<the event>,
 *   "source":<position>,"time":{"detected":<ISO>}}.
 * Dead-letter record: {"source":<position>,"reason":<why>,"raw":<input text>}.
 */

import type { DeadLetter, EvalResult, RuleMeta } from "./result.ts";

const ruleHeaders = new WeakMap<RuleMeta, string>();

function ruleHeader(rule: RuleMeta): string {
  let header = ruleHeaders.get(rule);
  if (header === undefined) {
    header = JSON.stringify({
      id: rule.id,
      title: rule.title,
      level: rule.level,
      status: rule.status,
      tags: rule.tags,
    });
    ruleHeaders.set(rule, header);
  }
  return header;
}

/** Renders match `index` of `result` (an index into matchRows/matchRules). */
export function matchRecord(result: EvalResult, index: number, detectedAt: string): string {
  const row = result.matchRows[index] ?? 0;
  const rule = result.rules[result.matchRules[index] ?? 0];
  if (rule === undefined) throw new RangeError(`match ${index} names an unknown rule`);
  const source = JSON.stringify(result.batch.origin.position(row));
  return `{"rule":${ruleHeader(rule)},"event":${result.eventJson(row)},"source":${source},"time":{"detected":"${detectedAt}"}}`;
}

export function deadLetterRecord(result: EvalResult, dead: DeadLetter): string {
  return JSON.stringify({
    source: result.batch.origin.position(dead.row),
    reason: dead.reason,
    raw: result.rawInput(dead.row),
  });
}

/** All match records of a batch, newline-terminated, as one string. */
export function matchLines(result: EvalResult): string {
  const detectedAt = new Date().toISOString();
  let out = "";
  for (let i = 0; i < result.matchRows.length; i++) out += matchRecord(result, i, detectedAt) + "\n";
  return out;
}

export function deadLetterLines(result: EvalResult): string {
  let out = "";
  for (const dead of result.deadLetters) out += deadLetterRecord(result, dead) + "\n";
  return out;
}
