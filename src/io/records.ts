/**
 * The NDJSON records sigma writes: one match record per (event, rule) and one
 * dead-letter record per rejected input. Every NDJSON or Kafka sink renders
 * through here, so the record format has one definition (DESIGN.md "Records").
 *
 * Match record: {"rule":{id,title,level,status,tags},"event":<the event>,
 *   "source":<position>,"time":{"detected":<ISO>}}.
 * Dead-letter record: {"source":<position>,"reason":<why>,"raw":<input text>}.
 */

import type { RuleHeader } from "../plan/types.ts";
import type { DeadLetter, EvalResult } from "./result.ts";

const ruleHeaders = new WeakMap<RuleHeader, string>();

function ruleHeader(rule: RuleHeader): string {
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

const encoder = new TextEncoder();
const recordPrefixes = new WeakMap<RuleHeader, Uint8Array>();

/** `{"rule":<header>,"event":` as UTF-8: the bytes every match record of `rule` starts with. */
function recordPrefix(rule: RuleHeader): Uint8Array {
  let prefix = recordPrefixes.get(rule);
  if (prefix === undefined) {
    prefix = encoder.encode(`{"rule":${ruleHeader(rule)},"event":`);
    recordPrefixes.set(rule, prefix);
  }
  return prefix;
}

/**
 * Every match record of `result` as UTF-8 bytes, byte for byte what
 * `matchRecord` renders, each a view of one buffer allocated for the batch.
 * For sinks that send one message per record (Kafka): the event's own bytes
 * are copied once instead of decoded into a string, concatenated and encoded
 * back, which cost more than the broker round trips on large events.
 */
export function matchRecordBuffers(result: EvalResult, detectedAt: string): Buffer[] {
  const count = result.matchRows.length;
  const suffix = encoder.encode(`,"time":{"detected":"${detectedAt}"}}`);
  const prefixes = new Array<Uint8Array>(count);
  const events = new Array<Uint8Array>(count);
  const sources = new Array<string>(count);
  let total = 0;
  for (let i = 0; i < count; i++) {
    const row = result.matchRows[i] ?? 0;
    const rule = result.rules[result.matchRules[i] ?? 0];
    if (rule === undefined) throw new RangeError(`match ${i} names an unknown rule`);
    const prefix = recordPrefix(rule);
    const event = result.eventBytes?.(row) ?? encoder.encode(result.eventJson(row));
    const source = `,"source":${JSON.stringify(result.batch.origin.position(row))}`;
    prefixes[i] = prefix;
    events[i] = event;
    sources[i] = source;
    total += prefix.byteLength + event.byteLength + Buffer.byteLength(source) + suffix.byteLength;
  }
  const out = Buffer.allocUnsafe(total);
  const records = new Array<Buffer>(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const start = at;
    const prefix = prefixes[i] as Uint8Array;
    const event = events[i] as Uint8Array;
    out.set(prefix, at);
    at += prefix.byteLength;
    out.set(event, at);
    at += event.byteLength;
    at += out.write(sources[i] as string, at, "utf8");
    out.set(suffix, at);
    at += suffix.byteLength;
    records[i] = out.subarray(start, at);
  }
  return records;
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
