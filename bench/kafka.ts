/**
 * End-to-end Kafka throughput of one sigma process: events from
 * /work/shared/events (one event per message) are produced into a topic once,
 * then the binary consumes the topic to its end (`--kafka-stop-at-end`),
 * evaluates every event and writes matches to Kafka (or /dev/null). Prints
 * events/s, rule and event counts and the machine.
 *
 * The benchmark checks its answer (CONVENTIONS.md §8): the same events are
 * first run through the binary from an NDJSON file, and the Kafka run must
 * report the same event and match counts, or the benchmark fails. That file
 * run is also the engine-only baseline that shows what Kafka costs.
 *
 *   bun bench/kafka.ts [--events 500000] [--rules <dir>] [--partitions 4]
 *                      [--output kafka|json] [--binary dist/sigma]
 *                      [--pipelines sysmon,windows|none]
 *
 * Rules are routed by logsource with the README's pipelines, as a deployment
 * over these Windows events would be. With `--pipelines none` every rule sees
 * every event: a rule such as "Publicly Accessible RDP Service" (zeek,
 * `not selection`) then matches each one, and the run measures ~1.3 match
 * records of ~2.4 KB produced per event rather than detection.
 *
 * The same run also measures kafkajs's own ceiling on this machine: a
 * consumer that reads the topic and does nothing with it, with the source's
 * fetch settings, timed like sigma's run (from connecting, group join
 * included). sigma's Kafka input cannot beat it.
 *
 * The broker is scripts/services/kafka.sh's; it is stopped at the end unless
 * SIGMA_KAFKA_KEEP=1. The produced topic is reused across runs.
 *
 * It also prints the CPU each process spends per event (sigma from the file,
 * sigma from Kafka, the broker; a run over no events takes sigma's start and
 * rule loading off) and the rate that cost allows on this machine's cores,
 * and each sigma run's peak RSS (README "Limits": a Kafka consumer's memory
 * follows --kafka-max-batch-bytes).
 *
 * What limits it (2026-11-29, 500k events of ~1.4 KB, 3,141 rules routed by
 * the pipelines, 4,951 matches; 2 cores shared with the broker): CPU. Per
 * event, sigma takes 3.5–5.9 µs from a file and 7.1–8.2 µs from Kafka (the
 * difference on the JS thread: kafkajs joining each fetch response into a
 * fresh buffer, its record decoding into a JS object per message, the
 * produce path of the matches) and the broker 1.1–1.7 µs, so two cores allow
 * ~200–240k events/s, and the run reaches 70–85% of that (145k–170k). The
 * values themselves are not copied on the JS thread: the engine joins them
 * from the fetch buffer (kafka/lines.ts).
 * 300k events/s on two cores is a budget of 6.7 µs per event in all, and
 * consuming alone, kafkajs with nothing done to the records, already takes
 * 3.0–3.8 µs of it and the broker serving it 0.6–1.3 µs: 1.6–2.8 µs would be
 * left for evaluation, which costs 3.5–3.9 µs from a file. Reaching it
 * needs the record decoding out of kafkajs's per-message JavaScript and a
 * cheaper evaluation, or more cores. Unrouted (`--pipelines none`),
 * producing ~1.3 match records of ~2.4 KB per event back is most of the
 * cost: kafkajs's produce encoding (a Buffer allocated and copied per
 * record, record batch and request) and its JS CRC32C, one request at a time
 * for the idempotent producer.
 */

import { cpus } from "node:os";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { spawn } from "bun";
import { Partitioners } from "kafkajs";
import { BROKER, brokerCpuSeconds, brokerUnavailableReason, startBroker, stopBroker, testKafka, uniqueName } from "../test/e2e/kafka-broker.ts";
import { DEFAULT_MAX_BATCH_BYTES, fetchSettings } from "../src/io/sources/kafka.ts";
import { routeProcessWarnings } from "../src/telemetry/log.ts";
import { PIPELINES, pipelineFlags, pipelineList } from "./lib/corpus.ts";
import { fmtMiB } from "./lib/report.ts";

// kafkajs's negative timer warning, as in sigma itself (src/telemetry/log.ts).
routeProcessWarnings();

const ROOT = new URL("..", import.meta.url).pathname;
const SHARED_EVENTS = process.env.SIGMA_SHARED_EVENTS ?? `${ROOT}../shared/events`;
const TARGET_EVENTS_PER_SECOND = 300_000;

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : (process.argv[at + 1] ?? fallback);
}

