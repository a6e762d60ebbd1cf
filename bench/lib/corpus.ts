/**
 * The shared benchmark inputs, read-only and never copied into the repo:
 * /work/shared/events (NDJSON.gz) and the SigmaHQ tree /work/shared/sigma.
 * Decompressed NDJSON files are materialised once under the OS temp dir
 * ($TMPDIR/sigma-bench), outside the repository, and reused across runs.
 * A bench whose inputs are absent calls `skip`, which says why and exits 0.
 *
 * `chunks` cuts bytes into line-aligned pieces of about 4 MiB, the same cut
 * the binary's file source makes (--chunk-bytes), so in-process and binary
 * runs see the same batches.
 */

import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_CHUNK_BYTES } from "../../src/io/sources/json.ts";

export const ROOT = join(import.meta.dir, "../..");
export const SHARED_EVENTS = process.env.SIGMA_SHARED_EVENTS ?? join(ROOT, "../shared/events");
export const SHARED_SIGMA = process.env.SIGMA_SHARED_RULES ?? join(ROOT, "../shared/sigma");
export const SCRATCH = join(process.env.SIGMA_BENCH_TMP ?? tmpdir(), "sigma-bench");
export const ATOMIC = "windows_otrf_atomic.ndjson.gz";
/** The binary's batch size, so that in-process references cut the same batches. */
export const CHUNK_BYTES = DEFAULT_CHUNK_BYTES;
/** The pipelines the README gives for SigmaHQ's Windows rules over these flattened events. */
export const PIPELINES = ["sysmon", "windows"];

/** A bench's `--pipelines a,b` flag: the pipeline names, or none for "none". */
export function pipelineList(text: string): string[] {
  return text === "none" ? [] : text.split(",").filter((name) => name !== "");
}

/** The binary's `--pipeline` flags for `names`. */
export function pipelineFlags(names: readonly string[]): string[] {
  return names.flatMap((name) => ["--pipeline", name]);
}

export function skip(bench: string, reason: string): never {
  console.log(`bench/${bench}: skipped: ${reason}`);
  process.exit(0);
}

/** Every rules* folder of the SigmaHQ tree (rules, emerging threats, threat hunting, ...). */
export function fullTreeDirs(): string[] {
  if (!existsSync(SHARED_SIGMA)) return [];
  return readdirSync(SHARED_SIGMA)
    .filter((d) => d.startsWith("rules") && statSync(join(SHARED_SIGMA, d)).isDirectory())
    .sort()
    .map((d) => join(SHARED_SIGMA, d));
}

/** The reason the shared inputs cannot be used, or undefined when they can. */
export function inputsMissing(): string | undefined {
  if (!existsSync(join(SHARED_EVENTS, ATOMIC))) return `${join(SHARED_EVENTS, ATOMIC)} is absent`;
  if (fullTreeDirs().length === 0) return `the SigmaHQ tree ${SHARED_SIGMA} is absent`;
  return undefined;
}

function gunzip(file: string): Uint8Array {
  return Bun.gunzipSync(readFileSync(join(SHARED_EVENTS, file)));
}

function withNewline(bytes: Uint8Array): Uint8Array {
  if (bytes.byteLength === 0 || bytes[bytes.byteLength - 1] === 0x0a) return bytes;
  const out = new Uint8Array(bytes.byteLength + 1);
  out.set(bytes);
  out[bytes.byteLength] = 0x0a;
  return out;
}

function materialise(name: string, build: () => Uint8Array[]): string {
  mkdirSync(SCRATCH, { recursive: true });
  const path = join(SCRATCH, name);
  if (existsSync(path)) return path;
  const parts = build();
  writeFileSync(`${path}.part`, Buffer.concat(parts));
  renameSync(`${path}.part`, path);
  return path;
}

/** Every event of the shared corpus: windows_otrf_atomic first, then the other files by name. */
export function allEventsFile(): string {
  return materialise("all.ndjson", () => {
    const others = readdirSync(SHARED_EVENTS).filter((f) => f.endsWith(".ndjson.gz") && f !== ATOMIC).sort();
    return [ATOMIC, ...others].map((f) => withNewline(gunzip(f)));
  });
}

/** Byte offset just past the `count`-th newline (or the end). */
export function endOfLines(bytes: Uint8Array, count: number): number {
  let at = 0;
  for (let i = 0; i < count; i++) {
    const nl = bytes.indexOf(0x0a, at);
    if (nl === -1) return bytes.byteLength;
    at = nl + 1;
  }
  return at;
}

/** The first `count` events of windows_otrf_atomic. */
export function atomicSliceFile(count: number): string {
  return materialise(`atomic-${count}.ndjson`, () => {
    const bytes = gunzip(ATOMIC);
    return [bytes.subarray(0, endOfLines(bytes, count))];
  });
}

export function countNewlines(bytes: Uint8Array): number {
  let n = 0;
  for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) n++;
  return n;
}

/** Line-aligned views (no copies) of about `size` bytes each. */
export function chunks(bytes: Uint8Array, size = CHUNK_BYTES): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  while (start < bytes.byteLength) {
    let end = Math.min(bytes.byteLength, start + size);
    if (end < bytes.byteLength) {
      const nl = bytes.indexOf(0x0a, end - 1);
      end = nl === -1 ? bytes.byteLength : nl + 1;
    }
    out.push(bytes.subarray(start, end));
    start = end;
  }
  return out;
}
