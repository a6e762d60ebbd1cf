/**
 * The compiled binary end to end through Kafka: `dist/sigma --input kafka
 * --output kafka` against the broker of scripts/services/kafka.sh.
 * (a) every match of N produced events reaches the output topic, exactly;
 * (b) malformed and empty messages reach the dead-letter topic with the
 *     reason in the `sigma-reason` header;
 * (c) at-least-once: the consumer is killed with SIGKILL mid-stream and
 *     restarted, and every expected match is present (duplicates allowed);
 * (d) the round trip of (a) over the SASL_SSL listener, TLS trusting the
 *     test CA, once per SASL mechanism, the password from the environment;
 * (e) a wrong password ends the run at once with an authentication error;
 * (f) TLS without --kafka-ca (the test CA is not a system CA) ends the run
 *     with a certificate error after kafkajs's retries;
 * (g) SIGTERM or SIGINT mid-stream: exit 0, and every match of what the
 *     group committed is in the output topic;
 * (h) a missing input topic is "input unreadable" (exit 4), said in one line;
 * (i) /metrics reports each partition's log end, committed offset and lag,
 *     and the sink's produced, failed and pending counts.
 * Topics and groups are unique per test; every wait is bounded.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { spawn, type Subprocess } from "bun";
import { PASSWORD_ENV } from "../../src/io/kafka/client.ts";
import {
  BROKER,
  brokerUnavailableReason,
  committedOffsets,
  createTopics,
  produce,
  readTopic,
  SASL_PASSWORD,
  SASL_SSL_BROKER,
  SASL_SSL_CA,
  SASL_USER,
  startBroker,
  type ReadMessage,
  stopBroker,
  testKafka,
  uniqueName,
} from "./kafka-broker.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
// SIGMA_E2E_BINARY runs the tests against another build of sigma (e.g. a wrapper around `bun src/main.ts`).
const BINARY = process.env.SIGMA_E2E_BINARY ?? `${ROOT}dist/sigma`;
const RULES = `${ROOT}test/e2e/kafka-rules`;

function skipReason(): string | undefined {
  const broker = brokerUnavailableReason();
  if (broker !== undefined) return broker;
  if (!existsSync(BINARY)) return `${BINARY} is missing: run \`npm run build\` first (CI builds it); skipping Kafka binary tests`;
  return undefined;
}

const skip = skipReason();
if (skip !== undefined) console.warn(skip);

/** Synthetic events: every third one matches the marker rule. */
function events(count: number, from = 0): { value: string; matches: boolean; seq: number }[] {
  return Array.from({ length: count }, (_, k) => {
    const seq = from + k;
    const matches = seq % 3 === 0;
    const value = JSON.stringify({
      EventID: matches ? 4688 : 4624,
      Marker: "kafka-e2e",
      seq,
      Image: `C:\\Windows\\System32\\proc${seq}.exe`,
      CommandLine: `proc${seq}.exe --flag ${"x".repeat(seq % 50)}`,
    });
    return { value, matches, seq };
  });
}

interface Run {
  child: Subprocess<"ignore", "pipe", "pipe">;
  exited: Promise<{ code: number | null; stderr: string }>;
}

function runSigma(args: string[], brokers = BROKER, env: Record<string, string> = {}): Run {
  const child = spawn([BINARY, "--rules", RULES, "--input", "kafka", "--brokers", brokers, "--output", "kafka", "--quiet", ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, SIGMA_LOG: "warn", ...env },
  });
  const exited = (async () => {
    const [stderr] = await Promise.all([new Response(child.stderr).text(), new Response(child.stdout).text()]);
    const code = await child.exited;
    return { code, stderr };
  })();
  return { child, exited };
}

async function finish(run: Run, timeoutMs: number): Promise<{ code: number | null; stderr: string }> {
  const timer = setTimeout(() => run.child.kill("SIGKILL"), timeoutMs);
  try {
    return await run.exited;
  } finally {
    clearTimeout(timer);
  }
}

type Mechanism = "plain" | "scram-sha-512";

/** sigma on the SASL_SSL listener as the test user; the password travels in the environment, never in argv. */
function runSigmaSaslSsl(mechanism: Mechanism, password: string, args: string[], tls = ["--kafka-tls", "--kafka-ca", SASL_SSL_CA]): Run {
  const sasl = ["--kafka-sasl-mechanism", mechanism, "--kafka-username", SASL_USER];
  return runSigma([...args, ...tls, ...sasl], SASL_SSL_BROKER, { [PASSWORD_ENV]: password });
}

