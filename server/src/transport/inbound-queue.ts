import type { Clock, TimerHandle } from '../clock/clock.js';

/** How much of one event-loop turn a connection may spend on its incoming messages. */
export interface TurnBudget {
  /** Messages handled per turn before the connection yields. */
  readonly maxMessages: number;
  /** Milliseconds of handling per turn before it yields (checked between batches). */
  readonly maxMs: number;
}

export const DEFAULT_TURN_BUDGET: TurnBudget = Object.freeze({ maxMessages: 256, maxMs: 4 });

export interface InboundQueueOptions {
  readonly budget: TurnBudget;
  readonly clock: Pick<Clock, 'defer' | 'cancelDefer'>;
  /** Elapsed-time source for the ms budget (default `performance.now`). */
  readonly now?: () => number;
  /** Handle messages in arrival order; a batch may be merged (e.g. consecutive updates). */
  handle(batch: readonly Uint8Array[]): void;
  /** Stop reading the socket (backpressure reaches the sender through TCP). */
  pause(): void;
  resume(): void;
}

/**
 * Fairness for one connection: at most `budget.maxMessages` messages (and about
 * `budget.maxMs`) are handled per event-loop turn. Within budget a message is handled at once
 * (no added latency at ordinary rates); past it, the connection stops reading its socket
 * (so a burst waits in TCP, in the sender's buffers, not in this process's heap) and the rest
 * is handled in batches on later turns (`clock.defer`, i.e. `setImmediate`), so every other
 * connection's messages and every timer run in between. A batch is handed over whole, so
 * the caller can apply it as one change: one merge, one write, one fan-out, one ack.
 */
export class InboundQueue {
  readonly #opts: InboundQueueOptions;
  readonly #now: () => number;
  #queue: Uint8Array[] = [];
  /** Messages handled in the current turn, and when the turn's work started. */
  #used = 0;
  #turnStartedAt = 0;
  #turnEnd: TimerHandle | undefined;
  #drain: TimerHandle | undefined;
  #paused = false;
  #closed = false;

  constructor(options: InboundQueueOptions) {
    this.#opts = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Messages waiting for a later turn. */
  get queued(): number {
    return this.#queue.length;
  }

  get paused(): boolean {
    return this.#paused;
  }

  push(message: Uint8Array): void {
    if (this.#closed) return;
    if (this.#queue.length === 0 && this.#withinBudget()) {
      this.#startTurn();
      this.#used++;
      this.#opts.handle([message]);
      return;
    }
    this.#queue.push(message);
    if (!this.#paused) {
      this.#paused = true;
      this.#opts.pause();
    }
    this.#drain ??= this.#opts.clock.defer(() => this.#onDrain());
  }

  /** Drop what is queued and every deferred callback (the socket closed). */
  close(): void {
    this.#closed = true;
    this.#queue = [];
    if (this.#drain !== undefined) this.#opts.clock.cancelDefer(this.#drain);
    if (this.#turnEnd !== undefined) this.#opts.clock.cancelDefer(this.#turnEnd);
    this.#drain = this.#turnEnd = undefined;
  }

  #withinBudget(): boolean {
    const { maxMessages, maxMs } = this.#opts.budget;
    return this.#used < maxMessages && (this.#used === 0 || this.#now() - this.#turnStartedAt < maxMs);
  }

  /** The first message of a turn: note when it started and reset the count at the turn's end. */
  #startTurn(): void {
    if (this.#turnEnd !== undefined) return;
    this.#turnStartedAt = this.#now();
    this.#turnEnd = this.#opts.clock.defer(() => {
      this.#turnEnd = undefined;
      this.#used = 0;
    });
  }

  #onDrain(): void {
    this.#drain = undefined;
    if (this.#closed) return;
    this.#used = 0;
    this.#turnStartedAt = this.#now();
    const { maxMessages } = this.#opts.budget;
    while (this.#queue.length > 0 && this.#withinBudget()) {
      const batch = this.#queue.splice(0, maxMessages - this.#used);
      this.#used += batch.length;
      this.#opts.handle(batch);
      if (this.#closed) return;
    }
    if (this.#queue.length > 0) {
      this.#drain = this.#opts.clock.defer(() => this.#onDrain());
      return;
    }
    // Caught up: read the socket again. The count resets when this turn ends.
    this.#startTurn();
    this.#paused = false;
    this.#opts.resume();
  }
}
