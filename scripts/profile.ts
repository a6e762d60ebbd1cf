/**
 * `npm run profile`: one profiled run of the compiled binary over a slice of
 * the shared corpus (default the first 50k events of windows_otrf_atomic)
 * with the full SigmaHQ tree, written to .cache/profile/:
 *
 * - perf.data + flame.svg (inferno, installed into .cache/inferno by
 *   `cargo install` when missing) + stacks.folded: `perf record -e cpu-clock
 *   -g` of dist/sigma with BUN_JSC_useJITDump=1, the JITDump converted to
 *   /tmp/perf-<pid>.map so JS frames are named beside Rust frames (the
 *   release addon keeps line tables) and the runtime's;
 * - a Bun --cpu-prof profile (.cpuprofile, and its markdown summary) of
 *   `bun src/main.ts` on the same input, for the JS side alone;
 * - on stdout: samples by side (JS, Rust, runtime, kernel), the top leaf
 *   symbols, and the time per stage split into JS, boundary and Rust from
 *   engine.stats().
 *
 * perf needs a kernel that allows it (perf_event_paranoid); hardware
 * counters are often absent in VMs, so the software cpu-clock event is used.
 * When perf cannot record, the script says so and keeps the other outputs.
 *
 *   bun scripts/profile.ts [--events 50000]
 */

import { spawn, spawnSync } from "bun";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { atomicSliceFile, chunks, fullTreeDirs, inputsMissing, PIPELINES, skip } from "../bench/lib/corpus.ts";
import { describeMachine } from "../bench/lib/machine.ts";
import { jitDumpsToPerfMaps } from "../bench/profile/jitdump.ts";
import { stageSplit } from "../bench/profile/stages.ts";
import { foldedText, foldPerfScript } from "../bench/profile/stacks.ts";
import { compileTimed } from "../bench/lib/reference.ts";

const root = join(import.meta.dir, "..");
const out = join(root, ".cache/profile");
const at = process.argv.indexOf("--events");
const events = at === -1 ? 50_000 : Number(process.argv[at + 1]);
const binary = join(root, "dist/sigma");

const missing = inputsMissing();
if (missing !== undefined) skip("profile", missing);
if (!existsSync(binary)) {
  const build = spawnSync([process.execPath, "scripts/build.ts"], { cwd: root, stdout: "inherit", stderr: "inherit" });
  if (build.exitCode !== 0) process.exit(1);
}
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "jit"), { recursive: true });
const slice = atomicSliceFile(events);
const dirs = fullTreeDirs();
const sigmaArgs = [
  ...dirs.flatMap((d) => ["--rules", d]), ...PIPELINES.flatMap((p) => ["--pipeline", p]),
  "--events", slice, "--out", "/dev/null", "--quiet",
];
console.log(`machine: ${describeMachine()}`);
console.log(`input: first ${events.toLocaleString("en-US")} events of windows_otrf_atomic (${slice}); rules: ${dirs.join(", ")}`);