/** Like finish(), also timing the run, for the failures that must come quickly. */
async function timedFinish(run: Run, timeoutMs: number): Promise<{ code: number | null; stderr: string; seconds: number }> {
  const started = performance.now();
  const result = await finish(run, timeoutMs);
  return { ...result, seconds: (performance.now() - started) / 1000 };
}

async function endOffsets(topic: string): Promise<{ partition: number; high: string }[]> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    return await admin.fetchTopicOffsets(topic);
  } finally {
    await admin.disconnect();
  }
}

/** Waits, at most `timeoutMs`, until `topic` holds a message: how many it holds then (0 on timeout). */
async function firstOutput(topic: string, timeoutMs: number): Promise<number> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    let written = 0;
    while (written === 0 && Date.now() < deadline) {
      await Bun.sleep(50);
      written = (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
    }
    return written;
  } finally {
    await admin.disconnect();
  }
}

/**
 * `count` events over 3 partitions through `run` (sigma with the given topic
 * flags, to its end): it exits 0 with no error logged, and the output topic
 * holds exactly the expected matches.
 */
async function roundTrip(count: number, run: (args: string[]) => Run): Promise<{ input: string; group: string; produced: ReturnType<typeof events>; out: ReadMessage[] }> {
  const kafka = testKafka();
  const [input, output, group] = [uniqueName("e2e-in"), uniqueName("e2e-out"), uniqueName("e2e-g")];
  await createTopics(kafka, [input], 3);
  await createTopics(kafka, [output], 1);
  const produced = events(count);
  await produce(kafka, input, produced.map(({ value }) => ({ value })));
  const expected = produced.filter((e) => e.matches).map((e) => e.seq);

  const { code, stderr } = await finish(run(["--topic", input, "--group", group, "--from-beginning", "--kafka-stop-at-end", "--kafka-out-topic", output]), 90_000);
  expect(stderr).not.toContain('"level":"error"');
  expect(code).toBe(0);

  const out = await readTopic(kafka, output, expected.length);
  expect(out.length).toBe(expected.length);
  expect(matchSeqs(out.map((m) => m.value)).sort((a, b) => a - b)).toEqual(expected);
  return { input, group, produced, out };
}

function matchSeqs(values: string[]): number[] {
  return values.map((v) => (JSON.parse(v) as { event: { seq: number } }).event.seq);
}

