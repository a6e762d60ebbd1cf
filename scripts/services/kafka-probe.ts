/**
 * Readiness probe for scripts/services/kafka.sh; exits 0 when the listener
 * serves clients through kafkajs, the client sigma uses, and 1 otherwise. An
 * open port is not enough: the socket accepts before the broker serves
 * requests, and metadata answers before consumer groups can commit.
 *
 * - `kafka-probe.ts host:port`: the PLAINTEXT listener answers a
 *   cluster-metadata request, and its group coordinator answers for a group
 *   (the offsets topic exists and has loaded).
 * - `kafka-probe.ts host:port ca.pem`, with KAFKA_PROBE_USER and
 *   KAFKA_PROBE_PASSWORD: the SASL_SSL listener completes a TLS handshake
 *   trusting only that CA, then answers a cluster-metadata request once per
 *   mechanism the tests use. SCRAM-SHA-512 is probed apart from PLAIN because
 *   its credential lives in the cluster metadata, not in the broker's config,
 *   and can be missing on its own.
 */

import { readFileSync } from "node:fs";
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from "kafkajs";

const broker = process.argv[2] ?? "127.0.0.1:19092";
const caPath = process.argv[3];

/** Whether the broker answers with `security` (TLS and SASL settings), and for `group` when given. */
async function answers(security: Pick<KafkaConfig, "ssl" | "sasl">, group?: string): Promise<boolean> {
  const kafka = new Kafka({
    clientId: "sigma-kafka-probe",
    brokers: [broker],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: 3000,
    retry: { retries: 0 },
    ...security,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) return false;
    return group === undefined || (await admin.describeGroups([group])).groups.length === 1;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function saslAnswers(ca: string, username: string, password: string): Promise<boolean> {
  const mechanisms: SASLOptions[] = [
    { mechanism: "scram-sha-512", username, password },
    { mechanism: "plain", username, password },
  ];
  for (const sasl of mechanisms) {
    if (!(await answers({ ssl: { ca: [ca] }, sasl }))) return false;
  }
  return true;
}

if (caPath === undefined) {
  process.exitCode = (await answers({}, "sigma-kafka-probe")) ? 0 : 1;
} else {
  const username = process.env.KAFKA_PROBE_USER;
  const password = process.env.KAFKA_PROBE_PASSWORD;
  if (username === undefined || password === undefined) {
    console.error("usage: KAFKA_PROBE_USER=… KAFKA_PROBE_PASSWORD=… bun kafka-probe.ts host:port ca.pem");
    process.exitCode = 2;
  } else {
    process.exitCode = (await saslAnswers(readFileSync(caPath, "utf8"), username, password)) ? 0 : 1;
  }
}
