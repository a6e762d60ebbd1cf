/**
 * Kafka sink (`--output kafka`): match records to `--kafka-out-topic`, or,
 * in the dead-letters role, dead-letter records to `--kafka-dead-letter-topic`
 * with the reason also in the `sigma-reason` header (so a consumer can route
 * on it without parsing the value). Records render through io/records.ts,
 * the one definition of the record format.
 *
 * Durability: an idempotent producer (acks -1, retries unbounded, one request
 * in flight, as kafkajs's idempotent mode wants) and a batch's ack settles
 * only after every send() of it resolved, so a source commits its input only
 * once the output is on every in-sync replica.
 *
 * `write()` returns once the sends are queued, not when they resolve, so the
 * next batch can be evaluated meanwhile; at most `maxPendingBatches` batches
 * wait on the broker before `write()` itself waits (backpressure).
 */

import { Partitioners, type ICustomPartitioner, type Kafka, type Message, type Producer } from "kafkajs";
import type { Options } from "../../cli/args.ts";
import { UsageError } from "../../cli/args.ts";
import { errorMessage, log } from "../../telemetry/log.ts";
import type { Ack } from "../ack.ts";
import { connectionFailure, createKafkaClient, kafkaConnectionFlags, parseKafkaConnection, type KafkaConnectionConfig } from "../kafka/client.ts";
import { allDeadLetters } from "../kafka/lines.ts";
import { deadLetterRecord, matchRecordBuffers } from "../records.ts";
import type { EvalResult } from "../result.ts";
import type { RuleHeader } from "../../plan/types.ts";
import type { Sink, SinkRole } from "../sink.ts";
import type { SinkSpec } from "../spec.ts";
import type { LabelledMetric } from "../../telemetry/metrics.ts";

/** The message key: the rule id, or the value of an event field (dotted path) as text. */
export type KafkaKeyConfig = { kind: "rule" } | { kind: "field"; field: string };

export interface KafkaSinkConfig {
  role: SinkRole;
  connection: KafkaConnectionConfig;
  topic: string;
  key: KafkaKeyConfig;
  /** Batches whose sends may be unresolved before write() waits. */
  maxPendingBatches: number;
}

export const REASON_HEADER = "sigma-reason";
export const RULE_HEADER = "sigma-rule";

/**
 * Brokers reject a record batch over message.max.bytes (1 MiB by default),
 * and kafkajs puts one send's messages for a partition in one record batch,
 * so a batch's records are sent in slices below that.
 */
const MAX_SEND_BYTES = 768 * 1024;

/** An event field by dotted path, as the message key; `undefined` when absent. */
export function fieldKey(eventJson: string, path: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(eventJson);
  } catch {
    return undefined;
  }
  // A top-level key spelled with dots wins, as in the engine's field lookup.
  if (value !== null && typeof value === "object" && path in value) {
    value = (value as Record<string, unknown>)[path];
  } else {
    for (const part of path.split(".")) {
      if (value === null || typeof value !== "object") return undefined;
      value = (value as Record<string, unknown>)[part];
    }
  }
  if (value === undefined || value === null) return undefined;
  return typeof value === "string" ? value : JSON.stringify(value);
}

const ruleIdBytes = new WeakMap<RuleHeader, Buffer>();

/** The rule id as the `sigma-rule` header value, encoded once per rule rather than once per message. */
function ruleHeaderValue(rule: RuleHeader): Buffer {
  let value = ruleIdBytes.get(rule);
  if (value === undefined) {
    value = Buffer.from(rule.id);
    ruleIdBytes.set(rule, value);
  }
  return value;
}

const NO_RULE = Buffer.alloc(0);

/** The Kafka messages for one evaluated batch, in row order. */
export function renderMessages(result: EvalResult, role: SinkRole, key: KafkaKeyConfig, detectedAt: string): Message[] {
  const messages: Message[] = [];
  if (role === "dead-letters") {
    for (const dead of allDeadLetters(result)) {
      messages.push({ value: deadLetterRecord(result, dead), headers: { [REASON_HEADER]: dead.reason } });
    }
    return messages;
  }
  // Buffer values: kafkajs copies a Buffer as it is, but measures and encodes a string again per message.
  const values = matchRecordBuffers(result, detectedAt);
  for (let i = 0; i < values.length; i++) {
    const rule = result.rules[result.matchRules[i] ?? 0];
    const ruleId = rule?.id ?? "";
    const messageKey = key.kind === "rule" ? ruleId : (fieldKey(result.eventJson(result.matchRows[i] ?? 0), key.field) ?? null);
    messages.push({ key: messageKey, value: values[i] as Buffer, headers: { [RULE_HEADER]: rule === undefined ? NO_RULE : ruleHeaderValue(rule) } });
  }
  return messages;
}

/**
 * kafkajs's DefaultPartitioner (murmur2 of the key, as the Java client), with
 * each key's partition remembered: it hashes with 64-bit Long arithmetic in JS
 * and filters the partition list for every message, and match records repeat
 * a few thousand rule ids. Exact: a keyed message's partition depends only on
 * its key and the partition count, and the cache is dropped when that changes.
 */
