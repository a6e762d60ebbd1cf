/**
 * The Kafka at-least-once rules without a broker: offsets commit only over
 * gap-free runs of delivered batches, a failure blocks its partition, stale
 * acks after a rebalance are ignored, commits coalesce and never go back;
 * and message values become exactly one row each, evaluated by the engine.
 */

import { describe, expect, test } from "bun:test";
import { Options } from "../../src/cli/args.ts";
import { InvalidBatch } from "../../src/batch/batch.ts";
import { allDeadLetters, EMPTY_VALUE_REASON, KafkaOrigin, messagesToBatch } from "../../src/io/kafka/lines.ts";
import { Engine } from "../../src/native/engine.ts";
import { buildPlan } from "../../src/plan/build.ts";
import { loadYaml, ruleWith } from "../rules/helpers.ts";
import { CoalescingCommitter, ContiguousOffsets, type PartitionOffset } from "../../src/io/kafka/offsets.ts";
import { parseKafkaSinkConfig } from "../../src/io/sinks/kafka.ts";
import { parseKafkaSourceConfig } from "../../src/io/sources/kafka.ts";
import { fieldKey } from "../../src/io/sinks/kafka.ts";

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("ContiguousOffsets", () => {
  test("commits the last offset + 1 of a run delivered in order", () => {
    const offsets = new ContiguousOffsets();
    const a = offsets.register("t", 0, "0", "9");
    const b = offsets.register("t", 0, "10", "19");
    expect(offsets.settle(a, "delivered")).toEqual({ topic: "t", partition: 0, offset: "10" });
    expect(offsets.settle(b, "delivered")).toEqual({ topic: "t", partition: 0, offset: "20" });
    expect(offsets.pending).toBe(0);
  });

  test("holds back a batch delivered before an earlier one, then commits past both", () => {
    const offsets = new ContiguousOffsets();
    const a = offsets.register("t", 0, "0", "9");
    const b = offsets.register("t", 0, "10", "19");
    const c = offsets.register("t", 0, "20", "29");
    expect(offsets.settle(c, "delivered")).toBeUndefined();
    expect(offsets.settle(b, "delivered")).toBeUndefined();
    expect(offsets.settle(a, "delivered")).toEqual({ topic: "t", partition: 0, offset: "30" });
  });

  test("partitions are independent", () => {
    const offsets = new ContiguousOffsets();
    const p0 = offsets.register("t", 0, "0", "4");
    const p1 = offsets.register("t", 1, "0", "7");
    const other = offsets.register("u", 0, "100", "100");
    expect(offsets.settle(p1, "delivered")).toEqual({ topic: "t", partition: 1, offset: "8" });
    expect(offsets.settle(other, "delivered")).toEqual({ topic: "u", partition: 0, offset: "101" });
    expect(offsets.pending).toBe(1);
    expect(offsets.settle(p0, "delivered")).toEqual({ topic: "t", partition: 0, offset: "5" });
  });

  test("a failed batch blocks its partition for good and is reported", () => {
    const offsets = new ContiguousOffsets();
    const a = offsets.register("t", 0, "0", "9");
    const b = offsets.register("t", 0, "10", "19");
    const c = offsets.register("t", 0, "20", "29");
    const elsewhere = offsets.register("t", 1, "0", "0");
    expect(offsets.settle(a, "delivered")).toEqual({ topic: "t", partition: 0, offset: "10" });
    expect(offsets.settle(b, "failed", "sink down")).toBeUndefined();
    expect(offsets.settle(c, "delivered")).toBeUndefined();
    expect(offsets.settle(elsewhere, "delivered")).toEqual({ topic: "t", partition: 1, offset: "1" });
    expect(offsets.firstFailure?.reason).toBe("sink down");
    expect(offsets.firstFailure?.ticket.firstOffset).toBe("10");
    const d = offsets.register("t", 0, "30", "39");
    expect(offsets.settle(d, "delivered")).toBeUndefined();
  });

  test("a failure before a delivered batch means the later one is never committed", () => {
    const offsets = new ContiguousOffsets();
    const a = offsets.register("t", 0, "0", "9");
    const b = offsets.register("t", 0, "10", "19");
    expect(offsets.settle(b, "delivered")).toBeUndefined();
    expect(offsets.settle(a, "failed")).toBeUndefined();
  });

  test("an ack settles once: repeats are ignored", () => {
    const offsets = new ContiguousOffsets();
    const a = offsets.register("t", 0, "0", "9");
    expect(offsets.settle(a, "delivered")).toBeDefined();
    expect(offsets.settle(a, "delivered")).toBeUndefined();
    expect(offsets.settle(a, "failed")).toBeUndefined();
    expect(offsets.firstFailure).toBeUndefined();
    expect(offsets.pending).toBe(0);
  });

  test("after reset (a rebalance) acks of old batches commit nothing", () => {
    const offsets = new ContiguousOffsets();
    const old = offsets.register("t", 0, "0", "9");
    offsets.reset();
    expect(offsets.pending).toBe(0);
    expect(offsets.settle(old, "delivered")).toBeUndefined();
    // The new owner re-reads from the committed offset; the same range is a new batch.
    const again = offsets.register("t", 0, "0", "9");
    expect(offsets.settle(again, "delivered")).toEqual({ topic: "t", partition: 0, offset: "10" });
  });

  test("offsets past 2^53 stay exact", () => {
    const offsets = new ContiguousOffsets();
    const a = offsets.register("t", 0, "9007199254740993", "9007199254740999");
    expect(offsets.settle(a, "delivered")?.offset).toBe("9007199254741000");
  });

  test("registering out of fetch order is a bug and throws", () => {
    const offsets = new ContiguousOffsets();
    offsets.register("t", 0, "10", "19");
    expect(() => offsets.register("t", 0, "0", "9")).toThrow(RangeError);
  });
});

