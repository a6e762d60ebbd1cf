import { afterEach, expect, test } from "bun:test";
import { Ack } from "../../src/io/ack.ts";
import { runPipeline } from "../../src/io/pipeline.ts";
import type { Source, SourceContext } from "../../src/io/source.ts";
import { recordsOf, type Batch } from "../../src/batch/batch.ts";
import { FlightSink } from "../../src/io/sinks/flight.ts";
import { FlightSource } from "../../src/io/sources/flight.ts";
import { FakeEvaluator, eventsBatch, runServer, type Running } from "./helpers.ts";
import { testCertificates } from "../support/tls.ts";
import { FlightClient } from "../../src/flight/client.ts";
import { status } from "@grpc/grpc-js";
import { readFileSync } from "node:fs";

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

/** Sink → server → source over `running`, the clients trusting `rootCerts`: the batch sizes the source saw. */
async function roundTrip(running: Running, rootCerts: Uint8Array | null): Promise<number[]> {
  const origin = { position: (row: number) => ({ file: "t", line: row + 1 }) };
  const batches: Batch[] = [
    { kind: "arrow", records: recordsOf(eventsBatch(["evil 1", "ok", "evil 2"])), origin },
    { kind: "arrow", records: recordsOf(eventsBatch(["ok"])), origin },
    { kind: "arrow", records: recordsOf(eventsBatch(["evil 3"])), origin },
  ];
  const sink = new FlightSink({ role: "matches", location: running.address, path: ["down"], token: null, rootCerts });
  const outcome = await runPipeline(new ListSource(batches), new FakeEvaluator(), [sink], { maxInFlight: 2, signal: new AbortController().signal });
  await sink.stop();
  expect(outcome.failedBatches).toBe(0);
  expect(outcome.ledger.open).toBe(0);

  // The downstream server received the match batches as events; DoGet its matches of them.
  // The match batches carry CommandLine, so the fake rule matches each of them again.
  const seen: number[] = [];
  const source = new FlightSource({ location: running.address, ticket: "down", token: null, rootCerts, jsonColumn: "json" });
  await source.start({
    emit: async (batch) => void seen.push(batch.kind === "arrow" ? batch.records.numRows : -1),
    signal: new AbortController().signal,
    ledger: outcome.ledger,
  });
  return seen;
}

test("Flight sink → server → Flight source: matches travel with per-batch acks", async () => {
  running = await runServer();
  expect(await roundTrip(running, null)).toEqual([2, 1]);
});

test("the same over grpc+tls trusting the test CA; a client that does not trust it, speaks plaintext, or reaches a server its certificate does not name, fails", async () => {
  const certs = testCertificates();
  if (typeof certs === "string") {
    console.warn(`SKIP Flight TLS: ${certs}`);
    return;
  }
  running = await runServer({ tls: { cert: readFileSync(certs.certPath), key: readFileSync(certs.keyPath) } });
  expect(running.address.startsWith("grpc+tls://")).toBe(true);
  expect(await roundTrip(running, certs.ca)).toEqual([2, 1]);

  const outcomeOf = (client: FlightClient): Promise<number | string> =>
    Promise.race([client.listActions().then(() => "answered", (error: { code?: number }) => error.code ?? "no code"), Bun.sleep(15_000).then(() => "no answer in 15 s")]);
  const untrusting = new FlightClient(running.address);
  const plaintext = new FlightClient(running.address.replace("grpc+tls://", "grpc://"));
  try {
    expect(await outcomeOf(untrusting)).toBe(status.UNAVAILABLE);
    expect(await outcomeOf(plaintext)).toBe(status.UNAVAILABLE);
  } finally {
    untrusting.close();
    plaintext.close();
  }

  // The certificate names 127.0.0.1; served from 127.0.0.2, the identity check must refuse it.
  const { open } = await running.close();
  expect(open).toBe(0);
  running = await runServer({ address: "127.0.0.2:0", tls: { cert: readFileSync(certs.certPath), key: readFileSync(certs.keyPath) } });
  const misnamed = new FlightClient(running.address, { rootCerts: certs.ca });
  try {
    expect(await outcomeOf(misnamed)).toBe(status.UNAVAILABLE);
  } finally {
    misnamed.close();
  }
});