function run(cmd: string[], env: Record<string, string> = {}): { code: number; stderr: string } {
  const child = spawnSync(cmd, { cwd: root, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: child.exitCode ?? 1, stderr: child.stderr.toString() };
}

function inferno(): string | undefined {
  const bin = join(root, ".cache/inferno/bin");
  if (!existsSync(join(bin, "inferno-flamegraph"))) {
    console.log("installing inferno into .cache/inferno (cargo install inferno; a few minutes once)...");
    if (run(["cargo", "install", "--locked", "inferno", "--root", join(root, ".cache/inferno")]).code !== 0) return undefined;
  }
  return bin;
}

// 1. perf record of the binary, with JS frames named through the JITDump → perf map bridge.
const perfProbe = run(["perf", "record", "-e", "cpu-clock", "-o", "/dev/null", "--", "true"]);
if (perfProbe.code !== 0) {
  console.log(`perf is unavailable here (${perfProbe.stderr.trim().split("\n").pop() ?? "no perf"}); install linux-perf or lower kernel.perf_event_paranoid. Falling back to --cpu-prof and engine stats only.`);
} else {
  const perfData = join(out, "perf.data");
  const rec = run(
    ["perf", "record", "-e", "cpu-clock", "-F", "997", "-g", "-k", "1", "-o", perfData, "--", binary, ...sigmaArgs],
    { BUN_JSC_useJITDump: "1", BUN_JSC_jitDumpDirectory: join(out, "jit") },
  );
  if (rec.code !== 0) console.log(`perf record failed: ${rec.stderr.slice(-2000)}`);
  else {
    const maps = jitDumpsToPerfMaps(join(out, "jit"));
    const script = spawnSync(["perf", "script", "-i", perfData, "-F", "comm,tid,time,ip,sym,dso"], { cwd: root, stdout: "pipe", stderr: "pipe" });
    const folded = foldPerfScript(script.stdout.toString());
    writeFileSync(join(out, "stacks.folded"), foldedText(folded));
    console.log(`\nperf: ${folded.samples} cpu-clock samples at 997 Hz; JIT perf maps: ${maps.join(", ") || "none (no JITDump written)"}`);
    console.log("samples by where the leaf frame runs:");
    for (const [side, n] of [...folded.bySide].sort((a, b) => b[1] - a[1])) {
      console.log(`  ${side.padEnd(16)} ${((100 * n) / Math.max(folded.samples, 1)).toFixed(1).padStart(5)}%  (${n})`);
    }
    console.log("top leaf symbols (self time):");
    for (const [symbol, n] of [...folded.bySelf].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
      console.log(`  ${((100 * n) / Math.max(folded.samples, 1)).toFixed(1).padStart(5)}%  ${symbol.slice(0, 140)}`);
    }
    const bin = inferno();
    if (bin === undefined) console.log("inferno unavailable: stacks.folded can be opened in https://www.speedscope.app instead");
    else {
      const svg = spawnSync([join(bin, "inferno-flamegraph"), "--title", `sigma, ${events} events, full SigmaHQ tree`, join(out, "stacks.folded")], { stdout: "pipe" });
      writeFileSync(join(out, "flame.svg"), svg.stdout);
      console.log(`flame graph: ${join(out, "flame.svg")}`);
    }
  }
}

// 2. Bun's own CPU profile of the same run from source (JS frames with source positions).
const cpuProf = spawn([process.execPath, "--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${out}`, "src/main.ts", ...sigmaArgs], { cwd: root, stdout: "ignore", stderr: "pipe" });
const cpuProfErr = await new Response(cpuProf.stderr).text();
if ((await cpuProf.exited) !== 0) console.log(`bun --cpu-prof failed: ${cpuProfErr.slice(-1000)}`);
else console.log(`Bun CPU profile (.cpuprofile for Chrome DevTools or speedscope, .md summary) in ${out}`);

// 3. Time per stage split into JS, boundary and Rust from the engine's counters.
const full = compileTimed(dirs);
const split = stageSplit(full.engine, chunks(new Uint8Array(readFileSync(slice))));
const pct = (ms: number): string => `${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / split.wallMs).toFixed(1).padStart(5)}%`;
console.log(`\nstage split, in process (${split.events} events, ${split.matches} matches, ${full.rules} rules; wall ${split.wallMs.toFixed(0)} ms):`);
console.log(`  Rust parse (JSON → columns)   ${pct(split.rust.parseMs)}`);
console.log(`  Rust match (matchers)          ${pct(split.rust.matchMs)}`);
console.log(`  Rust condition (resolve)       ${pct(split.rust.conditionMs)}`);
console.log(`  boundary (napi call − Rust)    ${pct(split.boundaryMs)}`);
console.log(`  JS (render matches, loop)      ${pct(split.jsMs)}`);
writeFileSync(join(out, "stages.json"), JSON.stringify(split, null, 2) + "\n");
