/**
 * Runs the compiled binary `dist/sigma` (built by `npm run build`) for
 * end-to-end tests. Tests that need it skip when it is missing; `npm test`
 * always builds it first.
 */

import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..", "..");
export const BINARY = join(ROOT, "dist", "sigma");
export const SHARED = join(ROOT, "..", "shared");

export interface BinaryRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function runBinary(args: string[], options: { cwd?: string; stdin?: Uint8Array; binary?: string; timeoutMs?: number } = {}): Promise<BinaryRun> {
  const child = Bun.spawn([options.binary ?? BINARY, ...args], {
    cwd: options.cwd ?? ROOT,
    stdin: options.stdin ?? "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => child.kill(9), options.timeoutMs ?? 120_000);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { exitCode, stdout, stderr };
}
