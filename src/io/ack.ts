/**
 * End-to-end acknowledgements: the one mechanism behind at-least-once
 * delivery and backpressure (Vector's end-to-end acknowledgements are the model).
 *
 * A source creates one `Ack` per batch with a callback that commits its
 * position (Kafka offsets, a Flight PutResult, a file's progress). The pipeline
 * fans the ack out to every sink; the source's callback runs exactly once,
 * when the last sink has settled, with the worst status reported.
 *
 * Invariants: an ack settles at most once (later calls are ignored and
 * counted by `AckLedger` so tests can assert none is left open or doubled);
 * `invalid` beats `failed`, which beats `delivered`.
 */

/**
 * `failed`: the batch was not delivered; `invalid`: nor can it ever be, its
 * own data is malformed (the engine refused it), so a source reports the
 * sender's error rather than its own.
 */
export type AckStatus = "delivered" | "failed" | "invalid";

const SEVERITY: Record<AckStatus, number> = { delivered: 0, failed: 1, invalid: 2 };

export type AckCallback = (status: AckStatus, reason?: string) => void;

export class Ack {
  #settled = false;
  readonly #onSettle: AckCallback;
  readonly #ledger: AckLedger | undefined;

  constructor(onSettle: AckCallback, ledger?: AckLedger) {
    this.#onSettle = onSettle;
    this.#ledger = ledger;
    ledger?.opened();
  }

  get settled(): boolean {
    return this.#settled;
  }

  settle(status: AckStatus, reason?: string): void {
    if (this.#settled) {
      this.#ledger?.doubled();
      return;
    }
    this.#settled = true;
    this.#ledger?.closed();
    this.#onSettle(status, reason);
  }

  /**
   * Splits this ack into `count` children; this ack settles when all of them
   * have, with the worst status. With `count` 0 it settles at once as delivered.
   */
  fanOut(count: number): Ack[] {
    if (count === 0) {
      this.settle("delivered");
      return [];
    }
    let pending = count;
    let worst: AckStatus = "delivered";
    let worstReason: string | undefined;
    const children: Ack[] = [];
    for (let i = 0; i < count; i++) {
      children.push(
        new Ack((status, reason) => {
          if (SEVERITY[status] > SEVERITY[worst]) {
            worst = status;
            worstReason = reason;
          }
          pending--;
          if (pending === 0) this.settle(worst, worstReason);
        }, this.#ledger),
      );
    }
    return children;
  }
}

/** Counts open acks so that shutdown and tests can prove none is left open. */
export class AckLedger {
  #open = 0;
  #doubled = 0;

  opened(): void {
    this.#open++;
  }

  closed(): void {
    this.#open--;
  }

  doubled(): void {
    this.#doubled++;
  }

  get open(): number {
    return this.#open;
  }

  get doubleSettles(): number {
    return this.#doubled;
  }
}
