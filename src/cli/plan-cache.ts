/**
 * The compiled-plan cache: a rule set that has not changed since the last
 * start skips YAML parsing and planning and goes straight to the engine.
 *
 * The key is a SHA-256 over everything that decides the plan: the sigma
 * build (version, and the executable's or the compiler sources' size and
 * modification time), every rule file's path, size and modification time,
 * the pipelines, placeholders, selection and engine options. Any change
 * misses. Entries are written atomically (temp file, then rename); the
 * directory keeps the `MAX_ENTRIES` most recently used entries. A cache that
 * cannot be read or written is skipped, never fatal.
 */

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import packageJson from "../../package.json" with { type: "json" };
import type { SerializedPlan } from "../plan/types.ts";
import type { RuleError } from "../rules/ast.ts";
import { listRuleFiles } from "../rules/load.ts";
import { log } from "../telemetry/log.ts";
import type { RuleSetOptions } from "./ruleset.ts";

const MAX_ENTRIES = 8;
/** Bumped whenever `CachedRuleSet` changes shape (2: the logical plan is no longer kept). */
const FORMAT = 2;

/** What a run needs from a compiled rule set (`explain` compiles from the rules). */
export interface CachedRuleSet {
  plan: SerializedPlan;
  passLog: string[];
  rejected: RuleError[];
  warnings: RuleError[];
}

export function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "sigma", "plans");
}

function fingerprint(path: string): string {
  const st = statSync(path);
  return `${path}\u0000${st.size}\u0000${st.mtimeMs}`;
}

/** What identifies this build of the compiler: the executable, or the compiler sources when run from source. */
function buildFingerprint(): string {
  const parts = [packageJson.version, fingerprint(process.execPath)];
  const sources = join(import.meta.dir, "..");
  for (const dir of ["rules", "plan", "cli"]) {
    const folder = join(sources, dir);
    if (!existsSync(folder)) continue;
    for (const name of readdirSync(folder).sort()) parts.push(fingerprint(join(folder, name)));
  }
  return parts.join("\n");
}

export function ruleSetKey(options: RuleSetOptions): string {
  const hash = createHash("sha256");
  hash.update(`${FORMAT}\n${buildFingerprint()}\n`);
  for (const path of options.paths) {
    for (const file of listRuleFiles(path)) hash.update(fingerprint(file) + "\n");
  }
  hash.update(
    JSON.stringify({
      pipelines: options.pipelines,
      placeholders: options.placeholders,
      selection: options.selection,
      engine: options.engine,
    }),
  );
  return hash.digest("hex");
}

export function readCachedRuleSet(dir: string, key: string): CachedRuleSet | null {
  const path = join(dir, `${key}.json`);
  try {
    if (!existsSync(path)) return null;
    const cached = JSON.parse(readFileSync(path, "utf8")) as CachedRuleSet;
    const now = new Date();
    utimesSync(path, now, now);
    return cached;
  } catch (error) {
    log.warn("plan_cache.unreadable", { path, error });
    return null;
  }
}

export function writeCachedRuleSet(dir: string, key: string, value: CachedRuleSet): void {
  try {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `${key}.json`);
    const temp = `${path}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(value));
    renameSync(temp, path);
    const entries = readdirSync(dir)
      .filter((name) => name.endsWith(".json"))
      .map((name) => ({ name, used: statSync(join(dir, name)).mtimeMs }))
      .sort((a, b) => b.used - a.used);
    for (const stale of entries.slice(MAX_ENTRIES)) rmSync(join(dir, stale.name), { force: true });
  } catch (error) {
    log.warn("plan_cache.unwritable", { dir, error });
  }
}
