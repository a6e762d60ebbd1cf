/**
 * Readiness probe for scripts/services/kafka.sh: exits 0 when the broker at
 * argv[2] (host:port) answers a cluster-metadata request through kafkajs, the
 * same client sigma uses, and its group coordinator answers for a group
 * (the offsets topic exists and has loaded), and 1 otherwise. An open port is
 * not enough: the socket accepts before the broker serves requests, and
 * metadata answers before consumer groups can commit.
 */

import { Kafka, logLevel } from "kafkajs";

const broker = process.argv[2] ?? "127.0.0.1:19092";
const kafka = new Kafka({
  clientId: "sigma-kafka-probe",
  brokers: [broker],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 2000,
  requestTimeout: 3000,
  retry: { retries: 0 },
});
const admin = kafka.admin();
try {
  await admin.connect();
  const cluster = await admin.describeCluster();
  const groups = await admin.describeGroups(["sigma-kafka-probe"]);
  process.exitCode = cluster.brokers.length > 0 && groups.groups.length === 1 ? 0 : 1;
} catch {
  process.exitCode = 1;
} finally {
  await admin.disconnect().catch(() => undefined);
}
