/**
 * Kafka source (`--input kafka`): a kafkajs consumer-group member that turns
 * each fetched partition batch into one `SpannedJsonBatch` (kafka/lines.ts)
 * and commits offsets only from acks, over gap-free runs of delivered
 * batches (kafka/offsets.ts). That is the at-least-once guarantee: a crash at
 * any point re-reads from the last committed offset, so matches may repeat
 * but are never lost.
 *
 * Failure policy: a failed ack (a sink could not write) stops the source. No
 * offset at or after the failed batch is committed, batches of other
 * partitions still in flight drain and commit, the consumer leaves the group
 * and `start()` rejects naming the batch. Restarting (a supervisor, or the
 * next run) re-reads from the failed batch. Seeking back in-process was not
 * chosen: a sink that fails once usually fails again, and a tight re-read loop
 * would hide that behind duplicates.
 *
 * Backpressure: `ctx.emit` waits while the pipeline is full, and kafkajs does
 * not fetch a partition again until its `eachBatch` returns, so fetching
 * pauses by itself; heartbeats continue during the wait so the group does not
 * evict a slow member.
 *
 * Stopping (`stop()` or `ctx.signal`): pause fetching, let emitted batches
 * finish and commit (bounded by `drainTimeoutMs`), then disconnect.
 */

import type { Consumer, EachBatchPayload, Kafka } from "kafkajs";
import type { Options } from "../../cli/args.ts";
import { UsageError } from "../../cli/args.ts";
import { errorMessage, log } from "../../telemetry/log.ts";
import { Ack, type AckStatus } from "../ack.ts";
import { connectionFailure, createKafkaClient, kafkaConnectionFlags, parseKafkaConnection, type KafkaConnectionConfig } from "../kafka/client.ts";
import { messagesToBatch } from "../kafka/lines.ts";
import { CoalescingCommitter, ContiguousOffsets, type BatchTicket, type PartitionOffset } from "../kafka/offsets.ts";
import { InputUnreadable, type Source, type SourceContext } from "../source.ts";
import type { SourceSpec } from "../spec.ts";
import type { LabelledMetric } from "../../telemetry/metrics.ts";

export interface KafkaSourceConfig {
  connection: KafkaConnectionConfig;
  topics: string[];
  groupId: string;
  /** Where a group without committed offsets starts: earliest (true) or latest. */
  fromBeginning: boolean;
  /** Stop once every partition is committed up to the end offsets seen at start. */
  stopAtEnd: boolean;
  /** Most bytes fetched per partition per batch: the size of one engine call. */
  maxBatchBytes: number;
  /** How long `stop()` waits for emitted batches to be acknowledged. */
  drainTimeoutMs: number;
}

/** A failed ack or a consumer crash: the run ends with this error. */
export class KafkaSourceFailed extends Error {}

const HEARTBEAT_EVERY_MS = 3000;

/**
 * How long the broker holds a fetch that finds no new data. kafkajs's 5 s
 * default made every stop wait up to 5 s, since stopping waits for the
 * parked fetch to return: a `--kafka-stop-at-end` run over 200k events with
 * a do-nothing pipeline took 7.5 s, 2.6 s with 200 ms. Data still comes back
 * at once (minBytes 1); an idle consumer just polls a few times a second.
 */
const FETCH_MAX_WAIT_MS = 200;

/** The consumer's fetch settings for batches of at most `maxBatchBytes` per partition (bench/kafka.ts uses them too). */
export function fetchSettings(maxBatchBytes: number): { maxBytesPerPartition: number; maxBytes: number; maxWaitTimeInMs: number } {
  return { maxBytesPerPartition: maxBatchBytes, maxBytes: Math.max(maxBatchBytes * 4, 50 << 20), maxWaitTimeInMs: FETCH_MAX_WAIT_MS };
}

