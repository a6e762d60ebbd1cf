/**
 * The Kafka source and sink against a real broker, in process, through the
 * real pipeline (io/pipeline.ts) and engine with one rule (EventID 4688):
 * exact match counts, a pretty-printed value evaluated as one event, dead
 * letters with their reason header, commits that reach the end offsets, a
 * failed sink that commits nothing past it, and a stop that drains. The
 * binary end to end is test/e2e/kafka.test.ts.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ConsumerConfig, Kafka } from "kafkajs";
import type { Ack } from "../../src/io/ack.ts";
import { EMPTY_VALUE_REASON } from "../../src/io/kafka/lines.ts";
import { runPipeline } from "../../src/io/pipeline.ts";
import type { EvalResult } from "../../src/io/result.ts";
import type { Sink } from "../../src/io/sink.ts";
import { KafkaSink, type KafkaSinkConfig } from "../../src/io/sinks/kafka.ts";
import { KafkaSource, KafkaSourceFailed, type KafkaSourceConfig } from "../../src/io/sources/kafka.ts";
import { Engine } from "../../src/native/engine.ts";
import { buildPlan } from "../../src/plan/build.ts";
import { loadYaml, ruleWith } from "../rules/helpers.ts";
import {
  BROKER,
  brokerUnavailableReason,
  committedOffsets,
  createTopics,
  produce,
  readTopic,
  startBroker,
  stopBroker,
  testKafka,
  uniqueName,
} from "./kafka-broker.ts";

const unavailable = brokerUnavailableReason();
if (unavailable !== undefined) console.warn(unavailable);

/** One rule, EventID 4688, through the real engine: Kafka's span batches are joined there. */
const RULE_ID = "00000000-0000-0000-0000-000000000001";
const evaluator = Engine.compile(buildPlan(loadYaml(ruleWith("EventID: 4688"))).plan).engine;

function sourceConfig(topic: string, group: string, overrides: Partial<KafkaSourceConfig> = {}): KafkaSourceConfig {
  return {
    connection: { brokers: [BROKER], clientId: "sigma-test" },
    topics: [topic],
    groupId: group,
    fromBeginning: true,
    stopAtEnd: true,
    maxBatchBytes: 64 * 1024,
    drainTimeoutMs: 20_000,
    ...overrides,
  };
}

function sinkConfig(role: KafkaSinkConfig["role"], topic: string): KafkaSinkConfig {
  return { role, connection: { brokers: [BROKER], clientId: "sigma-test" }, topic, key: { kind: "rule" }, maxPendingBatches: 8 };
}

