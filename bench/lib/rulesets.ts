/**
 * Rule sets for the scaling runs, written under the OS temp dir (never into
 * the repo): an evenly strided sample of N rule files of the SigmaHQ tree, or
 * the whole tree repeated until it holds N rules, every repeat with fresh
 * deterministic rule ids so no rule is a duplicate of another.
 *
 * Each set comes with the rule files it copied, so the caller can derive the
 * expected rule and match counts from the full-tree reference run.
 */

import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { listRuleFiles } from "../../src/rules/load.ts";
import { SCRATCH } from "./corpus.ts";

export interface RuleSetCopy {
  dir: string;
  /** The original file behind each copy, in copy order (a file appears once per repeat). */
  sources: string[];
}

export function ruleFiles(dirs: readonly string[]): string[] {
  return dirs.flatMap((d) => listRuleFiles(d));
}

function freshId(id: string, repeat: number): string {
  const h = createHash("sha1").update(`${id}/${repeat}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function write(name: string, files: readonly { source: string; repeat: number }[]): RuleSetCopy {
  const dir = join(SCRATCH, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  files.forEach(({ source, repeat }, i) => {
    let text = readFileSync(source, "utf8");
    if (repeat > 0) text = text.replace(/^id:[ \t]*['"]?([^\s'"]+)['"]?[ \t]*$/gm, (_m, id: string) => `id: ${freshId(id, repeat)}`);
    writeFileSync(join(dir, `${String(i).padStart(5, "0")}-${basename(source)}`), text);
  });
  return { dir, sources: files.map((f) => f.source) };
}

/** `count` files taken at an even stride from `files`. */
export function sampleRuleSet(name: string, files: readonly string[], count: number): RuleSetCopy {
  const picked: { source: string; repeat: number }[] = [];
  for (let i = 0; i < Math.min(count, files.length); i++) {
    const source = files[Math.floor((i * files.length) / count)];
    if (source !== undefined) picked.push({ source, repeat: 0 });
  }
  return write(name, picked);
}

/** The files repeated (fresh ids from the second repeat on) until they hold `rules` rules. */
export function repeatedRuleSet(name: string, files: readonly string[], rulesPerFile: Map<string, number>, rules: number): RuleSetCopy {
  const picked: { source: string; repeat: number }[] = [];
  let total = 0;
  for (let repeat = 0; total < rules; repeat++) {
    for (const source of files) {
      if (total >= rules) break;
      const n = rulesPerFile.get(source) ?? 0;
      if (n === 0) continue;
      picked.push({ source, repeat });
      total += n;
    }
  }
  return write(name, picked);
}
