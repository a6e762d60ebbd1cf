/**
 * The NDJSON source cuts its input into chunks of whole lines, whichever
 * way it reads (a plain file straight into chunk buffers, a gzip file
 * through a stream): the chunks put together are the input, each but the
 * last ends at a newline, a line longer than a chunk stays whole, and each
 * chunk's first line number counts the lines before it.
 */

import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import type { Batch } from "../../src/batch/batch.ts";
import { LineOrigin } from "../../src/batch/batch.ts";
import { AckLedger } from "../../src/io/ack.ts";
import { JsonSource } from "../../src/io/sources/json.ts";
import type { IoContext } from "../../src/io/spec.ts";

const dir = mkdtempSync(join(tmpdir(), "sigma-json-source-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lines = Array.from({ length: 200 }, (_, i) => `{"n":${i},"pad":"${"x".repeat((i * 37) % 90)}"}`);
lines.splice(57, 0, `{"long":"${"y".repeat(3000)}"}`); // longer than any chunk below
const text = lines.join("\n"); // no newline after the last line

async function read(path: string, chunkBytes: number): Promise<{ bytes: Uint8Array; firstLine: number }[]> {
  const out: { bytes: Uint8Array; firstLine: number }[] = [];
  const source = new JsonSource({ path, chunkBytes }, {} as IoContext);
  await source.start({
    emit: async (batch: Batch) => {
      if (batch.kind !== "json" || !(batch.origin instanceof LineOrigin)) throw new Error("expected a JSON batch with line positions");
      out.push({ bytes: batch.bytes.slice(), firstLine: batch.origin.firstLine });
    },
    signal: new AbortController().signal,
    ledger: new AckLedger(),
  });
  return out;
}

for (const [name, file, content] of [
  ["plain file", "events.ndjson", new TextEncoder().encode(text)],
  ["gzip file", "events.ndjson.gz", gzipSync(text)],
] as const) {
  test(`${name}: whole lines, every byte once, line numbers`, async () => {
    const path = join(dir, file);
    writeFileSync(path, content);
    for (const chunkBytes of [64, 1000, 1 << 20]) {
      const chunks = await read(path, chunkBytes);
      const decoded = chunks.map((c) => new TextDecoder().decode(c.bytes));
      expect(decoded.join("")).toBe(text);
      for (const chunk of decoded.slice(0, -1)) expect(chunk.endsWith("\n")).toBe(true);
      let line = 1;
      for (const [i, chunk] of decoded.entries()) {
        expect(chunks[i]?.firstLine).toBe(line);
        line += chunk.split("\n").length - (chunk.endsWith("\n") ? 1 : 0);
      }
      if (chunkBytes === 64) expect(decoded.some((c) => c.includes("y".repeat(3000)))).toBe(true);
    }
  });
}
