/**
 * Test helpers around the real broker that scripts/services/kafka.sh runs:
 * start and stop it (or say why it cannot run here), name its two client
 * listeners (PLAINTEXT, and SASL_SSL with its CA and test user), create
 * uniquely named topics, produce, and read a topic back with a bounded wait.
 * The helpers' own clients use the PLAINTEXT listener: it is the same broker
 * and the same topics. Every wait has a deadline so a broken broker fails a
 * test instead of hanging CI.
 */

import { spawnSync } from "bun";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Kafka, logLevel, Partitioners, type Message } from "kafkajs";
import { TLS_DIR } from "../support/tls.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const SCRIPT = `${ROOT}scripts/services/kafka.sh`;
export const KAFKA_PORT = Number(process.env.SIGMA_TEST_KAFKA_PORT ?? "19092");
export const BROKER = `127.0.0.1:${KAFKA_PORT}`;
const KAFKA_SASL_PORT = Number(process.env.SIGMA_TEST_KAFKA_SASL_PORT ?? String(KAFKA_PORT + 2));
/** The SASL_SSL listener: TLS with a certificate for 127.0.0.1 from a throwaway CA, then SASL PLAIN or SCRAM-SHA-512. */
export const SASL_SSL_BROKER = `127.0.0.1:${KAFKA_SASL_PORT}`;
/** The tests' CA, which signs the SASL_SSL listener's certificate; kafka.sh has it made on start. */
export const SASL_SSL_CA = join(TLS_DIR, "ca.pem");
/** The SASL_SSL listener's one user, for both mechanisms; kafka.sh holds the same throwaway pair. */
export const SASL_USER = "sigma-test";
export const SASL_PASSWORD = "sigma-test-password";

/** Why the broker cannot run on this machine, or undefined when it can. */
export function brokerUnavailableReason(): string | undefined {
  for (const tool of ["java", "mvn", "openssl"]) {
    if (Bun.which(tool) === null) return `${tool} is not installed: skipping Kafka broker tests (install Java 17+, Maven and openssl)`;
  }
  return undefined;
}

function runScript(command: "start" | "stop"): void {
  const result = spawnSync(["bash", SCRIPT, command], {
    env: { ...process.env, KAFKA_PORT: String(KAFKA_PORT), KAFKA_SASL_PORT: String(KAFKA_SASL_PORT) },
    stdout: "pipe",
    stderr: "pipe",
    timeout: 240_000,
  });
  if (result.exitCode !== 0) {
    throw new Error(`kafka.sh ${command} failed (${result.exitCode}): ${result.stderr.toString()}${result.stdout.toString()}`);
  }
}

export function startBroker(): void {
  runScript("start");
}

/** CPU seconds the running broker's JVM has used so far (user + system), or undefined when it is not running here. */
export function brokerCpuSeconds(): number | undefined {
  try {
    const pid = readFileSync(`${ROOT}.cache/kafka/broker-${KAFKA_PORT}.pid`, "utf8").trim();
    // /proc/PID/stat: fields 14 and 15 (utime, stime) in clock ticks, counted after the ")" that ends the command name.
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / CLOCK_TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

/** Linux's USER_HZ, which /proc reports CPU times in on every mainstream architecture. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Stops the broker unless SIGMA_KAFKA_KEEP=1 (a developer iterating on tests). */
export function stopBroker(): void {
  if (process.env.SIGMA_KAFKA_KEEP === "1") return;
  runScript("stop");
}

export function testKafka(): Kafka {
  return new Kafka({ clientId: "sigma-test", brokers: [BROKER], logLevel: logLevel.NOTHING });
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export async function createTopics(kafka: Kafka, topics: string[], partitions = 1): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: partitions })) });
  } finally {
    await admin.disconnect();
  }
}

export async function produce(kafka: Kafka, topic: string, messages: Message[], chunk = 1000): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += chunk) {
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + chunk) });
    }
  } finally {
    await producer.disconnect();
  }
}

export interface ReadMessage {
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

/**
 * Reads `topic` from the beginning until `expected` messages arrived and the
 * topic stayed quiet for `settleMs` (so extra messages are seen too), or until
 * `timeoutMs`. Returns what it read either way; the test judges.
 */
export async function readTopic(kafka: Kafka, topic: string, expected: number, timeoutMs = 60_000, settleMs = 1500): Promise<ReadMessage[]> {
  const consumer = kafka.consumer({ groupId: uniqueName("reader"), maxWaitTimeInMs: 200 });
  const out: ReadMessage[] = [];
  let lastArrival = Date.now();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) {
          if (value !== undefined) headers[name] = value.toString();
        }
        out.push({ key: message.key?.toString() ?? null, value: message.value?.toString() ?? "", headers });
        lastArrival = Date.now();
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (out.length >= expected && Date.now() - lastArrival >= settleMs) break;
      await Bun.sleep(100);
    }
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/** Committed offsets of a group on a topic, by partition. */
export async function committedOffsets(kafka: Kafka, groupId: string, topic: string): Promise<Map<number, string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((entry?.partitions ?? []).map((p) => [p.partition, p.offset]));
  } finally {
    await admin.disconnect();
  }
}