describe("CoalescingCommitter", () => {
  test("sends one commit at a time and coalesces to the newest position", async () => {
    const sent: PartitionOffset[][] = [];
    let release: () => void = () => {};
    const committer = new CoalescingCommitter(
      (offsets) => {
        sent.push(offsets);
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      },
      () => {},
    );
    committer.request({ topic: "t", partition: 0, offset: "10" });
    committer.request({ topic: "t", partition: 0, offset: "20" });
    committer.request({ topic: "t", partition: 0, offset: "15" });
    committer.request({ topic: "t", partition: 1, offset: "5" });
    expect(sent).toEqual([[{ topic: "t", partition: 0, offset: "10" }]]);
    release();
    await Bun.sleep(1);
    expect(sent[1]).toEqual([
      { topic: "t", partition: 0, offset: "20" },
      { topic: "t", partition: 1, offset: "5" },
    ]);
    release();
    await committer.drain();
    expect(sent.length).toBe(2);
  });

  test("a failed commit is reported and the next one still goes out", async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const committer = new CoalescingCommitter(
      async () => {
        calls++;
        if (calls === 1) throw new Error("rebalance in progress");
      },
      (error) => errors.push(error),
    );
    committer.request({ topic: "t", partition: 0, offset: "1" });
    await committer.drain();
    committer.request({ topic: "t", partition: 0, offset: "2" });
    await committer.drain();
    expect(errors.length).toBe(1);
    expect(calls).toBe(2);
  });
});

describe("messagesToBatch", () => {
  /** Values as kafkajs hands them: slices of one response buffer, with record headers between them. */
  function fetched(values: (string | null)[]): { offset: string; value: Uint8Array | null }[] {
    const response = new Uint8Array(4096);
    let at = 16;
    return values.map((value, i) => {
      if (value === null) return { offset: String(100 + i), value: null };
      const encoded = bytes(value);
      response.set(encoded, at);
      const slice = response.subarray(at, at + encoded.length);
      at += encoded.length + 7;
      return { offset: String(100 + i), value: slice };
    });
  }

  /** The lines of a span batch as strings. */
  function lines(batch: ReturnType<typeof messagesToBatch>): string[] {
    return Array.from({ length: batch.spans.length / 2 }, (_, r) => text(batch.source.subarray(batch.spans[2 * r], batch.spans[2 * r + 1])));
  }

  test("one span per message over the buffer the values share, copied nowhere", () => {
    const messages = fetched(['{"a":1}', '{"a":2}']);
    const batch = messagesToBatch("events", 3, messages);
    expect(batch.source.buffer).toBe(messages[0]!.value!.buffer);
    expect(lines(batch)).toEqual(['{"a":1}', '{"a":2}']);
    expect(batch.origin.position(1)).toEqual({ topic: "events", partition: 3, offset: "101" });
  });

  test("null and empty values are empty spans listed as rejected", () => {
    const messages = fetched([null, '{"ok":true}', ""]);
    const batch = messagesToBatch("t", 0, messages);
    expect(lines(batch)).toEqual(["", '{"ok":true}', ""]);
    expect((batch.origin as KafkaOrigin).rejected).toEqual([
      { row: 0, reason: EMPTY_VALUE_REASON },
      { row: 2, reason: EMPTY_VALUE_REASON },
    ]);
  });

  test("values from several buffers (decompressed record batches) are copied into one source", () => {
    const batch = messagesToBatch("t", 0, [
      { offset: "0", value: bytes('{"x":"first"}') },
      { offset: "1", value: null },
      { offset: "2", value: bytes('{"x":"second"}') },
    ]);
    expect(lines(batch)).toEqual(['{"x":"first"}', "", '{"x":"second"}']);
  });

  test("the engine evaluates one row per message: pretty JSON stays one event, tombstones none", async () => {
    const { engine } = Engine.compile(buildPlan(loadYaml(ruleWith("msg|contains: line2"))).plan);
    const pretty = '{\n  "msg": "line1\nline2",\r\n  "esc": "a\\"\n"\n}\n';
    const result = await engine.evaluate(messagesToBatch("t", 0, fetched(['{"msg":"other"}', null, pretty, '{"msg":"line2"}'])));
    expect(result.rows).toBe(4);
    expect(result.events).toBe(3);
    expect(Array.from(result.matchRows)).toEqual([2, 3]);
    expect(JSON.parse(result.eventJson(2))).toEqual({ msg: "line1\nline2", esc: 'a"\n' });
    expect(allDeadLetters(result)).toEqual([{ row: 1, reason: EMPTY_VALUE_REASON }]);
  });

  test("spans outside the source are the batch's own fault (InvalidBatch), not a crash", async () => {
    const { engine } = Engine.compile(buildPlan(loadYaml(ruleWith("msg|contains: x"))).plan);
    const batch = { kind: "json-spans" as const, source: bytes("{}"), spans: Uint32Array.from([0, 9]), origin: new KafkaOrigin("t", 0, [], []) };
    await expect(engine.evaluate(batch)).rejects.toBeInstanceOf(InvalidBatch);
  });
});

