import type { Clock, TimerHandle } from '../clock/clock.js';

/** How much of one event-loop turn a connection may spend on its incoming messages. */
export interface TurnBudget {
  /** Messages handled per turn before the connection yields. */
  readonly maxMessages: number;
  /** Milliseconds of handling per turn before it yields (checked between batches). */
  readonly maxMs: number;
}

export const DEFAULT_TURN_BUDGET: TurnBudget = Object.freeze({ maxMessages: 256, maxMs: 4 });

/** Messages a draining connection may handle per turn even when the node's turn is full. */
const MIN_PROGRESS = 8;

/**
 * The time budget applies only after this many messages in a turn: a handful of messages is
 * always handled at once, one by one, however slow the machine (the time budget is for bursts).
 */
const TIME_BUDGET_AFTER = 16;

/**
 * The node-wide side of the turn budget: however many connections burst at once, at most
 * `budget.maxMessages` messages (and about `budget.maxMs`) are handled per event-loop turn in
 * total, so one turn stays short and a quiet connection waits at most about one turn.
 */
export class TurnGovernor {
  readonly budget: TurnBudget;
  readonly #clock: Pick<Clock, 'defer'>;
  readonly #now: () => number;
  #used = 0;
  #startedAt = 0;
  #turnEnd: TimerHandle | undefined;

  constructor(budget: TurnBudget, clock: Pick<Clock, 'defer'>, now: () => number = () => performance.now()) {
    this.budget = budget;
    this.#clock = clock;
    this.#now = now;
  }

  /** How many more messages this turn may take (0: yield). */
  remaining(): number {
    if (this.#used === 0) return this.budget.maxMessages;
    if (this.#used >= 2 * TIME_BUDGET_AFTER && this.#now() - this.#startedAt >= this.budget.maxMs) return 0;
    return Math.max(0, this.budget.maxMessages - this.#used);
  }

  took(messages: number): void {
    if (this.#turnEnd === undefined) {
      this.#startedAt = this.#now();
      this.#turnEnd = this.#clock.defer(() => {
        this.#turnEnd = undefined;
        this.#used = 0;
      });
    }
    this.#used += messages;
  }
}

export interface InboundQueueOptions {
  readonly budget: TurnBudget;
  /** The node-wide budget shared by every connection (absent: this connection's alone). */
  readonly governor?: TurnGovernor;
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
    // A connection's first message of a turn is always handled at once: a quiet connection never
    // waits behind others' bursts. Further ones need room in both budgets.
    if (this.#queue.length === 0 && (this.#used === 0 || (this.#withinBudget() && this.#shared() > 0))) {
      this.#startTurn();
      this.#used++;
      this.#opts.governor?.took(1);
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

  /** What the node-wide budget still allows this turn. */
  #shared(): number {
    return this.#opts.governor?.remaining() ?? Number.POSITIVE_INFINITY;
  }

  #withinBudget(): boolean {
    const { maxMessages, maxMs } = this.#opts.budget;
    return this.#used < maxMessages && (this.#used < TIME_BUDGET_AFTER || this.#now() - this.#turnStartedAt < maxMs);
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
      // The node's turn may be full; a draining connection still makes some progress every
      // turn (never starved by many quiet connections' first messages).
      const shared = this.#used === 0 ? Math.max(this.#shared(), MIN_PROGRESS) : this.#shared();
      const room = Math.min(maxMessages - this.#used, shared);
      if (room <= 0) break; // the node's turn is full: wait for the next one
      const batch = this.#queue.splice(0, room);
      this.#used += batch.length;
      this.#opts.governor?.took(batch.length);
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
