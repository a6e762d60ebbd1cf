/**
 * The shape every source shares (CONVENTIONS.md §4): `start(ctx)` produces
 * batches through `ctx.emit` until the input ends or `ctx.signal` aborts;
 * `stop()` ends it early. A source commits its position only from the ack
 * callback it passes with each batch, so nothing is committed before every
 * sink has it.
 *
 * `emit` resolves when the pipeline has room for another batch: awaiting it
 * is the backpressure. A source must await it before producing more.
 */

import type { Batch } from "../batch/batch.ts";
import type { LabelledMetric } from "../telemetry/metrics.ts";
import type { Ack, AckLedger } from "./ack.ts";

export interface SourceContext {
  emit(batch: Batch, ack: Ack): Promise<void>;
  signal: AbortSignal;
  ledger: AckLedger;
}

/**
 * The events input cannot be read: a missing file, an upstream that refuses
 * the connection. Its message is the one line a user sees (exit code 4).
 */
export class InputUnreadable extends Error {}

export interface Source {
  readonly kind: string;
  /** Resolves when the source is exhausted or stopped and every batch was emitted. */
  start(ctx: SourceContext): Promise<void>;
  stop(): Promise<void>;
  /** What the source reports on /metrics beside the pipeline's counters (Kafka: each partition's lag). */
  metrics?(): LabelledMetric[];
}