interface PartitionPosition {
  topic: string;
  partition: number;
  logEnd: number;
  committed: number;
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** Awaits `work`, calling kafkajs heartbeat() meanwhile so a long backpressure wait keeps group membership. */
async function whileHeartbeating<T>(work: Promise<T>, heartbeat: () => Promise<void>): Promise<T> {
  const timer = setInterval(() => {
    // A heartbeat during a rebalance rejects; kafkajs rejoins after this batch.
    heartbeat().catch((error: unknown) => log.debug("kafka.heartbeat_failed", { error: errorMessage(error) }));
  }, HEARTBEAT_EVERY_MS);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

export class KafkaSource implements Source {
  readonly kind = "kafka";
  readonly #config: KafkaSourceConfig;
  readonly #kafka: Kafka;
  readonly #offsets = new ContiguousOffsets();
  #consumer: Consumer | undefined;
  #committer: CoalescingCommitter | undefined;
  #stopping = false;
  #failure: KafkaSourceFailed | undefined;
  #requestStop: () => void = () => {};
  readonly #stopRequested: Promise<void>;
  #finished: Promise<void> = Promise.resolve();
  #batchInProgress: Promise<void> = Promise.resolve();
  #ackWaiters: (() => void)[] = [];
  /** Partitions still short of their end offset, for `stopAtEnd`. */
  #endOffsets = new Map<string, bigint>();
  /** Each assigned partition's offsets as /metrics reports them. */
  readonly #positions = new Map<string, PartitionPosition>();

  constructor(config: KafkaSourceConfig, kafka: Kafka = createKafkaClient(config.connection)) {
    this.#config = config;
    this.#kafka = kafka;
    this.#stopRequested = new Promise<void>((resolve) => {
      this.#requestStop = resolve;
    });
  }

  start(ctx: SourceContext): Promise<void> {
    this.#finished = this.#run(ctx);
    return this.#finished;
  }

  async stop(): Promise<void> {
    this.#beginStop();
    await this.#finished.catch(() => undefined);
  }

