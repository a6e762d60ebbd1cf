/**
 * `npm test`: every test, in one command that does its own setup.
 *
 * 1. build the addon and the compiled binary (end-to-end tests run dist/sigma);
 * 2. static checks: tsc --noEmit;
 * 3. Rust unit tests (cargo test, the engine crate without Bun);
 * 4. Bun tests: unit, vectors and end-to-end (Kafka and pyarrow services are
 *    installed and started by the tests through scripts/services/*).
 *
 * It ends with one line "tests: N passed, M failed, K skipped" summing every
 * runner, and exits non-zero when anything failed.
 */

import { spawn } from "bun";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
let passed = 0;
let failed = 0;
let skipped = 0;
const failures: string[] = [];

async function run(name: string, cmd: string[], parse?: (output: string) => void): Promise<boolean> {
  const started = performance.now();
  process.stderr.write(`\n== ${name}: ${cmd.join(" ")}\n`);
  const child = spawn(cmd, { cwd: root, stdout: "pipe", stderr: "pipe", env: { ...process.env, FORCE_COLOR: "0" } });
  let output = "";
  const pump = async (stream: ReadableStream<Uint8Array>, sink: NodeJS.WriteStream): Promise<void> => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      output += text;
      sink.write(text);
    }
  };
  await Promise.all([pump(child.stdout, process.stdout), pump(child.stderr, process.stderr)]);
  const code = await child.exited;
  parse?.(output);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (code !== 0) {
    failures.push(`${name} (exit ${code})`);
    process.stderr.write(`== ${name}: FAILED (exit ${code}) in ${seconds}s\n`);
    return false;
  }
  process.stderr.write(`== ${name}: ok in ${seconds}s\n`);
  return true;
}

function parseCargo(output: string): void {
  for (const match of output.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored/g)) {
    passed += Number(match[1]);
    failed += Number(match[2]);
    skipped += Number(match[3]);
  }
}

function parseBun(output: string): void {
  const pass = /^\s*(\d+) pass$/m.exec(output);
  const fail = /^\s*(\d+) fail$/m.exec(output);
  const skip = /^\s*(\d+) skip$/m.exec(output);
  passed += Number(pass?.[1] ?? 0);
  failed += Number(fail?.[1] ?? 0);
  skipped += Number(skip?.[1] ?? 0);
}

const built = await run("build", ["bun", "scripts/build.ts"]);
await run("typecheck", ["./node_modules/.bin/tsc", "--noEmit", "-p", "."]);
await run("rust", ["cargo", "test", "-p", "sigma-core", "--quiet"], parseCargo);
if (built) {
  await run("bun", ["bun", "test", "--timeout", "300000"], parseBun);
} else {
  failures.push("bun tests not run: the build failed");
}

console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
if (failures.length > 0) {
  console.log(`failed steps: ${failures.join("; ")}`);
  process.exit(1);
}
