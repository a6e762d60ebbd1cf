/**
 * The one data path: source → engine → sinks, with acknowledgements flowing
 * back (DESIGN.md "One path for data").
 *
 * Invariants:
 * - at most `maxInFlight` batches are unacknowledged; `emit` waits beyond
 *   that, which is how backpressure reaches every source;
 * - batches reach sinks in the order they were emitted, so output order is
 *   the input order;
 * - the engine holds at most `ENGINE_BATCHES` batches at once; they share
 *   its own threads (never more than `--threads`), so the next batch's work
 *   starts while the last one's result travels back to the JS thread, and
 *   the other batches in flight overlap their reading and writing with it;
 * - a batch's source ack settles once, after every sink settled its child ack,
 *   with the worst status; an evaluation error fails the ack (never drops it).
 */

import { InvalidBatch, type Batch } from "../batch/batch.ts";
import { Ack, AckLedger, type AckStatus } from "./ack.ts";
import type { EvalResult } from "./result.ts";
import type { Sink } from "./sink.ts";
import type { Source, SourceContext } from "./source.ts";
import { errorMessage } from "../telemetry/log.ts";

/**
 * Batches in the engine at once. One left the engine idle between batches
 * (result hand-off, the next call); more only queue on its threads.
 */
const ENGINE_BATCHES = 2;

export interface Evaluator {
  evaluate(batch: Batch): Promise<EvalResult>;
}

export interface PipelineObserver {
  /** `latencyMs`: from the batch entering the engine to its result. */
  onResult?(result: EvalResult, latencyMs: number): void;
  /** A batch's ack settled other than delivered: its evaluation or a sink failed, for `reason`. */
  onBatchFailed?(status: Exclude<AckStatus, "delivered">, reason: string): void;
}

export interface PipelineOptions {
  maxInFlight: number;
  signal: AbortSignal;
  observer?: PipelineObserver;
}

export interface PipelineOutcome {
  batches: number;
  failedBatches: number;
  ledger: AckLedger;
}

export async function runPipeline(
  source: Source,
  evaluator: Evaluator,
  sinks: readonly Sink[],
  options: PipelineOptions,
): Promise<PipelineOutcome> {
  const ledger = new AckLedger();
  let inFlight = 0;
  let batches = 0;
  let failedBatches = 0;
  let waiters: (() => void)[] = [];
  let ordered: Promise<void> = Promise.resolve();
  /** Evaluations in the engine, oldest first (settled ones may linger). */
  const inEngine: Promise<unknown>[] = [];

  const release = (): void => {
    inFlight--;
    const wake = waiters;
    waiters = [];
    for (const w of wake) w();
  };

  const emit = async (batch: Batch, sourceAck: Ack): Promise<void> => {
    while (inFlight >= options.maxInFlight) {
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
    inFlight++;
    batches++;
    const tracked = new Ack((status, reason) => {
      if (status !== "delivered") {
        failedBatches++;
        options.observer?.onBatchFailed?.(status, reason ?? "no reason given");
      }
      release();
      sourceAck.settle(status, reason);
    }, ledger);
    const turn = inEngine.length >= ENGINE_BATCHES ? inEngine.shift() : undefined;
    const evaluation = (turn ?? Promise.resolve()).then(async () => {
      const enteredAt = performance.now();
      const result = await evaluator.evaluate(batch);
      return { result, latencyMs: performance.now() - enteredAt };
    });
    inEngine.push(evaluation.catch(() => undefined));
    // Writes are chained so that sinks see batches in emission order.
    ordered = ordered.then(async () => {
      let result: EvalResult;
      let latencyMs: number;
      try {
        ({ result, latencyMs } = await evaluation);
      } catch (error) {
        tracked.settle(error instanceof InvalidBatch ? "invalid" : "failed", errorMessage(error));
        return;
      }
      options.observer?.onResult?.(result, latencyMs);
      const acks = tracked.fanOut(sinks.length);
      await Promise.all(
        sinks.map(async (sink, i) => {
          const ack = acks[i];
          if (ack === undefined) return;
          try {
            await sink.write(result, ack);
          } catch (error) {
            ack.settle("failed", errorMessage(error));
          }
        }),
      );
    });
  };

  const ctx: SourceContext = { emit, signal: options.signal, ledger };
  await source.start(ctx);
  await ordered;
  await Promise.all(sinks.map((s) => s.flush()));
  return { batches, failedBatches, ledger };
}