export function keyCachingPartitioner(): ICustomPartitioner {
  return () => {
    const hashed = Partitioners.DefaultPartitioner();
    const cache = new Map<string, Map<string, number>>();
    const counts = new Map<string, number>();
    return (args) => {
      const { topic, partitionMetadata, message } = args;
      if (typeof message.key !== "string" || (message.partition !== undefined && message.partition !== null)) return hashed(args);
      let byKey = cache.get(topic);
      if (byKey === undefined || counts.get(topic) !== partitionMetadata.length || byKey.size >= MAX_CACHED_KEYS) {
        byKey = new Map();
        cache.set(topic, byKey);
        counts.set(topic, partitionMetadata.length);
      }
      let partition = byKey.get(message.key);
      if (partition === undefined) {
        partition = hashed(args);
        byKey.set(message.key, partition);
      }
      return partition;
    };
  };
}

/** Field-value keys are unbounded; past this many the cache starts over. */
const MAX_CACHED_KEYS = 65_536;

function slices(messages: Message[]): Message[][] {
  const out: Message[][] = [];
  let current: Message[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = (typeof message.value === "string" ? message.value.length : (message.value?.byteLength ?? 0)) + 64;
    if (current.length > 0 && bytes + size > MAX_SEND_BYTES) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

export class KafkaSink implements Sink {
  readonly kind = "kafka";
  readonly role: SinkRole;
  readonly #config: KafkaSinkConfig;
  readonly #producer: Producer;
  #connected: Promise<void> | undefined;
  readonly #pending = new Set<Promise<void>>();
  #produced = 0;
  #failed = 0;

  constructor(config: KafkaSinkConfig, kafka: Kafka = createKafkaClient(config.connection)) {
    this.role = config.role;
    this.#config = config;
    this.#producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: true,
      createPartitioner: keyCachingPartitioner(),
    });
  }

  /** Per topic: messages the broker acknowledged, messages whose send failed, batches awaiting the broker. */
  metrics(): LabelledMetric[] {
    const labels = { topic: this.#config.topic, role: this.role };
    return [
      { name: "kafka_produced_messages_total", help: "messages the brokers acknowledged", kind: "counter", series: [{ labels, value: this.#produced }] },
      { name: "kafka_failed_messages_total", help: "messages whose send failed (their batches were not delivered)", kind: "counter", series: [{ labels, value: this.#failed }] },
      { name: "kafka_pending_batches", help: "batches sent and not yet acknowledged by the brokers", kind: "gauge", series: [{ labels, value: this.#pending.size }] },
    ];
  }

  async write(result: EvalResult, ack: Ack): Promise<void> {
    const messages = renderMessages(result, this.role, this.#config.key, new Date().toISOString());
    if (messages.length === 0) {
      ack.settle("delivered");
      return;
    }
    this.#connected ??= this.#producer.connect().catch((error: unknown) => {
      throw new Error(connectionFailure(this.#config.connection, error));
    });
    await this.#connected;
    while (this.#pending.size >= this.#config.maxPendingBatches) await Promise.race(this.#pending);
    const { topic } = this.#config;
    const sent = Promise.all(slices(messages).map((part) => this.#producer.send({ topic, acks: -1, messages: part }))).then(
      () => {
        this.#produced += messages.length;
        ack.settle("delivered");
      },
      (error: unknown) => {
        this.#failed += messages.length;
        const reason = `kafka send to ${topic} failed: ${errorMessage(error)}`;
        log.error("kafka.send_failed", { topic, messages: messages.length, error: reason });
        ack.settle("failed", reason);
      },
    );
    this.#pending.add(sent);
    void sent.finally(() => this.#pending.delete(sent));
  }

  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  async stop(): Promise<void> {
    await this.flush();
    if (this.#connected !== undefined) await this.#producer.disconnect();
  }
}

function parseKey(text: string | undefined): KafkaKeyConfig {
  if (text === undefined || text === "rule") return { kind: "rule" };
  if (text.startsWith("field:") && text.length > "field:".length) return { kind: "field", field: text.slice("field:".length) };
  throw new UsageError(`--kafka-key must be "rule" or "field:<name>", got "${text}"`);
}

export function parseKafkaSinkConfig(options: Options, role: SinkRole): KafkaSinkConfig {
  const connection = parseKafkaConnection(options);
  const flag = role === "matches" ? "kafka-out-topic" : "kafka-dead-letter-topic";
  const topic = options.string(flag);
  if (topic === undefined || topic === "") throw new UsageError(`--${flag} is required for Kafka ${role}`);
  return {
    role,
    connection,
    topic,
    key: parseKey(options.string("kafka-key")),
    maxPendingBatches: options.integer("kafka-max-pending-batches", 8, 1),
  };
}

export function createKafkaSink(config: KafkaSinkConfig): KafkaSink {
  return new KafkaSink(config);
}

export const kafkaSinkSpec: SinkSpec<KafkaSinkConfig> = {
  kind: "kafka",
  flags: [
    ...kafkaConnectionFlags,
    { name: "kafka-out-topic", description: "Kafka topic for match records (required for kafka output)", takesValue: true, required: true },
    { name: "kafka-dead-letter-topic", description: "Kafka topic for dead-letter records; the reason is also in header sigma-reason", takesValue: true },
    { name: "kafka-key", description: "match message key: rule (rule id, default) or field:<dotted.name>", takesValue: true },
    { name: "kafka-max-pending-batches", description: "batches awaiting broker acks before output waits (default 8)", takesValue: true },
  ],
  parse: parseKafkaSinkConfig,
  create: (config) => createKafkaSink(config),
};
