/**
 * What the Kafka source and sink share: the connection flags (brokers, SASL,
 * TLS), their parser into one typed `KafkaConnectionConfig`, and the factory
 * of kafkajs clients whose logs go through src/telemetry instead of kafkajs's
 * own console logger (CONVENTIONS.md §11).
 *
 * The password is never a required flag: `SIGMA_KAFKA_PASSWORD` keeps it out
 * of `ps` output and shell history, and wins over nothing but its absence.
 */

import { Kafka, logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from "kafkajs";
import type { FlagSpec, Options } from "../../cli/args.ts";
import { UsageError } from "../../cli/args.ts";
import { errorMessage, log } from "../../telemetry/log.ts";

export type SaslMechanism = "plain" | "scram-sha-256" | "scram-sha-512";
const SASL_MECHANISMS: readonly SaslMechanism[] = ["plain", "scram-sha-256", "scram-sha-512"];

export interface KafkaSaslConfig {
  mechanism: SaslMechanism;
  username: string;
  password: string;
}

export interface KafkaTlsConfig {
  /** PEM text of the CA bundle that signs the brokers' certificates; system CAs when absent. */
  ca?: string;
}

export interface KafkaConnectionConfig {
  brokers: string[];
  clientId: string;
  sasl?: KafkaSaslConfig;
  tls?: KafkaTlsConfig;
}

export const PASSWORD_ENV = "SIGMA_KAFKA_PASSWORD";

/** Flags of both the Kafka source and sink; the registry merges duplicates by name. */
export const kafkaConnectionFlags: FlagSpec[] = [
  { name: "brokers", description: "Kafka bootstrap brokers, host:port comma list (required for kafka input/output)", takesValue: true, repeatable: true, required: true },
  { name: "kafka-client-id", description: "Kafka client id (default sigma)", takesValue: true },
  { name: "kafka-sasl-mechanism", description: "SASL mechanism for Kafka", takesValue: true, choices: SASL_MECHANISMS },
  { name: "kafka-username", description: "SASL user name", takesValue: true },
  { name: "kafka-password", description: `SASL password (prefer env ${PASSWORD_ENV})`, takesValue: true },
  { name: "kafka-tls", description: "connect to Kafka over TLS", takesValue: false },
  { name: "kafka-ca", description: "PEM CA bundle for Kafka TLS (implies --kafka-tls)", takesValue: true },
];

const BROKER = /^[^\s:,]+:\d{1,5}$/;

export function parseKafkaConnection(options: Options, env: Record<string, string | undefined> = process.env): KafkaConnectionConfig {
  const brokers = options.list("brokers");
  if (brokers.length === 0) throw new UsageError("--brokers is required for Kafka (host:port, comma separated)");
  for (const broker of brokers) {
    if (!BROKER.test(broker)) throw new UsageError(`--brokers: "${broker}" is not host:port`);
  }
  const config: KafkaConnectionConfig = { brokers, clientId: options.string("kafka-client-id") ?? "sigma" };

  const mechanism = options.string("kafka-sasl-mechanism");
  const username = options.string("kafka-username");
  const password = options.string("kafka-password") ?? env[PASSWORD_ENV];
  if (mechanism !== undefined) {
    if (!isSaslMechanism(mechanism)) throw new UsageError(`--kafka-sasl-mechanism must be one of ${SASL_MECHANISMS.join("|")}`);
    if (username === undefined) throw new UsageError("--kafka-sasl-mechanism needs --kafka-username");
    if (password === undefined) throw new UsageError(`--kafka-sasl-mechanism needs --kafka-password or ${PASSWORD_ENV}`);
    config.sasl = { mechanism, username, password };
  } else if (username !== undefined || options.has("kafka-password")) {
    throw new UsageError("--kafka-username/--kafka-password need --kafka-sasl-mechanism");
  }

  const ca = options.file("kafka-ca");
  if (ca !== undefined) {
    config.tls = { ca: ca.toString("utf8") };
  } else if (options.flag("kafka-tls")) {
    config.tls = {};
  }
  return config;
}

/** A failure to reach, log in to or subscribe at the brokers, as one line naming them, with what to check for a known cause. */
export function connectionFailure(connection: KafkaConnectionConfig, error: unknown): string {
  const message = errorMessage(error);
  const hint = /certificate/i.test(message)
    ? " (does --kafka-ca name the CA that signed the brokers' certificates?)"
    : /authentication failed/i.test(message)
      ? ` (check --kafka-sasl-mechanism, --kafka-username and ${PASSWORD_ENV})`
      : /does not host this topic-partition/i.test(message)
        ? " (does every --topic exist? sigma does not create the topics it reads)"
        : "";
  return `Kafka at ${connection.brokers.join(",")}: ${message}${hint}`;
}

function isSaslMechanism(value: string): value is SaslMechanism {
  return (SASL_MECHANISMS as readonly string[]).includes(value);
}

function saslOptions(sasl: KafkaSaslConfig): SASLOptions {
  // Spelled out per mechanism because kafkajs types SASLOptions as a union keyed by mechanism.
  switch (sasl.mechanism) {
    case "plain":
      return { mechanism: "plain", username: sasl.username, password: sasl.password };
    case "scram-sha-256":
      return { mechanism: "scram-sha-256", username: sasl.username, password: sasl.password };
    case "scram-sha-512":
      return { mechanism: "scram-sha-512", username: sasl.username, password: sasl.password };
  }
}

/**
 * kafkajs levels mapped onto ours. kafkajs INFO lines (joins, rebalances,
 * "Starting") are routine, so they become debug; its DEBUG is never enabled.
 * kafkajs logs every error response of a connection at ERROR, including the
 * retriable ones it then retries (a coordinator still loading); those become
 * warnings, and an operation whose retries run out fails on its own.
 */
function kafkaLogCreator(): (entry: LogEntry) => void {
  return ({ namespace, level, log: entry }) => {
    const { message, timestamp: _timestamp, logger: _logger, ...fields } = entry;
    const event = { namespace, message, ...fields };
    const retriedResponse = namespace === "Connection" && typeof message === "string" && message.startsWith("Response ");
    if (level === logLevel.ERROR && !retriedResponse) log.error("kafka.client", event);
    else if (level === logLevel.WARN || level === logLevel.ERROR) log.warn("kafka.client", event);
    else log.debug("kafka.client", event);
  };
}

export function createKafkaClient(config: KafkaConnectionConfig): Kafka {
  const kafkaConfig: KafkaConfig = {
    brokers: config.brokers,
    clientId: config.clientId,
    logLevel: logLevel.INFO,
    logCreator: () => kafkaLogCreator(),
  };
  if (config.sasl !== undefined) kafkaConfig.sasl = saslOptions(config.sasl);
  if (config.tls !== undefined) kafkaConfig.ssl = config.tls.ca === undefined ? true : { ca: [config.tls.ca] };
  return new Kafka(kafkaConfig);
}
