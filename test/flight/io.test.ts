import { afterEach, expect, test } from "bun:test";
import { Ack } from "../../src/io/ack.ts";
import { runPipeline } from "../../src/io/pipeline.ts";
import type { Source, SourceContext } from "../../src/io/source.ts";
import { recordsOf, type Batch } from "../../src/batch/batch.ts";
import { FlightSink } from "../../src/io/sinks/flight.ts";
import { FlightSource } from "../../src/io/sources/flight.ts";
import { FakeEvaluator, eventsBatch, runServer, type Running } from "./helpers.ts";

let running: Running | null = null;
afterEach(async () => {
  if (running !== null) {
    const { open } = await running.close();
    running = null;
    expect(open).toBe(0);
  }
});

class ListSource implements Source {
  readonly kind = "list";
  constructor(private readonly batches: Batch[]) {}
  async start(ctx: SourceContext): Promise<void> {
    for (const batch of this.batches) await ctx.emit(batch, new Ack(() => {}, ctx.ledger));
  }
  async stop(): Promise<void> {}
}

test("Flight sink → server → Flight source: matches travel with per-batch acks", async () => {
  running = await runServer();
  const origin = { position: (row: number) => ({ file: "t", line: row + 1 }) };
  const batches: Batch[] = [
    { kind: "arrow", records: recordsOf(eventsBatch(["evil 1", "ok", "evil 2"])), origin },
    { kind: "arrow", records: recordsOf(eventsBatch(["ok"])), origin },
    { kind: "arrow", records: recordsOf(eventsBatch(["evil 3"])), origin },
  ];
  const sink = new FlightSink({ role: "matches", location: running.address, path: ["down"], token: null });
  const outcome = await runPipeline(new ListSource(batches), new FakeEvaluator(), [sink], { maxInFlight: 2, signal: new AbortController().signal });
  await sink.stop();
  expect(outcome.failedBatches).toBe(0);
  expect(outcome.ledger.open).toBe(0);

  // The downstream server received the match batches as events; DoGet its matches of them.
  // The match batches carry CommandLine, so the fake rule matches each of them again.
  const seen: number[] = [];
  const source = new FlightSource({ location: running.address, ticket: "down", token: null, jsonColumn: "json" });
  await source.start({
    emit: async (batch) => void seen.push(batch.kind === "arrow" ? batch.records.numRows : -1),
    signal: new AbortController().signal,
    ledger: outcome.ledger,
  });
  expect(seen).toEqual([2, 1]);
});