describe.skipIf(skip !== undefined)("dist/sigma --input kafka --output kafka", () => {
  const kafka = testKafka();

  beforeAll(() => startBroker(), 240_000);
  afterAll(() => stopBroker(), 60_000);

  test("(a) round trip: the output topic holds exactly the expected matches", async () => {
    const { input, out } = await roundTrip(6000, runSigma);
    const record = JSON.parse(out[0]?.value ?? "{}") as { rule: { id: string }; source: { topic: string; partition: number; offset: string } };
    expect(record.rule.id).toBe("3d1f5e0a-6b1e-4a57-9a55-5f0f3f2c0e11");
    expect(record.source.topic).toBe(input);
    expect(out[0]?.key).toBe(record.rule.id);
  }, 150_000);

  test("(b) malformed and empty messages land on the dead-letter topic with a sigma-reason header", async () => {
    const [input, output, dead, group] = [uniqueName("e2e-in"), uniqueName("e2e-out"), uniqueName("e2e-dlq"), uniqueName("e2e-g")];
    await createTopics(kafka, [input, output, dead], 1);
    const good = events(30);
    await produce(kafka, input, [
      ...good.map(({ value }) => ({ value })),
      { value: '{"EventID": 4688, "Marker": ' },
      { value: "[1,2,3]" },
      { value: null },
    ]);

    const run = runSigma([
      "--topic", input, "--group", group, "--from-beginning", "--kafka-stop-at-end",
      "--kafka-out-topic", output, "--kafka-dead-letter-topic", dead,
    ]);
    const { code } = await finish(run, 90_000);
    expect(code).toBe(0);

    const deadLetters = await readTopic(kafka, dead, 3);
    expect(deadLetters.length).toBe(3);
    for (const letter of deadLetters) {
      const record = JSON.parse(letter.value) as { reason: string; source: { topic: string; offset: string } };
      expect(letter.headers["sigma-reason"]).toBe(record.reason);
      expect(record.reason.length).toBeGreaterThan(0);
      expect(record.source.topic).toBe(input);
    }
    expect(deadLetters.map((d) => (JSON.parse(d.value) as { source: { offset: string } }).source.offset).sort()).toEqual(["30", "31", "32"]);
    const out = await readTopic(kafka, output, 10);
    expect(out.length).toBe(good.filter((e) => e.matches).length);
  }, 150_000);

  test("(c) at-least-once: SIGKILL mid-stream, restart, every match present", async () => {
    const [input, output, group] = [uniqueName("e2e-in"), uniqueName("e2e-out"), uniqueName("e2e-g")];
    await createTopics(kafka, [input], 3);
    await createTopics(kafka, [output], 1);
    const total = 90_000;
    const produced = events(total);
    await produce(kafka, input, produced.map(({ value }) => ({ value })), 500);
    const expected = produced.filter((e) => e.matches).map((e) => e.seq);

    // Small batches and one batch in flight make the first run slow enough to be killed mid-stream.
    const slow = ["--kafka-max-batch-bytes", "16384", "--max-in-flight", "1"];
    const first = runSigma(["--topic", input, "--group", group, "--from-beginning", "--kafka-out-topic", output, ...slow]);
    expect(await firstOutput(output, 60_000)).toBeGreaterThan(0);
    first.child.kill("SIGKILL");
    const killed = await finish(first, 10_000);
    expect(killed.code).not.toBe(0);

    const committedAtKill = [...(await committedOffsets(kafka, group, input)).values()].reduce((sum, o) => sum + Math.max(0, Number(o)), 0);
    expect(committedAtKill).toBeLessThan(total);

    const second = runSigma(["--topic", input, "--group", group, "--from-beginning", "--kafka-stop-at-end", "--kafka-out-topic", output]);
    const { code } = await finish(second, 120_000);
    expect(code).toBe(0);

    const out = await readTopic(kafka, output, expected.length, 90_000);
    const seen = new Set(matchSeqs(out.map((m) => m.value)));
    const missing = expected.filter((seq) => !seen.has(seq));
    expect(missing.length).toBe(0);
    expect(seen.size).toBe(expected.length);
  }, 300_000);

  test.each<"SIGTERM" | "SIGINT">(["SIGTERM", "SIGINT"])("(g) %s mid-stream: fetching stops, in-flight batches drain and commit, exit 0", async (signal) => {
    const [input, output, group] = [uniqueName("e2e-in"), uniqueName("e2e-out"), uniqueName("e2e-g")];
    // One partition: event seq is its offset, so the commit says exactly which matches must be out.
    await createTopics(kafka, [input, output], 1);
    const total = 60_000;
    const produced = events(total);
    await produce(kafka, input, produced.map(({ value }) => ({ value })), 500);

    const slow = ["--kafka-max-batch-bytes", "16384", "--max-in-flight", "2"];
    const run = runSigma(["--topic", input, "--group", group, "--from-beginning", "--kafka-out-topic", output, ...slow]);
    expect(await firstOutput(output, 60_000)).toBeGreaterThan(0);
    run.child.kill(signal);
    const { code, stderr } = await finish(run, 60_000);
    expect(stderr).not.toContain('"level":"error"');
    expect(code).toBe(0);

    const committed = Number((await committedOffsets(kafka, group, input)).get(0) ?? "-1");
    expect(committed).toBeGreaterThan(0);
    expect(committed).toBeLessThan(total);
    const expected = produced.filter((e) => e.matches && e.seq < committed).map((e) => e.seq);
    const out = await readTopic(kafka, output, expected.length, 60_000);
    const seen = new Set(matchSeqs(out.map((m) => m.value)));
    expect(expected.filter((seq) => !seen.has(seq))).toEqual([]);
  }, 180_000);

  test("(i) /metrics: each partition's log end, committed offset and lag, which reaches 0 once all is acknowledged; the sink's counts", async () => {
    const [input, output, group] = [uniqueName("e2e-in"), uniqueName("e2e-out"), uniqueName("e2e-g")];
    await createTopics(kafka, [input], 2);
    await createTopics(kafka, [output], 1);
    const produced = events(4000);
    await produce(kafka, input, produced.map(({ value }) => ({ value })));
    const ends = new Map((await endOffsets(input)).map((p) => [String(p.partition), Number(p.high)]));

    const server = Bun.serve({ port: 0, fetch: () => new Response() });
    const port = server.port ?? 0;
    await server.stop(true);
    const run = runSigma(["--topic", input, "--group", group, "--from-beginning", "--kafka-out-topic", output, "--admin", `127.0.0.1:${port}`]);
    const gauge = (text: string, name: string, partition: string): number => {
      const line = new RegExp(`^sigma_${name}\\{topic="${input}",partition="${partition}"\\} (\\S+)$`, "m").exec(text);
      return Number(line?.[1] ?? NaN);
    };
    let text = "";
    const deadline = Date.now() + 60_000;
    const settled = (): boolean => [...ends.keys()].every((p) => gauge(text, "kafka_consumer_lag", p) === 0);
    while (Date.now() < deadline && (text === "" || !settled())) {
      await Bun.sleep(200);
      text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => "");
    }
    run.child.kill("SIGTERM");
    expect((await finish(run, 60_000)).code).toBe(0);
    for (const [partition, end] of ends) {
      expect(gauge(text, "kafka_log_end_offset", partition)).toBe(end);
      expect(gauge(text, "kafka_committed_offset", partition)).toBe(end);
      expect(gauge(text, "kafka_consumer_lag", partition)).toBe(0);
    }
    expect(text).toContain("# TYPE sigma_kafka_consumer_lag gauge");
    // All committed, so the output has every match: the sink's own counters agree.
    const sinkSeries = (name: string): number =>
      Number(new RegExp(`^sigma_${name}\\{topic="${output}",role="matches"\\} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
    expect(sinkSeries("kafka_produced_messages_total")).toBe(produced.filter((e) => e.matches).length);
    expect(sinkSeries("kafka_failed_messages_total")).toBe(0);
    expect(sinkSeries("kafka_pending_batches")).toBe(0);
  }, 120_000);

  test("(h) an input topic that does not exist: input unreadable, in one line that says so", async () => {
    const [input, output, group] = [uniqueName("e2e-missing"), uniqueName("e2e-out"), uniqueName("e2e-g")];
    const run = runSigma(["--topic", input, "--group", group, "--from-beginning", "--kafka-out-topic", output]);
    const { code, stderr } = await finish(run, 60_000);
    expect(code).toBe(4);
    expect(stderr).toContain(`sigma: Kafka at ${BROKER}: This server does not host this topic-partition (does every --topic exist?`);
  }, 90_000);

  test.each<Mechanism>(["scram-sha-512", "plain"])("(d) round trip over SASL_SSL with %s: exactly the expected matches", async (mechanism) => {
    const { input, group, produced } = await roundTrip(3000, (args) => runSigmaSaslSsl(mechanism, SASL_PASSWORD, args));
    // The group committed through the SASL_SSL connection: all of the input is consumed.
    const committed = [...(await committedOffsets(kafka, group, input)).values()].reduce((sum, o) => sum + Math.max(0, Number(o)), 0);
    expect(committed).toBe(produced.length);
  }, 150_000);

  test.each<Mechanism>(["scram-sha-512", "plain"])("(e) a wrong %s password fails fast with an authentication error", async (mechanism) => {
    const [input, output, group] = [uniqueName("e2e-sasl-in"), uniqueName("e2e-sasl-out"), uniqueName("e2e-sasl-g")];
    await createTopics(kafka, [input, output], 1);
    const wrong = `not-${SASL_PASSWORD}`;

    const run = runSigmaSaslSsl(mechanism, wrong, ["--topic", input, "--group", group, "--from-beginning", "--kafka-stop-at-end", "--kafka-out-topic", output]);
    const { code, stderr, seconds } = await timedFinish(run, 60_000);
    expect(code).toBe(4);
    // kafkajs does not retry a rejected password, so the run ends in about a second.
    expect(seconds).toBeLessThan(20);
    // The CLI's own last word, one line, names the brokers, the cause and what to check.
    expect(stderr).toMatch(new RegExp(`^sigma: Kafka at ${SASL_SSL_BROKER}: .*authentication failed.* \\(check --kafka-sasl-mechanism, --kafka-username and ${PASSWORD_ENV}\\)$`, "im"));
    expect(stderr).not.toContain(wrong);
  }, 90_000);

  test("(f) TLS without --kafka-ca does not trust the test CA and fails with a certificate error", async () => {
    const [input, output, group] = [uniqueName("e2e-sasl-in"), uniqueName("e2e-sasl-out"), uniqueName("e2e-sasl-g")];
    await createTopics(kafka, [input, output], 1);

    const run = runSigmaSaslSsl("scram-sha-512", SASL_PASSWORD, ["--topic", input, "--group", group, "--from-beginning", "--kafka-stop-at-end", "--kafka-out-topic", output], ["--kafka-tls"]);
    const { code, stderr, seconds } = await timedFinish(run, 90_000);
    expect(code).toBe(4);
    // kafkajs retries a failed connection (about 12 s with its defaults) before giving up.
    expect(seconds).toBeLessThan(60);
    // The TLS error, kafkajs's cause under its generic one, reaches the CLI's one-line report. Its wording
    // depends on whether the broker sends the CA with its certificate ("unable to verify the first
    // certificate" when not, "self-signed certificate in certificate chain" when it does).
    expect(stderr).toMatch(new RegExp(`^sigma: Kafka at ${SASL_SSL_BROKER}: .*certificate.* \\(does --kafka-ca name the CA that signed the brokers' certificates\\?\\)$`, "m"));
    expect(stderr).not.toMatch(/authentication failed/i);
  }, 120_000);
});