const eventCount = Number(arg("events", "500000"));
const rulesPath = arg("rules", `${ROOT}../shared/sigma/rules`);
const partitions = Number(arg("partitions", "4"));
const outputKind = arg("output", "kafka");
const binary = arg("binary", `${ROOT}dist/sigma`);
const pipelines = pipelineList(arg("pipelines", PIPELINES.join(",")));

function skip(reason: string): never {
  console.log(`bench/kafka: skipped: ${reason}`);
  process.exit(0);
}

/** The first `count` events of the shared corpus, files in name order, as one NDJSON file (cached). */
async function corpusFile(count: number): Promise<string> {
  const dir = `${ROOT}.cache/bench`;
  mkdirSync(dir, { recursive: true });
  const path = `${dir}/kafka-events-${count}.ndjson`;
  if (existsSync(path)) return path;
  const files = readdirSync(SHARED_EVENTS).filter((f) => f.endsWith(".ndjson.gz")).sort();
  const lines: string[] = [];
  for (const file of files) {
    if (lines.length >= count) break;
    const text = new TextDecoder().decode(Bun.gunzipSync(readFileSync(`${SHARED_EVENTS}/${file}`)));
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      lines.push(line);
      if (lines.length >= count) break;
    }
  }
  if (lines.length < count) skip(`the shared corpus has ${lines.length} events, fewer than --events ${count}`);
  await Bun.write(path, lines.join("\n") + "\n");
  return path;
}

/** Produces the corpus into `topic` unless it already holds exactly `count` messages. */
async function ensureTopic(topic: string, path: string, count: number): Promise<void> {
  const kafka = testKafka();
  const admin = kafka.admin();
  await admin.connect();
  try {
    if ((await admin.listTopics()).includes(topic)) {
      const held = (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
      if (held === count) return;
      await admin.deleteTopics({ topics: [topic] });
      await Bun.sleep(1000);
    }
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions }] });
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const started = performance.now();
  const lines = readFileSync(path, "utf8").split("\n").filter((l) => l !== "");
  // Requests stay under the broker's 1 MiB record-batch limit; partitions take turns per request.
  const inFlight: Promise<unknown>[] = [];
  let slice: string[] = [];
  let sliceBytes = 0;
  let requests = 0;
  const flush = async (): Promise<void> => {
    if (slice.length === 0) return;
    const partition = requests++ % partitions;
    inFlight.push(producer.send({ topic, acks: 1, messages: slice.map((value) => ({ value, partition })) }));
    slice = [];
    sliceBytes = 0;
    if (inFlight.length >= 8) await inFlight.shift();
  };
  for (const line of lines) {
    if (sliceBytes + line.length > 768 * 1024) await flush();
    slice.push(line);
    sliceBytes += line.length + 64;
  }
  await flush();
  await Promise.all(inFlight);
  await producer.disconnect();
  console.log(`produced ${lines.length} events into ${topic} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

interface RunSummary {
  rules: number;
  events: number;
  matches: number;
  deadLetters: number;
  wallSeconds: number;
  ruleLoadSeconds: number;
  /** sigma's own rate: events over the time from its pipeline's start to drained (connect, group join and shutdown included). */
  ownRate: number;
  /** CPU seconds (user + system) of the sigma process, rule loading included. */
  cpuSeconds: number;
  /** The sigma process's peak resident memory, bytes. */
  peakRssBytes: number;
  /** CPU seconds the broker used during the run, when its process is readable here. */
  brokerCpuSeconds: number | undefined;
}

async function runSigma(args: string[]): Promise<RunSummary> {
  const started = performance.now();
  const brokerBefore = brokerCpuSeconds();
  const child = spawn([binary, "--rules", rulesPath, ...pipelineFlags(pipelines), ...args], { stdout: "ignore", stderr: "pipe", env: { ...process.env, SIGMA_LOG: "warn" } });
  const timer = setTimeout(() => child.kill("SIGKILL"), 15 * 60_000);
  const stderr = await new Response(child.stderr).text();
  const code = await child.exited;
  clearTimeout(timer);
  const wallSeconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`sigma ${args.join(" ")} exited ${code}:\n${stderr}`);
  const loaded = /loaded (\d+) rules.*?\((\d+) ms(?:, cached plan)?\)/.exec(stderr);
  const summary = /events (\d+), matches (\d+).*?dead letters (\d+), [\d.]+ s, ([\d,]+) events\/s/.exec(stderr);
  if (loaded === null || summary === null) throw new Error(`no summary in sigma's stderr:\n${stderr}`);
  const usage = child.resourceUsage();
  const cpu = usage?.cpuTime;
  return {
    ownRate: Number(summary[4]?.replaceAll(",", "")),
    cpuSeconds: cpu === undefined ? NaN : Number(cpu.user + cpu.system) / 1e6,
    peakRssBytes: usage?.maxRSS ?? NaN,
    brokerCpuSeconds: brokerCpuSince(brokerBefore),
    rules: Number(loaded[1]),
    ruleLoadSeconds: Number(loaded[2]) / 1000,
    events: Number(summary[1]),
    matches: Number(summary[2]),
    deadLetters: Number(summary[3]),
    wallSeconds,
  };
}

