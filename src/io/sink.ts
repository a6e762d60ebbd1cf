/**
 * The shape every sink shares (CONVENTIONS.md §4). `write` takes one batch's
 * evaluation result and the sink's own child ack; it resolves when the sink
 * has accepted the data (its buffer had room) and settles the ack once the
 * data is durable (flushed to the file, acknowledged by the broker or peer).
 *
 * A sink writes either matches or dead letters, chosen by its config.
 */

import type { LabelledMetric } from "../telemetry/metrics.ts";
import type { Ack } from "./ack.ts";
import type { EvalResult } from "./result.ts";

export type SinkRole = "matches" | "dead-letters";

export interface Sink {
  readonly kind: string;
  readonly role: SinkRole;
  write(result: EvalResult, ack: Ack): Promise<void>;
  /** Resolves when everything written so far is durable and its acks settled. */
  flush(): Promise<void>;
  stop(): Promise<void>;
  /** What the sink reports on /metrics (Kafka: messages produced and failed, batches awaiting the broker). */
  metrics?(): LabelledMetric[];
}
