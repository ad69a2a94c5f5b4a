import type { Clock, TimerHandle } from '../clock/clock.js';
import { DEFAULT_CONFIG } from '../config/schema.js';

/** How much of one event-loop turn a connection may spend on its incoming messages. */
export interface TurnBudget {
  /** Messages handled per turn before the connection yields. */
  readonly maxMessages: number;
  /** Milliseconds of handling per turn before it yields (checked between batches). */
  readonly maxMs: number;
  /**
   * Bytes of the socket's reads handed to the WebSocket parser per turn (read-slicer.ts);
   * absent: reads are parsed whole.
   */
  readonly maxReadBytes?: number;
}

/** The options' defaults (`--turn-max-messages`, `--turn-max-ms`, `--turn-max-read-bytes`): one source for both. */
export const DEFAULT_TURN_BUDGET: TurnBudget = Object.freeze({
  maxMessages: DEFAULT_CONFIG.turnMaxMessages,
  maxMs: DEFAULT_CONFIG.turnMaxMs,
  maxReadBytes: DEFAULT_CONFIG.turnMaxReadBytes,
});

/** The default elapsed-time source: one function for every queue (not a closure per connection). */
const performanceNow = (): number => performance.now();

/** The smallest batch: what a served connection handles even when the turn's time is spent. */
const MIN_PROGRESS = 8;

/**
 * At most this many messages of a turn are handled at once, as they arrive (no added latency
 * for ordinary traffic: a sync step 1, an awareness change and an update or two), and only
 * while the turn is within its time (the connection's and the node's); a connection's first
 * message of a turn always is. Under a `TurnGovernor`, "at once" is when the socket read that
 * brought them has been parsed: a read's messages go as one batch (`beginRead`/`endRead`).
 * Past that the connection is bursting: the rest of the socket read waits for the turn's end
 * and goes in merged batches (one merge, one apply, one write, one fan-out per batch), which
 * costs a fraction of handling each alone. The time check matters on cold code after a start
 * (20–50× the warm cost per message): without it the first 16 of each of ten bursting sockets
 * took 25–55 ms turns in bench S9.
 */
const AT_ONCE = 16;

/**
 * A batch is sized to fit what is left of the turn's time budget at the connection's measured
 * cost. Until a batch has been measured the estimate is this (ms per message: 16 messages in
 * 2 ms; in the default 0.5 ms, MIN_PROGRESS), so a burst on cold code — the first one after a start, before
 * the JIT has optimised the apply path, when a message costs 20–50× more — does not stall the
 * loop for tens of ms; warm, the estimate falls to a few µs and batches reach maxMessages.
 */
const INITIAL_MS_PER_MESSAGE = 0.125;
/** Weight kept by older batches in the cost fit, per new batch (exponential forgetting). */
const COST_MEMORY = 0.8;
/** The estimate never goes below 1 µs per message (a clock too coarse to see a batch reads 0). */
const MIN_MS_PER_MESSAGE = 0.001;
/** Batch sizes must vary by this much (coefficient of variation) before a fixed cost is fitted. */
const MIN_SIZE_SPREAD = 0.1;

/**
 * What handling a batch of n messages costs: `fixedMs + msPerMessage × n`, fitted to the batches
 * measured so far by least squares with exponential forgetting (recent batches count most).
 *
 * The fixed part is real and can dominate: applying a batch is one Yjs transaction (its
 * cleanup, one write, one fan-out), and its cleanup merges the new items into the neighbouring
 * run — before Skein bounded array runs (crdt/runs.ts, 1,024 elements) a copy of the whole run
 * for a long array built by one client, so a transaction cost O(document) however few messages
 * it held. Sized by the cost per message alone, such batches shrink to the minimum and every
 * message pays the fixed part again (a 100,000-push burst, unbounded runs: 78 % of the time in
 * that merge). Knowing the fixed part, a batch is made at least large enough that it is no more
 * than half the batch's cost.
 */