/** The broker's CPU seconds since it used `before`, when its process is readable here. */
function brokerCpuSince(before: number | undefined): number | undefined {
  const now = brokerCpuSeconds();
  return before === undefined || now === undefined ? undefined : now - before;
}

/** kafkajs alone: how fast it reads, and what reading costs it and the broker. */
interface ConsumeCeiling {
  eventsPerSecond: number;
  /** CPU seconds of this process (the consumer) while it read. */
  consumerCpuSeconds: number;
  /** CPU seconds the broker used meanwhile, when its process is readable here. */
  brokerCpuSeconds: number | undefined;
}

/** kafkajs alone: a group consumer connects, joins, reads `count` messages of `topic` from the beginning and discards them. */
async function consumeCeiling(topic: string, count: number): Promise<ConsumeCeiling> {
  const consumer = testKafka().consumer({ groupId: uniqueName("sigma-bench-ceiling"), ...fetchSettings(DEFAULT_MAX_BATCH_BYTES) });
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const brokerBefore = brokerCpuSeconds();
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let seen = 0;
    const done = new Promise<number>((resolve) => {
      void consumer.run({
        eachBatch: async ({ batch }) => {
          seen += batch.messages.length;
          if (seen >= count) resolve((performance.now() - started) / 1000);
        },
      });
    });
    const seconds = await done;
    const cpu = process.cpuUsage(cpuBefore);
    return {
      eventsPerSecond: count / seconds,
      consumerCpuSeconds: (cpu.user + cpu.system) / 1e6,
      brokerCpuSeconds: brokerCpuSince(brokerBefore),
    };
  } finally {
    await consumer.disconnect();
  }
}

function machine(): string {
  const model = cpus()[0]?.model.trim() ?? "unknown CPU";
  return `${navigator.hardwareConcurrency} cores (nproc), ${model}`;
}

if (!existsSync(SHARED_EVENTS)) skip(`${SHARED_EVENTS} is absent`);
if (!existsSync(rulesPath)) skip(`rules ${rulesPath} are absent`);
const noBroker = brokerUnavailableReason();
if (noBroker !== undefined) skip(noBroker);
if (!existsSync(binary)) skip(`${binary} is missing: run npm run build`);

