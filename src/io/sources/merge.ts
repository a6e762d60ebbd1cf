/**
 * Several sources feeding one pipeline, e.g. the Flight server beside a
 * file or Kafka input. The merged source ends when every source has ended;
 * stopping it stops them all. Acks stay per batch, so each source still
 * commits only what its own batches delivered.
 */

import type { LabelledMetric } from "../../telemetry/metrics.ts";
import type { Source, SourceContext } from "../source.ts";

export class MergedSource implements Source {
  readonly kind: string;

  constructor(private readonly sources: readonly Source[]) {
    this.kind = sources.map((s) => s.kind).join("+");
  }

  async start(ctx: SourceContext): Promise<void> {
    await Promise.all(this.sources.map((s) => s.start(ctx)));
  }

  async stop(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.stop()));
  }

  metrics(): LabelledMetric[] {
    return this.sources.flatMap((s) => s.metrics?.() ?? []);
  }
}

/** One source as is; several merged. */
export function mergeSources(sources: readonly Source[]): Source {
  const [only] = sources;
  return sources.length === 1 && only !== undefined ? only : new MergedSource(sources);
}