  async #run(ctx: SourceContext): Promise<void> {
    const { groupId, topics, fromBeginning, maxBatchBytes } = this.#config;
    const consumer = this.#kafka.consumer({
      groupId,
      ...fetchSettings(maxBatchBytes),
      allowAutoTopicCreation: false,
    });
    this.#consumer = consumer;
    this.#committer = new CoalescingCommitter(
      (offsets) => consumer.commitOffsets(offsets),
      (error, offsets) => log.warn("kafka.commit_failed", { error: errorMessage(error), offsets }),
    );
    const onAbort = (): void => this.#beginStop();
    ctx.signal.addEventListener("abort", onAbort);
    if (ctx.signal.aborted) this.#beginStop();
    // A rebalance invalidates in-flight batches: their offsets stay uncommitted (see offsets.ts).
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      if (this.#offsets.pending > 0) log.info("kafka.rebalanced", { pending: this.#offsets.pending, memberId: event.payload.memberId });
      this.#offsets.reset();
      this.#forgetUnassigned(event.payload.memberAssignment);
    });
    consumer.on(consumer.events.CRASH, (event) => {
      if (!event.payload.restart) this.#fail(`kafka consumer crashed: ${errorMessage(event.payload.error)}`);
    });
    try {
      try {
        await consumer.connect();
        if (this.#config.stopAtEnd) await this.#loadEndOffsets();
        await consumer.subscribe({ topics, fromBeginning });
      } catch (error) {
        throw new InputUnreadable(connectionFailure(this.#config.connection, error));
      }
      if (this.#config.stopAtEnd && this.#endOffsets.size === 0) this.#beginStop();
      if (!this.#stopping) {
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: 1,
          eachBatch: (payload) => {
            this.#batchInProgress = this.#onBatch(ctx, payload);
            return this.#batchInProgress;
          },
        });
        log.info("kafka.consuming", { topics, groupId, brokers: this.#config.connection.brokers });
      }
      await this.#stopRequested;
      await this.#drain();
    } finally {
      ctx.signal.removeEventListener("abort", onAbort);
      await consumer.disconnect().catch((error: unknown) => log.warn("kafka.disconnect_failed", { error: errorMessage(error) }));
    }
    if (this.#failure !== undefined) throw this.#failure;
  }

  async #onBatch(ctx: SourceContext, payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    // Once stopping, fetched batches are left unread and uncommitted: the next run reads them.
    if (this.#stopping || batch.messages.length === 0) return;
    const rows = messagesToBatch(batch.topic, batch.partition, batch.messages);
    const firstOffset = batch.firstOffset() ?? "0";
    this.#notePosition(batch.topic, batch.partition, batch.highWatermark, firstOffset);
    const ticket = this.#offsets.register(batch.topic, batch.partition, firstOffset, batch.lastOffset());
    const ack = new Ack((status, reason) => this.#onAck(ticket, status, reason), ctx.ledger);
    await whileHeartbeating(ctx.emit(rows, ack), payload.heartbeat);
    // Moves only the fetch position; with autoCommit off nothing is committed here.
    payload.resolveOffset(batch.lastOffset());
  }

  #onAck(ticket: BatchTicket, status: AckStatus, reason: string | undefined): void {
    const position = this.#offsets.settle(ticket, status, reason);
    if (status !== "delivered") {
      this.#fail(
        `batch ${ticket.topic}/${ticket.partition} offsets ${ticket.firstOffset}..${ticket.lastOffset} failed (${reason ?? "no reason"}); ` +
          "its offsets were not committed and will be read again on restart",
      );
    }
    if (position !== undefined) {
      const known = this.#positions.get(partitionKey(position.topic, position.partition));
      if (known !== undefined) known.committed = Number(position.offset);
      this.#committer?.request(position);
      this.#noteCommitted(position);
    }
    const waiters = this.#ackWaiters;
    this.#ackWaiters = [];
    for (const wake of waiters) wake();
  }

  #fail(message: string): void {
    if (this.#failure === undefined) {
      this.#failure = new KafkaSourceFailed(message);
      log.error("kafka.source_failed", { error: message });
    }
    this.#beginStop();
  }

  #beginStop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    try {
      this.#consumer?.pause(this.#config.topics.map((topic) => ({ topic })));
    } catch {
      // Not running yet: there is nothing to pause.
    }
    this.#requestStop();
  }

  /** Waits for emitted batches to settle and their commits to be sent, at most drainTimeoutMs. */
  async #drain(): Promise<void> {
    const deadline = Date.now() + this.#config.drainTimeoutMs;
    await this.#batchInProgress.catch(() => undefined);
    while (this.#offsets.pending > 0 && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        this.#ackWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (this.#offsets.pending > 0) {
      log.warn("kafka.drain_timeout", { pending: this.#offsets.pending, timeoutMs: this.#config.drainTimeoutMs });
    }
    await this.#committer?.drain();
  }

  async #loadEndOffsets(): Promise<void> {
    const { groupId, topics, fromBeginning } = this.#config;
    const admin = this.#kafka.admin();
    await admin.connect();
    try {
      const committed = await admin.fetchOffsets({ groupId, topics });
      for (const topic of topics) {
        const ends = await admin.fetchTopicOffsets(topic);
        const groupOffsets = committed.find((c) => c.topic === topic)?.partitions ?? [];
        for (const end of ends) {
          const high = BigInt(end.high);
          const committedText = groupOffsets.find((p) => p.partition === end.partition)?.offset ?? "-1";
          const start = BigInt(committedText) >= 0n ? BigInt(committedText) : fromBeginning ? BigInt(end.low) : high;
          if (start < high) this.#endOffsets.set(partitionKey(topic, end.partition), high);
        }
      }
    } finally {
      await admin.disconnect();
    }
    log.info("kafka.stop_at_end", { partitionsToRead: this.#endOffsets.size });
  }

  /** A fetched batch's news: the log end; and, for a partition's first batch, where its reading started. */
  #notePosition(topic: string, partition: number, highWatermark: string, firstOffset: string): void {
    const key = partitionKey(topic, partition);
    const known = this.#positions.get(key);
    if (known !== undefined) known.logEnd = Number(highWatermark);
    else this.#positions.set(key, { topic, partition, logEnd: Number(highWatermark), committed: Number(firstOffset) });
  }

  #forgetUnassigned(assignment: Record<string, number[]>): void {
    for (const [key, position] of this.#positions) {
      if (!(assignment[position.topic] ?? []).includes(position.partition)) this.#positions.delete(key);
    }
  }

  /**
   * Per assigned partition: the log end offset at the last fetch, the
   * committed offset (where a restart reads from; before the first commit,
   * where this run started), and the lag between them: records whose
   * matches are not yet acknowledged by every output.
   */
  metrics(): LabelledMetric[] {
    const positions = [...this.#positions.values()];
    const labels = (p: PartitionPosition): Record<string, string> => ({ topic: p.topic, partition: String(p.partition) });
    const series = (value: (p: PartitionPosition) => number) => positions.map((p) => ({ labels: labels(p), value: value(p) }));
    return [
      { name: "kafka_log_end_offset", help: "the partition's log end offset (high watermark) at the last fetch", kind: "gauge", series: series((p) => p.logEnd) },
      { name: "kafka_committed_offset", help: "the partition's offset a restart reads from: every match before it is acknowledged", kind: "gauge", series: series((p) => p.committed) },
      { name: "kafka_consumer_lag", help: "log end offset minus committed offset: records whose matches are not yet acknowledged", kind: "gauge", series: series((p) => Math.max(0, p.logEnd - p.committed)) },
    ];
  }

  #noteCommitted(position: PartitionOffset): void {
    if (!this.#config.stopAtEnd) return;
    const key = partitionKey(position.topic, position.partition);
    const end = this.#endOffsets.get(key);
    if (end !== undefined && BigInt(position.offset) >= end) this.#endOffsets.delete(key);
    if (this.#endOffsets.size === 0) this.#beginStop();
  }
}

export const DEFAULT_MAX_BATCH_BYTES = 4 << 20;

export function parseKafkaSourceConfig(options: Options): KafkaSourceConfig {
  const connection = parseKafkaConnection(options);
  const topics = options.list("topic");
  if (topics.length === 0) throw new UsageError("--topic is required with --input kafka (repeat it or give a comma list)");
  const maxBatchBytes = options.integer("kafka-max-batch-bytes", DEFAULT_MAX_BATCH_BYTES, 1024);
  if (maxBatchBytes > 256 << 20) throw new UsageError("--kafka-max-batch-bytes must be at most 268435456");
  return {
    connection,
    topics,
    groupId: options.string("group") ?? "sigma",
    fromBeginning: options.flag("from-beginning"),
    stopAtEnd: options.flag("kafka-stop-at-end"),
    maxBatchBytes,
    drainTimeoutMs: options.integer("kafka-drain-timeout-ms", 30_000, 0),
  };
}

export function createKafkaSource(config: KafkaSourceConfig): KafkaSource {
  return new KafkaSource(config);
}

export const kafkaSourceSpec: SourceSpec<KafkaSourceConfig> = {
  kind: "kafka",
  flags: [
    ...kafkaConnectionFlags,
    { name: "topic", description: "Kafka topic(s) to consume; repeat or comma list (required for kafka input)", takesValue: true, repeatable: true, required: true },
    { name: "group", description: "Kafka consumer group id (default sigma)", takesValue: true },
    { name: "from-beginning", description: "a group without committed offsets starts at the earliest offset (default: latest)", takesValue: false },
    { name: "kafka-stop-at-end", description: "exit once the end offsets seen at start are consumed and committed", takesValue: false },
    { name: "kafka-max-batch-bytes", description: `bytes fetched per partition per batch (default ${DEFAULT_MAX_BATCH_BYTES})`, takesValue: true },
    { name: "kafka-drain-timeout-ms", description: "on stop, how long to wait for in-flight batches to commit (default 30000)", takesValue: true },
  ],
  parse: parseKafkaSourceConfig,
  create: (config) => createKafkaSource(config),
};