const path = await corpusFile(eventCount);
startBroker();
try {
  const topic = `sigma-bench-events-${eventCount}-p${partitions}`;
  await ensureTopic(topic, path, eventCount);

  const ceiling = await consumeCeiling(topic, eventCount);
  // The same process over no events: its start and rule loading, taken off the per-event CPU below.
  // Every measured run must load the rules the same way: the first run after a build compiles
  // them into the plan cache (1.6 s instead of 0.5), which put 2 µs on the file run's CPU per
  // event when it ran first, so a run over no events fills the cache before anything is measured.
  const emptyPath = `${ROOT}.cache/bench/empty.ndjson`;
  await Bun.write(emptyPath, "");
  const idleArgs = ["--input", "json", "--events", emptyPath, "--output", "json", "--out", "/dev/null"];
  await runSigma(idleArgs);
  const idle = await runSigma(idleArgs);
  const baseline = await runSigma(["--input", "json", "--events", path, "--output", "json", "--out", "/dev/null"]);
  const output =
    outputKind === "kafka" ? ["--output", "kafka", "--kafka-out-topic", uniqueName("sigma-bench-out")] : ["--output", "json", "--out", "/dev/null"];
  const viaKafka = await runSigma([
    "--input", "kafka", "--brokers", BROKER, "--topic", topic, "--group", uniqueName("sigma-bench"),
    "--from-beginning", "--kafka-stop-at-end", ...output,
  ]);

  const rate = (run: RunSummary): number => run.events / (run.wallSeconds - run.ruleLoadSeconds);
  console.log(`machine: ${machine()}`);
  console.log(`rules: ${viaKafka.rules} (${rulesPath}), pipelines: ${pipelines.join(", ") || "none"}; events: ${viaKafka.events}; matches: ${viaKafka.matches}; dead letters: ${viaKafka.deadLetters}`);
  console.log(`kafkajs ceiling, consume and discard: ${Math.round(ceiling.eventsPerSecond).toLocaleString("en-US")} events/s (from connecting, as sigma's run)`);
  console.log(
    `file → engine → /dev/null: ${Math.round(rate(baseline)).toLocaleString("en-US")} events/s ` +
      `(wall ${baseline.wallSeconds.toFixed(1)} s, rule load ${baseline.ruleLoadSeconds.toFixed(1)} s, peak RSS ${fmtMiB(baseline.peakRssBytes)})`,
  );
  console.log(
    `kafka → engine → ${outputKind}: ${Math.round(rate(viaKafka)).toLocaleString("en-US")} events/s ` +
      `(wall ${viaKafka.wallSeconds.toFixed(1)} s incl. rule load ${viaKafka.ruleLoadSeconds.toFixed(1)} s and group join, peak RSS ${fmtMiB(viaKafka.peakRssBytes)}; ` +
      `target ${TARGET_EVENTS_PER_SECOND.toLocaleString("en-US")})`,
  );
  // What bounds the run: CPU per event of each process, against the cores they share.
  const perEvent = (seconds: number): number => Math.max(0, seconds) / eventCount;
  const micros = (seconds: number): string => (perEvent(seconds) * 1e6).toFixed(1);
  const sigmaKafka = viaKafka.cpuSeconds - idle.cpuSeconds;
  const broker = viaKafka.brokerCpuSeconds ?? 0;
  const cores = navigator.hardwareConcurrency;
  console.log(
    `CPU per event, start and rule loading (${idle.cpuSeconds.toFixed(2)} s) taken off: sigma from the file ${micros(baseline.cpuSeconds - idle.cpuSeconds)} µs, ` +
      `sigma from Kafka ${micros(sigmaKafka)} µs, broker ${viaKafka.brokerCpuSeconds === undefined ? "unknown (its process is not readable here)" : `${micros(broker)} µs`}; ` +
      `${cores} cores at that cost bound the Kafka run at ${Math.round(cores / (perEvent(sigmaKafka) + perEvent(broker))).toLocaleString("en-US")} events/s`,
  );
  // The target's CPU budget against what consuming alone already costs, all measured in this run.
  const budget = cores / TARGET_EVENTS_PER_SECOND;
  const consumeAlone = perEvent(ceiling.consumerCpuSeconds) + perEvent(ceiling.brokerCpuSeconds ?? 0);
  console.log(
    `the target's budget: ${cores} cores / ${TARGET_EVENTS_PER_SECOND.toLocaleString("en-US")} events/s = ${(budget * 1e6).toFixed(1)} µs of CPU per event; ` +
      `kafkajs consuming alone took ${micros(ceiling.consumerCpuSeconds)} µs and the broker serving it ` +
      `${ceiling.brokerCpuSeconds === undefined ? "an unknown share" : `${micros(ceiling.brokerCpuSeconds)} µs`}, ` +
      `which leaves ${((budget - consumeAlone) * 1e6).toFixed(1)} µs for evaluation and output, against ${micros(baseline.cpuSeconds - idle.cpuSeconds)} µs from the file`,
  );
  console.log(`sigma's own rate (its pipeline's start to drained): file ${Math.round(baseline.ownRate).toLocaleString("en-US")}, Kafka ${Math.round(viaKafka.ownRate).toLocaleString("en-US")} events/s`);
  if (viaKafka.events !== eventCount || viaKafka.matches !== baseline.matches || viaKafka.events !== baseline.events) {
    console.error(
      `bench/kafka: WRONG ANSWER: kafka run saw ${viaKafka.events} events / ${viaKafka.matches} matches, ` +
        `file run ${baseline.events} events / ${baseline.matches} matches, expected ${eventCount} events`,
    );
    process.exitCode = 1;
  }
} finally {
  stopBroker();
}