export class BatchCost {
  #w = 0;
  #n = 0;
  #t = 0;
  #nn = 0;
  #nt = 0;
  #fixed = 0;
  #perMessage = INITIAL_MS_PER_MESSAGE;
  /** The last batch size chosen, and how many batches in a row had it (to vary it when stuck). */
  #lastSize = 0;
  #repeats = 0;

  get fixedMs(): number {
    return this.#fixed;
  }

  get msPerMessage(): number {
    return this.#perMessage;
  }

  /** A batch of `n` messages took `ms`. */
  observe(n: number, ms: number): void {
    const k = COST_MEMORY;
    this.#w = k * this.#w + 1;
    this.#n = k * this.#n + n;
    this.#t = k * this.#t + ms;
    this.#nn = k * this.#nn + n * n;
    this.#nt = k * this.#nt + n * ms;
    const meanN = this.#n / this.#w;
    const meanT = this.#t / this.#w;
    const varN = this.#nn / this.#w - meanN * meanN;
    const cov = this.#nt / this.#w - meanN * meanT;
    // Without enough spread in the sizes (e.g. every batch at the bound) the fixed part keeps its
    // last fit, within the mean cost, and the rest of the mean is the part per message.
    let fixed = Math.min(this.#fixed, meanT);
    let perMessage = (meanT - fixed) / meanN;
    if (varN > (MIN_SIZE_SPREAD * meanN) ** 2 && cov > 0) {
      const slope = cov / varN;
      const intercept = meanT - slope * meanN;
      fixed = Math.max(0, intercept);
      perMessage = intercept > 0 ? slope : meanT / meanN;
    }
    this.#fixed = fixed;
    this.#perMessage = Math.max(MIN_MS_PER_MESSAGE, perMessage);
  }

  /** How many messages the next batch takes: `leftMs` of the turn is left, at most `most`, at least `least`. */
  size(leftMs: number, least: number, most: number): number {
    const fixed = this.#fixed;
    const per = this.#perMessage;
    const byTime = leftMs > fixed ? (leftMs - fixed) / per : 0;
    // However little time is left, the fixed cost is not paid for a handful of messages.
    const amortized = fixed / per;
    let size = Math.min(most, Math.max(least, Math.floor(Math.max(byTime, amortized))));
    // The fit needs batches of different sizes: one stuck at a size is varied (doubled) now and then.
    if (size === this.#lastSize && ++this.#repeats >= 4 && size < most && size === least) {
      size = Math.min(most, 2 * size);
      this.#repeats = 0;
    } else if (size !== this.#lastSize) this.#repeats = 0;
    this.#lastSize = size;
    return size;
  }
}

/** A connection's messages of the read being parsed, handled together when it ends. */
export interface ReadBatch {
  flushRead(): void;
}

/** What the governor's run queue serves: a connection's queue with messages waiting. */
export interface Drainable {
  /**
   * Handle this turn's share: by `deadline` (ms, the `now` clock) and at most `messages`
   * (the first batch always goes); true when more waits.
   */
  drainTurn(deadline: number, messages: number): boolean;
}

/**
 * The node-wide side of the turn budget: however many connections burst at once, about
 * `budget.maxMs` of queued messages are handled, and about `budget.maxReadBytes` of socket
 * reads parsed, per event-loop turn in total, so one turn stays short and a quiet connection
 * waits at most about one turn. Connections with queued messages are served round-robin, one
 * `setImmediate` per turn for all of them: each gets a batch until the turn's time is spent;
 * those not reached go first next turn, so none starves however many burst.
 */
export class TurnGovernor {
  readonly budget: TurnBudget;
  readonly #clock: Pick<Clock, 'defer'>;
  readonly #now: () => number;
  #used = 0;
  #readBytes = 0;
  #startedAt = 0;
  #turnEnd: TimerHandle | undefined;
  #ready: Drainable[] = [];
  readonly #waiting = new Set<Drainable>();
  #serving: TimerHandle | undefined;
  /** Reads being parsed (nested: a read's handling never parses another, but be safe). */
  #reading = 0;
  /** Connections whose messages of the current read wait for its end. */
  #readBatches: ReadBatch[] = [];

  constructor(budget: TurnBudget, clock: Pick<Clock, 'defer'>, now: () => number = performanceNow) {
    this.budget = budget;
    this.#clock = clock;
    this.#now = now;
  }

  /** How many more messages this turn may take (0: yield). */
  remaining(): number {
    if (this.#used === 0) return this.budget.maxMessages;
    if (this.#now() - this.#startedAt >= this.budget.maxMs) return 0;
    return Math.max(0, this.budget.maxMessages - this.#used);
  }

  took(messages: number): void {
    this.#startTurn();
    this.#used += messages;
  }

  /**
   * Bytes of socket reads a connection may parse now: what is left of the node's turn, but at
   * least `floor`, so every connection's reads progress every turn however many burst.
   */
  readRoom(floor: number): number {
    const max = this.budget.maxReadBytes;
    return max === undefined ? Number.POSITIVE_INFINITY : Math.max(floor, max - this.#readBytes);
  }

  parsed(bytes: number): void {
    this.#startTurn();
    this.#readBytes += bytes;
  }

  /**
   * A socket read is being parsed (read-slicer.ts): the messages in it that a connection would
   * handle at once wait for the read's end and go as one batch — one Yjs transaction, one write,
   * one fan-out for the updates a read brings, instead of one each (a parsed read is a few µs).
   */
  beginRead(): void {
    this.#reading++;
  }

  endRead(): void {
    if (--this.#reading > 0) return;
    while (this.#readBatches.length > 0) {
      const batches = this.#readBatches;
      this.#readBatches = [];
      for (const b of batches) b.flushRead();
    }
  }

  /** Whether a read is being parsed now. */
  get reading(): boolean {
    return this.#reading > 0;
  }

  /** `b` holds messages of the current read: flushed when it ends. */
  deferToReadEnd(b: ReadBatch): void {
    this.#readBatches.push(b);
  }

  /** Connections with messages waiting for a turn. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** `q` has messages waiting: it is served in a later turn, round-robin with the others. */
  ready(q: Drainable): void {
    if (this.#waiting.has(q)) return;
    this.#waiting.add(q);
    this.#ready.push(q);
    if (this.#serving === undefined) this.#serving = this.#clock.defer(() => this.#serve());
  }

  /** `q` closed or drained by itself: it is not served again. */
  forget(q: Drainable): void {
    if (this.#waiting.delete(q)) this.#ready = this.#ready.filter((r) => r !== q);
  }

  #serve(): void {
    this.#serving = undefined;
    const deadline = this.#now() + this.budget.maxMs;
    const serving = this.#ready;
    this.#ready = [];
    let i = 0;
    // The first always gets its batch; the others while the turn has time and messages left.
    for (; i < serving.length && (i === 0 || (this.#now() < deadline && this.#used < this.budget.maxMessages)); i++) {
      const q = serving[i] as Drainable;
      this.#waiting.delete(q);
      if (q.drainTurn(deadline, Math.max(0, this.budget.maxMessages - this.#used))) {
        this.#waiting.add(q);
        this.#ready.push(q);
      }
    }
    // Those the turn did not reach go first next turn.
    this.#ready = [...serving.slice(i), ...this.#ready];
    if (this.#ready.length > 0) this.#serving = this.#clock.defer(() => this.#serve());
  }

  #startTurn(): void {
    if (this.#turnEnd !== undefined) return;
    this.#startedAt = this.#now();
    this.#turnEnd = this.#clock.defer(() => {
      this.#turnEnd = undefined;
      this.#used = 0;
      this.#readBytes = 0;
    });
  }
}

/** What every connection's queue shares (one object per server). */
export interface InboundQueueConfig {
  readonly budget: TurnBudget;
  /** The node-wide budget shared by every connection (absent: this connection's alone). */
  readonly governor?: TurnGovernor;
  readonly clock: Pick<Clock, 'defer' | 'cancelDefer'>;
  /** Elapsed-time source for the ms budget (default `performance.now`). */
  readonly now?: () => number;
}

/**
 * Where a queue's messages go, and its socket's reads: methods of the connection itself, so a
 * connection pays for no closures here (thousands of idle connections per node).
 */
export interface InboundSink {
  /** Handle messages in arrival order; a batch may be merged (e.g. consecutive updates). */
  handleInbound(batch: readonly Uint8Array[]): void;
  /** Stop reading the socket (backpressure reaches the sender through TCP). */
  pauseReads(): void;
  resumeReads(): void;
}

/** Config and sink in one object (tests; a connection passes the shared config and itself). */
export type InboundQueueOptions = InboundQueueConfig & InboundSink;

/**
 * Fairness for one connection: at most `budget.maxMessages` messages (and about
 * `budget.maxMs`) are handled per event-loop turn. The first few of a turn (AT_ONCE, while
 * within the time budget) are handled at once (no added latency at ordinary rates); past them,
 * the connection stops reading its socket
 * (so a burst waits in TCP, in the sender's buffers, not in this process's heap) and the rest
 * is handled in batches on later turns (`clock.defer`, i.e. `setImmediate`), so every other
 * connection's messages and every timer run in between. A batch is handed over whole, so
 * the caller can apply it as one change: one merge, one write, one fan-out, one ack.
 */
export class InboundQueue implements Drainable, ReadBatch {
  readonly #config: InboundQueueConfig;
  readonly #sink: InboundSink;
  readonly #now: () => number;
  #queue: Uint8Array[] = [];
  /** Messages handled in the current turn, and when the turn's work started. */
  #used = 0;
  #turnStartedAt = 0;
  #turnEnd: TimerHandle | undefined;
  #drain: TimerHandle | undefined;
  #paused = false;
  #closed = false;
  /** What a batch costs to handle (sizes the batches); made with the first batch (most connections never batch). */
  #batchCost: BatchCost | undefined;
  /** Messages of the read being parsed that are handled at once, when the read ends (TurnGovernor). */
  #atReadEnd: Uint8Array[] | undefined;

  constructor(options: InboundQueueOptions);
  constructor(config: InboundQueueConfig, sink: InboundSink);
  constructor(config: InboundQueueConfig, sink?: InboundSink) {
    this.#config = config;
    this.#sink = sink ?? (config as InboundQueueOptions);
    this.#now = config.now ?? performanceNow;
  }

  /** Messages waiting for a later turn. */
  get queued(): number {
    return this.#queue.length;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** The current estimate of the handling cost per message (ms), which sizes batches. */
  get msPerMessage(): number {
    return this.#batchCost?.msPerMessage ?? INITIAL_MS_PER_MESSAGE;
  }

  /** The current estimate of the fixed handling cost of a batch (ms). */
  get fixedMs(): number {
    return this.#batchCost?.fixedMs ?? 0;
  }

  push(message: Uint8Array): void {
    if (this.#closed) return;
    // A connection's first message of a turn is always handled at once: a quiet connection never
    // waits behind others' bursts. Further ones, up to AT_ONCE, need room in both budgets.
    if (this.#queue.length === 0 && (this.#used === 0 || (this.#used < AT_ONCE && this.#withinBudget() && this.#shared() > 0))) {
      this.#startTurn();
      this.#used++;
      const governor = this.#config.governor;
      governor?.took(1);
      // Inside a socket read: with the read's other messages when it ends, as one batch.
      if (governor?.reading === true) {
        if (this.#atReadEnd === undefined) {
          this.#atReadEnd = [];
          governor.deferToReadEnd(this);
        }
        this.#atReadEnd.push(message);
        return;
      }
      this.#sink.handleInbound([message]);
      return;
    }
    this.#queue.push(message);
    if (!this.#paused) {
      this.#paused = true;
      this.#sink.pauseReads();
    }
    this.#scheduleDrain();
  }

  /** The read ended: its messages that are handled at once go now, as one batch. */
  flushRead(): void {
    const batch = this.#atReadEnd;
    this.#atReadEnd = undefined;
    if (batch !== undefined && !this.#closed) this.#sink.handleInbound(batch);
  }

  /** A later turn handles what waits: the node's run queue, or this queue's own `defer`. */
  #scheduleDrain(): void {
    const governor = this.#config.governor;
    if (governor !== undefined) governor.ready(this);
    else this.#drain ??= this.#config.clock.defer(() => {
      this.#drain = undefined;
      if (this.drainTurn(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY)) this.#scheduleDrain();
    });
  }

  /**
   * Handle everything queued now, in batches of at most `budget.maxMessages`, and stop (the
   * peer closed the socket: what it sent before closing is not dropped).
   */
  drainAll(): void {
    if (this.#closed) return;
    if (this.#drain !== undefined) this.#config.clock.cancelDefer(this.#drain);
    this.#drain = undefined;
    this.#config.governor?.forget(this);
    this.flushRead();
    while (this.#queue.length > 0 && !this.#closed) this.#sink.handleInbound(this.#queue.splice(0, this.#config.budget.maxMessages));
    this.close();
  }

  /** Drop what is queued and every deferred callback (this side closed the socket). */
  close(): void {
    this.#closed = true;
    this.#queue = [];
    this.#atReadEnd = undefined;
    this.#config.governor?.forget(this);
    if (this.#drain !== undefined) this.#config.clock.cancelDefer(this.#drain);
    if (this.#turnEnd !== undefined) this.#config.clock.cancelDefer(this.#turnEnd);
    this.#drain = this.#turnEnd = undefined;
  }

  /** What the node-wide budget still allows this turn. */
  #shared(): number {
    return this.#config.governor?.remaining() ?? Number.POSITIVE_INFINITY;
  }

  #withinBudget(): boolean {
    const { maxMessages, maxMs } = this.#config.budget;
    return this.#used < maxMessages && this.#now() - this.#turnStartedAt < maxMs;
  }

  /** The first message of a turn: note when it started and reset the count at the turn's end. */
  #startTurn(): void {
    if (this.#turnEnd !== undefined) return;
    this.#turnStartedAt = this.#now();
    this.#turnEnd = this.#config.clock.defer(() => {
      this.#turnEnd = undefined;
      this.#used = 0;
    });
  }

  /**
   * One turn's share of what waits: batches while this connection's budget and the node's
   * `deadline` and `messages` allow (the first batch, at least MIN_PROGRESS, always goes).
   * True when messages still wait.
   */
  drainTurn(deadline: number, messages: number): boolean {
    if (this.#closed) return false;
    this.#used = 0;
    this.#turnStartedAt = this.#now();
    const { maxMessages, maxMs } = this.#config.budget;
    const until = Math.min(deadline, this.#turnStartedAt + maxMs);
    const most = Math.max(MIN_PROGRESS, Math.min(maxMessages, messages));
    const cost = (this.#batchCost ??= new BatchCost());
    while (this.#queue.length > 0 && (this.#used === 0 || (this.#used < most && this.#now() < until))) {
      // As many as fit the time left at the measured cost (at least MIN_PROGRESS).
      const batch = this.#queue.splice(0, cost.size(until - this.#now(), Math.min(MIN_PROGRESS, most - this.#used), most - this.#used));
      this.#used += batch.length;
      this.#config.governor?.took(batch.length);
      const started = this.#now();
      this.#sink.handleInbound(batch);
      cost.observe(batch.length, this.#now() - started);
      if (this.#closed) return false;
    }
    if (this.#queue.length > 0) return true;
    // Caught up: read the socket again. The count resets when this turn ends.
    this.#startTurn();
    this.#paused = false;
    this.#sink.resumeReads();
    return false;
  }
}
