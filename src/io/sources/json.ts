/**
 * NDJSON source: a file, or stdin with `-`, gzip detected from its magic
 * bytes. It cuts the byte stream into chunks of whole lines (about
 * `chunkBytes` each) and emits them as RawJsonBatch; JSON is parsed by the
 * engine, never here. Line numbers in positions are 1-based.
 *
 * A line longer than a chunk simply makes that chunk longer: lines are never
 * split, so the engine sees each event whole and can dead-letter it by size.
 */

import { LineOrigin } from "../../batch/batch.ts";
import type { Options } from "../../cli/args.ts";
import { UsageError } from "../../cli/args.ts";
import { Ack } from "../ack.ts";
import type { Source, SourceContext } from "../source.ts";
import type { IoContext, SourceSpec } from "../spec.ts";
import { countLines } from "../../native/engine.ts";

export interface JsonSourceConfig {
  /** A file path, or "-" for stdin. */
  path: string;
  chunkBytes: number;
}

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

export class InputUnreadable extends Error {}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1 && parts[0] !== undefined) return parts[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** Counts the compressed bytes that pass through, for the progress bar. */
function counting(onBytes: (n: number) => void): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    transform(chunk, controller) {
      onBytes(chunk.byteLength);
      controller.enqueue(chunk);
    },
  });
}

async function openStream(path: string, io: IoContext): Promise<ReadableStream<Uint8Array>> {
  let raw: ReadableStream<Uint8Array>;
  let total: number | null = null;
  if (path === "-") {
    raw = Bun.stdin.stream();
  } else {
    const file = Bun.file(path);
    if (!(await file.exists())) throw new InputUnreadable(`events file not found: ${path}`);
    try {
      total = file.size;
      raw = file.stream();
    } catch (error) {
      throw new InputUnreadable(`cannot read events file ${path}: ${(error as Error).message}`);
    }
  }
  let done = 0;
  const counted = raw.pipeThrough(
    counting((n) => {
      done += n;
      io.progress?.(done, total);
    }),
  );
  // Peek at the first bytes to detect gzip, then put them back in front.
  const reader = counted.getReader();
  const first = await reader.read();
  const head = first.value ?? new Uint8Array(0);
  const replay = new ReadableStream<Uint8Array>({
    start(controller) {
      if (head.byteLength > 0) controller.enqueue(head);
      if (first.done === true) controller.close();
    },
    async pull(controller) {
      const next = await reader.read();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  const gzipped = head[0] === GZIP_MAGIC_0 && head[1] === GZIP_MAGIC_1;
  return gzipped ? replay.pipeThrough(new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>) : replay;
}

export class JsonSource implements Source {
  readonly kind = "json";
  #stopped = false;

  constructor(
    private readonly config: JsonSourceConfig,
    private readonly io: IoContext,
  ) {}

  async start(ctx: SourceContext): Promise<void> {
    const name = this.config.path === "-" ? "<stdin>" : this.config.path;
    const stream = await openStream(this.config.path, this.io);
    const reader = stream.getReader();
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    let nextLine = 1;
    const emitChunk = async (bytes: Uint8Array): Promise<void> => {
      const lines = countLines(bytes);
      const origin = new LineOrigin(name, nextLine);
      nextLine += lines;
      await ctx.emit({ kind: "json", bytes, origin }, new Ack(() => {}, ctx.ledger));
    };
    try {
      while (!this.#stopped && !ctx.signal.aborted) {
        const { done, value } = await reader.read();
        if (done) break;
        pending.push(value);
        pendingBytes += value.byteLength;
        if (pendingBytes < this.config.chunkBytes) continue;
        const joined = concat(pending, pendingBytes);
        const cut = joined.lastIndexOf(0x0a);
        if (cut === -1) {
          pending = [joined];
          continue;
        }
        const rest = joined.subarray(cut + 1);
        pending = rest.byteLength > 0 ? [rest] : [];
        pendingBytes = rest.byteLength;
        await emitChunk(joined.subarray(0, cut + 1));
      }
    } catch (error) {
      throw new InputUnreadable(`cannot read events from ${name}: ${(error as Error).message}`);
    } finally {
      reader.releaseLock();
    }
    if (pendingBytes > 0) await emitChunk(concat(pending, pendingBytes));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
  }
}

/**
 * Bytes of whole lines per batch by default: small enough that a batch
 * takes a few milliseconds in the engine (per-batch latency), large enough
 * that the per-batch cost stays small against the events.
 */
export const DEFAULT_CHUNK_BYTES = 1 << 20;

export const jsonSourceSpec: SourceSpec<JsonSourceConfig> = {
  kind: "json",
  flags: [
    { name: "events", description: "NDJSON events file (gzip detected), or - for stdin (default -)", takesValue: true },
    { name: "chunk-bytes", description: `bytes of whole lines per batch handed to the engine (default ${DEFAULT_CHUNK_BYTES})`, takesValue: true },
  ],
  parse(options: Options): JsonSourceConfig {
    const chunkBytes = options.integer("chunk-bytes", DEFAULT_CHUNK_BYTES, 1024);
    if (chunkBytes > 1 << 30) throw new UsageError("--chunk-bytes must be at most 1 GiB");
    return { path: options.string("events") ?? "-", chunkBytes };
  },
  create: (config, io) => new JsonSource(config, io),
};
