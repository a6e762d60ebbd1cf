/**
 * Test helpers for the Flight server: a fake evaluator that matches rows whose
 * `CommandLine` (Arrow) or line text (JSON) contains "evil", and a running
 * server inside a real pipeline, torn down by `close()`.
 */

import { Int32, Table, Utf8, vectorFromArray, type RecordBatch } from "apache-arrow";
import type { Batch, RawJsonBatch, SpannedJsonBatch } from "../../src/batch/batch.ts";
import { runPipeline, type Evaluator } from "../../src/io/pipeline.ts";
import type { EvalResult } from "../../src/io/result.ts";
import type { RuleHeader } from "../../src/plan/types.ts";
import { FlightServer, type FlightServerOptions } from "../../src/flight/server.ts";

export const RULES: RuleHeader[] = [{ id: "r-1", title: "Evil command", level: "high", status: "test", tags: ["attack.t1059"], name: null, path: "rules/evil.yml" }];

/** The lines of a span batch joined as the engine joins them (documents without raw line breaks). */
function joined(batch: SpannedJsonBatch): RawJsonBatch {
  const { source, spans } = batch;
  const lines = Array.from({ length: spans.length / 2 }, (_, r) => `${new TextDecoder().decode(source.subarray(spans[2 * r], spans[2 * r + 1]))}\n`);
  return { kind: "json", bytes: new TextEncoder().encode(lines.join("")), origin: batch.origin };
}

export class FakeEvaluator implements Evaluator {
  async evaluate(input: Batch): Promise<EvalResult> {
    const batch = input.kind === "json-spans" ? joined(input) : input;
    const rows: number[] = [];
    let count: number;
    let eventJson: (row: number) => string;
    let lineOffsets: Uint32Array | undefined;
    if (batch.kind === "json") {
      const starts = [0];
      batch.bytes.forEach((byte, i) => byte === 0x0a && i + 1 < batch.bytes.length && starts.push(i + 1));
      lineOffsets = Uint32Array.from(starts);
      const lines = new TextDecoder().decode(batch.bytes).split("\n");
      if (lines[lines.length - 1] === "") lines.pop();
      count = lines.length;
      lines.forEach((line, i) => line.includes("evil") && rows.push(i));
      eventJson = (row) => lines[row] ?? "";
    } else {
      const record = batch.records.record();
      const column = record.getChild("CommandLine");
      count = record.numRows;
      for (let i = 0; i < count; i++) if (String(column?.get(i) ?? "").includes("evil")) rows.push(i);
      eventJson = (row) => JSON.stringify({ CommandLine: column?.get(row) });
    }
    return {
      batch,
      rows: count,
      renderedMatches: null,
      events: count,
      matchRows: Uint32Array.from(rows),
      matchRules: new Uint32Array(rows.length),
      deadLetters: [],
      rules: RULES,
      ...(lineOffsets === undefined ? {} : { lineOffsets }),
      eventJson,
      rawInput: eventJson,
    };
  }
}

export function eventsBatch(commands: string[]): RecordBatch {
  // Plain Utf8, not tableFromArrays' default dictionary: each table would get fresh dictionary ids.
  const table = new Table({ CommandLine: vectorFromArray(commands, new Utf8()), Pid: vectorFromArray(commands.map((_, i) => i), new Int32()) });
  const batch = table.batches[0];
  if (batch === undefined) throw new Error("no batch");
  return batch;
}

export interface Running {
  server: FlightServer;
  address: string;
  close(): Promise<{ open: number }>;
}

export async function runServer(options: Partial<FlightServerOptions> = {}): Promise<Running> {
  const host = (options.address ?? "127.0.0.1:0").split(":")[0];
  const server = new FlightServer({
    address: `${host}:0`,
    hooks: { rules: () => RULES, stats: () => ({ batches: 0 }), referencedFields: () => ["CommandLine", "Image"], reload: async () => ({ reloaded: true }) },
    ...options,
  });
  const port = await server.listen();
  const abort = new AbortController();
  const outcome = runPipeline(server, new FakeEvaluator(), [server.sink], { maxInFlight: 4, signal: abort.signal });
  return {
    server,
    address: `${options.tls ? "grpc+tls" : "grpc"}://${host}:${port}`,
    async close() {
      abort.abort();
      const result = await outcome;
      return { open: result.ledger.open };
    },
  };
}
