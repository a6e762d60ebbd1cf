/**
 * Which Kafka offsets may be committed: the at-least-once rule of
 * CONVENTIONS.md §5, kept pure so it is tested without a broker.
 *
 * Each emitted batch covers one topic-partition up to its last offset. Acks
 * settle in any order, but a partition's commit only moves over a run of
 * delivered batches with no gap: the commit offset is the last offset of the
 * last contiguously delivered batch, plus one (Kafka commits name the next
 * offset to read). A failed batch blocks its partition for good, so nothing
 * at or after it is committed and all of it is read again after a restart.
 *
 * `reset()` (on a rebalance) forgets everything: acks of batches fetched under
 * the old assignment are then ignored, so their offsets stay uncommitted and
 * are read again by whoever owns the partition now. That costs duplicates,
 * never losses.
 */

import type { AckStatus } from "../ack.ts";

export interface PartitionOffset {
  topic: string;
  partition: number;
  /** The next offset to read, as Kafka's commit API takes it (decimal text). */
  offset: string;
}

export interface BatchTicket {
  readonly epoch: number;
  readonly topic: string;
  readonly partition: number;
  readonly firstOffset: string;
  readonly lastOffset: string;
  readonly seq: number;
}

type EntryState = "pending" | "delivered" | "failed";

interface Entry {
  seq: number;
  lastOffset: bigint;
  state: EntryState;
}

interface PartitionQueue {
  topic: string;
  partition: number;
  /** Unsettled or not-yet-committable batches, in fetch order. */
  entries: Entry[];
  /** Set once a batch failed: the partition never commits again in this epoch. */
  blocked: boolean;
}

export interface BatchFailure {
  ticket: BatchTicket;
  reason: string;
}

export class ContiguousOffsets {
  #epoch = 0;
  #nextSeq = 0;
  #partitions = new Map<string, PartitionQueue>();
  #pending = 0;
  #firstFailure: BatchFailure | undefined;

  /** Registers a batch; batches of one partition must be registered in fetch order. */
  register(topic: string, partition: number, firstOffset: string, lastOffset: string): BatchTicket {
    const key = `${topic}\u0000${partition}`;
    let queue = this.#partitions.get(key);
    if (queue === undefined) {
      queue = { topic, partition, entries: [], blocked: false };
      this.#partitions.set(key, queue);
    }
    const seq = this.#nextSeq++;
    const last = BigInt(lastOffset);
    const previous = queue.entries[queue.entries.length - 1];
    if (previous !== undefined && last <= previous.lastOffset) {
      throw new RangeError(`batch ${topic}/${partition} up to ${lastOffset} registered after one up to ${previous.lastOffset}`);
    }
    queue.entries.push({ seq, lastOffset: last, state: "pending" });
    this.#pending++;
    return { epoch: this.#epoch, topic, partition, firstOffset, lastOffset, seq };
  }

  /**
   * Records a batch's ack. Returns the partition's new commit position when
   * it advanced, undefined otherwise (a gap before it, a failure, a stale ticket).
   */
  settle(ticket: BatchTicket, status: AckStatus, reason = "failed"): PartitionOffset | undefined {
    if (ticket.epoch !== this.#epoch) return undefined;
    const queue = this.#partitions.get(`${ticket.topic}\u0000${ticket.partition}`);
    const entry = queue?.entries.find((e) => e.seq === ticket.seq);
    if (queue === undefined || entry === undefined || entry.state !== "pending") return undefined;
    entry.state = status === "delivered" ? "delivered" : "failed";
    this.#pending--;
    if (status !== "delivered") {
      queue.blocked = true;
      this.#firstFailure ??= { ticket, reason };
      return undefined;
    }
    if (queue.blocked) return undefined;
    let committable: bigint | undefined;
    while (queue.entries[0]?.state === "delivered") {
      committable = queue.entries[0].lastOffset + 1n;
      queue.entries.shift();
    }
    if (committable === undefined) return undefined;
    return { topic: queue.topic, partition: queue.partition, offset: committable.toString() };
  }

  /** Forgets every batch (a rebalance): later acks of their tickets are ignored. */
  reset(): void {
    this.#epoch++;
    this.#partitions.clear();
    this.#pending = 0;
  }

  /** Batches registered in this epoch whose ack has not settled. */
  get pending(): number {
    return this.#pending;
  }

  /** The first batch that failed, if any: the source stops on it. */
  get firstFailure(): BatchFailure | undefined {
    return this.#firstFailure;
  }
}

/**
 * Sends commit positions to Kafka one request at a time, coalescing: while a
 * commit is on the wire, newer positions replace older ones for the same
 * partition, so commits never go backwards and never pile up.
 */
export class CoalescingCommitter {
  #wanted = new Map<string, PartitionOffset>();
  #running: Promise<void> | undefined;

  constructor(
    private readonly commit: (offsets: PartitionOffset[]) => Promise<void>,
    private readonly onError: (error: unknown, offsets: PartitionOffset[]) => void,
  ) {}

  request(position: PartitionOffset): void {
    const key = `${position.topic}\u0000${position.partition}`;
    const current = this.#wanted.get(key);
    if (current === undefined || BigInt(current.offset) < BigInt(position.offset)) this.#wanted.set(key, position);
    this.#running ??= this.#loop().finally(() => {
      this.#running = undefined;
    });
  }

  async #loop(): Promise<void> {
    while (this.#wanted.size > 0) {
      const offsets = [...this.#wanted.values()];
      this.#wanted.clear();
      try {
        await this.commit(offsets);
      } catch (error) {
        // Not retried here: the next commit of the partition carries a later
        // position, and an uncommitted position only means re-reading.
        this.onError(error, offsets);
      }
    }
  }

  /** Resolves when every requested position has been sent (or failed). */
  async drain(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }
}