describe("flag parsing", () => {
  const options = (entries: [string, string | string[] | boolean][]): Options => new Options(new Map(entries));

  test("source: brokers and topics as lists, defaults", () => {
    const config = parseKafkaSourceConfig(
      options([
        ["brokers", ["a:9092,b:9093"]],
        ["topic", ["x", "y,z"]],
      ]),
    );
    expect(config.connection.brokers).toEqual(["a:9092", "b:9093"]);
    expect(config.topics).toEqual(["x", "y", "z"]);
    expect(config.groupId).toBe("sigma");
    expect(config.fromBeginning).toBe(false);
  });

  test("source: missing topic and bad broker are usage errors", () => {
    expect(() => parseKafkaSourceConfig(options([["brokers", "a:1"]]))).toThrow(/--topic is required/);
    expect(() => parseKafkaSourceConfig(options([["brokers", "nohost"], ["topic", "t"]]))).toThrow(/not host:port/);
  });

  test("SASL needs a user and a password, which may come from the environment", () => {
    const base: [string, string | string[] | boolean][] = [
      ["brokers", "a:1"],
      ["topic", "t"],
      ["kafka-sasl-mechanism", "scram-sha-512"],
    ];
    expect(() => parseKafkaSourceConfig(options(base))).toThrow(/--kafka-username/);
    const previous = process.env.SIGMA_KAFKA_PASSWORD;
    process.env.SIGMA_KAFKA_PASSWORD = "s3cret";
    try {
      const config = parseKafkaSourceConfig(options([...base, ["kafka-username", "u"]]));
      expect(config.connection.sasl).toEqual({ mechanism: "scram-sha-512", username: "u", password: "s3cret" });
    } finally {
      if (previous === undefined) delete process.env.SIGMA_KAFKA_PASSWORD;
      else process.env.SIGMA_KAFKA_PASSWORD = previous;
    }
  });

  test("sink: topic per role, key rule or field", () => {
    const config = parseKafkaSinkConfig(options([["brokers", "a:1"], ["kafka-out-topic", "out"], ["kafka-key", "field:host.name"]]), "matches");
    expect(config.topic).toBe("out");
    expect(config.key).toEqual({ kind: "field", field: "host.name" });
    expect(() => parseKafkaSinkConfig(options([["brokers", "a:1"], ["kafka-out-topic", "out"]]), "dead-letters")).toThrow(
      /--kafka-dead-letter-topic/,
    );
    expect(() => parseKafkaSinkConfig(options([["brokers", "a:1"], ["kafka-out-topic", "o"], ["kafka-key", "nope"]]), "matches")).toThrow(
      /--kafka-key/,
    );
  });

  test("field keys follow dotted paths and literal dotted names", () => {
    expect(fieldKey('{"host":{"name":"h1"}}', "host.name")).toBe("h1");
    expect(fieldKey('{"host.name":"h2"}', "host.name")).toBe("h2");
    expect(fieldKey('{"EventID":4688}', "EventID")).toBe("4688");
    expect(fieldKey('{"a":1}', "b")).toBeUndefined();
  });
});