function events(count: number): string[] {
  return Array.from({ length: count }, (_, i) => JSON.stringify({ EventID: i % 3 === 0 ? 4688 : 1, seq: i, Image: `C:\\bin\\p${i}.exe` }));
}

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: Timer | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe.skipIf(unavailable !== undefined)("kafka source and sink against a broker", () => {
  const kafka = testKafka();

  beforeAll(() => startBroker(), 240_000);
  afterAll(() => stopBroker(), 60_000);

  test("round trip: exact matches out, dead letters with reason header, commits at the end offsets", async () => {
    const [input, output, dead, group] = [uniqueName("in"), uniqueName("out"), uniqueName("dlq"), uniqueName("g")];
    await createTopics(kafka, [input], 3);
    await createTopics(kafka, [output, dead], 1);
    const good = events(3000);
    const messages = [
      ...good.map((value) => ({ value })),
      { value: "{not json" },
      { value: null },
      { value: '{\n "EventID": 4688,\n "note": "pretty\nprinted"\n}' },
    ];
    await produce(kafka, input, messages);
    const expectedMatches = good.filter((_, i) => i % 3 === 0).length + 1;

    const sinks: Sink[] = [new KafkaSink(sinkConfig("matches", output)), new KafkaSink(sinkConfig("dead-letters", dead))];
    const source = new KafkaSource(sourceConfig(input, group));
    const outcome = await withTimeout(
      runPipeline(source, evaluator, sinks, { maxInFlight: 4, signal: new AbortController().signal }),
      90_000,
      "pipeline",
    );
    await Promise.all(sinks.map((s) => s.stop()));
    expect(outcome.failedBatches).toBe(0);
    expect(outcome.ledger.open).toBe(0);
    expect(outcome.ledger.doubleSettles).toBe(0);

    const matches = await readTopic(kafka, output, expectedMatches);
    expect(matches.length).toBe(expectedMatches);
    const first = JSON.parse(matches[0]?.value ?? "{}") as { rule: { id: string }; source: { topic: string } };
    expect(first.rule.id).toBe(RULE_ID);
    expect(first.source.topic).toBe(input);
    expect(matches[0]?.key).toBe(RULE_ID);
    expect(new Set(matches.map((m) => (JSON.parse(m.value) as { event: { seq?: number } }).event.seq)).size).toBe(expectedMatches);

    const deadLetters = await readTopic(kafka, dead, 2);
    expect(deadLetters.length).toBe(2);
    const reasons = deadLetters.map((d) => d.headers["sigma-reason"] ?? "");
    expect(reasons.some((r) => r.startsWith("invalid JSON"))).toBe(true);
    expect(reasons).toContain(EMPTY_VALUE_REASON);
    for (const d of deadLetters) expect((JSON.parse(d.value) as { reason: string }).reason).toBe(d.headers["sigma-reason"] ?? "");

    const committed = await committedOffsets(kafka, group, input);
    const total = [...committed.values()].reduce((sum, offset) => sum + Number(offset), 0);
    expect(total).toBe(messages.length);
  }, 150_000);

  test("a failed sink ack stops the source and commits nothing at or past the failed batch", async () => {
    const [input, group] = [uniqueName("in"), uniqueName("g")];
    await createTopics(kafka, [input], 1);
    // Small produce requests make small record batches, so the fetch yields many batches.
    await produce(kafka, input, events(2000).map((value) => ({ value })), 50);

    let writes = 0;
    const failingSink: Sink = {
      kind: "failing",
      role: "matches",
      async write(_result: EvalResult, ack: Ack) {
        writes++;
        ack.settle(writes === 3 ? "failed" : "delivered", "disk full");
      },
      async flush() {},
      async stop() {},
    };
    const source = new KafkaSource(sourceConfig(input, group, { maxBatchBytes: 16 * 1024 }));
    const run = runPipeline(source, evaluator, [failingSink], { maxInFlight: 1, signal: new AbortController().signal });
    const error = await withTimeout(run.then(() => undefined, (e: unknown) => e), 60_000, "failing pipeline");
    expect(error).toBeInstanceOf(KafkaSourceFailed);
    expect(String(error)).toContain("disk full");

    // Two batches were delivered before the failure: the commit is exactly the failed batch's first offset.
    const failedFrom = /offsets (\d+)\.\./.exec(String(error))?.[1];
    const committed = (await committedOffsets(kafka, group, input)).get(0);
    expect(failedFrom).toBeDefined();
    expect(Number(failedFrom)).toBeGreaterThan(0);
    expect(committed).toBe(failedFrom);
  }, 120_000);

  test("--kafka-key field:<name>: each match's message key is that field of its event", async () => {
    const [input, output, group] = [uniqueName("in"), uniqueName("out"), uniqueName("g")];
    await createTopics(kafka, [input], 2);
    await createTopics(kafka, [output], 3);
    const sent = events(300);
    await produce(kafka, input, sent.map((value) => ({ value })));
    const expected = sent.filter((_, i) => i % 3 === 0).map((line) => (JSON.parse(line) as { Image: string }).Image);

    const sink = new KafkaSink({ ...sinkConfig("matches", output), key: { kind: "field", field: "Image" } });
    const outcome = await withTimeout(
      runPipeline(new KafkaSource(sourceConfig(input, group)), evaluator, [sink], { maxInFlight: 4, signal: new AbortController().signal }),
      60_000,
      "pipeline",
    );
    await sink.stop();
    expect(outcome.failedBatches).toBe(0);

    const matches = await readTopic(kafka, output, expected.length);
    expect(matches.map((m) => m.key).sort()).toEqual([...expected].sort());
    for (const m of matches) expect(m.key).toBe((JSON.parse(m.value) as { event: { Image: string } }).event.Image);
  }, 120_000);

  test("backpressure: a full pipeline pauses fetching; released, every event arrives once", async () => {
    const [input, group] = [uniqueName("in"), uniqueName("g")];
    await createTopics(kafka, [input], 1);
    await produce(kafka, input, events(2000).map((value) => ({ value })), 50);

    // The real client, with the source's consumer's fetches counted.
    let fetches = 0;
    const counting = {
      consumer: (config: ConsumerConfig) => {
        const consumer = kafka.consumer(config);
        consumer.on(consumer.events.FETCH, () => fetches++);
        return consumer;
      },
      admin: () => kafka.admin(),
    } as unknown as Kafka;

    const held: Ack[] = [];
    let holding = true;
    let evaluated = 0;
    const holdingSink: Sink = {
      kind: "holding",
      role: "matches",
      async write(result: EvalResult, ack: Ack) {
        evaluated += result.events;
        if (holding) held.push(ack);
        else ack.settle("delivered");
      },
      async flush() {},
      async stop() {},
    };
    const source = new KafkaSource(sourceConfig(input, group, { maxBatchBytes: 16 * 1024 }), counting);
    const run = runPipeline(source, evaluator, [holdingSink], { maxInFlight: 2, signal: new AbortController().signal });

    const deadline = Date.now() + 60_000;
    while (held.length < 2 && Date.now() < deadline) await Bun.sleep(20);
    expect(held.length).toBe(2);
    // The fetch of the batch now waiting in emit may still be landing; past the fetch wait (200 ms) none is.
    await Bun.sleep(500);
    const fetchesWhenFull = fetches;
    // An unpaused consumer fetches several times a second (fetch wait 200 ms) with most of the topic unread.
    await Bun.sleep(2_000);
    expect(held.length).toBe(2);
    expect(fetches).toBe(fetchesWhenFull);
    expect(evaluated).toBeLessThan(2000);

    holding = false;
    for (const ack of held.splice(0)) ack.settle("delivered");
    const outcome = await withTimeout(run, 60_000, "pipeline after release");
    expect(outcome.failedBatches).toBe(0);
    expect(outcome.ledger.open).toBe(0);
    expect(evaluated).toBe(2000);
    expect(fetches).toBeGreaterThan(fetchesWhenFull);
  }, 120_000);

  test("stop() drains in-flight batches, commits them and resolves", async () => {
    const [input, output, group] = [uniqueName("in"), uniqueName("out"), uniqueName("g")];
    await createTopics(kafka, [input, output], 1);
    await produce(kafka, input, events(3000).map((value) => ({ value })), 50);

    const sink = new KafkaSink(sinkConfig("matches", output));
    const source = new KafkaSource(sourceConfig(input, group, { stopAtEnd: false, maxBatchBytes: 16 * 1024 }));
    let delivered = 0;
    const run = runPipeline(source, evaluator, [sink], {
      maxInFlight: 2,
      signal: new AbortController().signal,
      observer: { onResult: () => delivered++ },
    });
    const deadline = Date.now() + 60_000;
    while (delivered < 3 && Date.now() < deadline) await Bun.sleep(20);
    await withTimeout(source.stop(), 30_000, "source.stop()");
    const outcome = await withTimeout(run, 30_000, "pipeline after stop");
    await sink.stop();
    expect(outcome.ledger.open).toBe(0);

    const committed = Number((await committedOffsets(kafka, group, input)).get(0) ?? "-1");
    expect(committed).toBeGreaterThan(0);
    // Everything up to the commit was written out: matches cover at least a third of it.
    const matches = await readTopic(kafka, output, Math.ceil(committed / 3), 30_000);
    expect(matches.length).toBeGreaterThanOrEqual(Math.ceil(committed / 3));
  }, 120_000);
});
