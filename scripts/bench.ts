/**
 * `npm run bench`: builds dist/sigma when it is missing, then runs every
 * benchmark under bench/ in sequence, one block per bench, and ends with one
 * line per bench (ok, FAILED, or skipped). Names select a subset:
 * `npm run bench -- pipeline micro`. Each bench checks its own answers and
 * exits non-zero on a wrong count; this script exits non-zero if any did.
 *
 * Benches: pipeline (binary JSON path, Arrow path, scaling, baselines),
 * micro (mitata per stage), kafka (needs Java for the broker), flight.
 */

import { spawn } from "bun";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const bun = process.execPath;
const ORDER = ["pipeline", "micro", "kafka", "flight"];
const available = readdirSync(join(root, "bench"))
  .filter((f) => f.endsWith(".ts"))
  .map((f) => f.slice(0, -3))
  .sort((a, b) => (ORDER.indexOf(a) + 1 || 99) - (ORDER.indexOf(b) + 1 || 99) || a.localeCompare(b));
const asked = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const unknown = asked.filter((a) => !available.includes(a));
if (unknown.length > 0) {
  console.error(`bench: unknown bench ${unknown.join(", ")}; available: ${available.join(", ")}`);
  process.exit(2);
}
const selected = asked.length > 0 ? asked : available;

if (!existsSync(join(root, "dist/sigma"))) {
  console.log("bench: dist/sigma is missing, building it (npm run build)");
  const build = spawn([bun, "scripts/build.ts"], { cwd: root, stdout: "inherit", stderr: "inherit" });
  if ((await build.exited) !== 0) {
    console.error("bench: the build failed");
    process.exit(1);
  }
}

const outcomes: string[] = [];
let failed = false;
const started = performance.now();
for (const name of selected) {
  console.log(`\n==== bench/${name}.ts ====`);
  const t = performance.now();
  const child = spawn([bun, `bench/${name}.ts`], { cwd: root, stdout: "pipe", stderr: "inherit" });
  let skipped = false;
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    const text = decoder.decode(chunk, { stream: true });
    if (/: skipped: /.test(text)) skipped = true;
    process.stdout.write(text);
  }
  const code = await child.exited;
  const seconds = ((performance.now() - t) / 1000).toFixed(0);
  if (code !== 0) failed = true;
  outcomes.push(`${name}: ${code !== 0 ? `FAILED (exit ${code})` : skipped ? "skipped" : "ok"} in ${seconds} s`);
}
console.log(`\n==== bench summary (${((performance.now() - started) / 60000).toFixed(1)} min) ====`);
for (const line of outcomes) console.log(line);
process.exit(failed ? 1 : 0);
