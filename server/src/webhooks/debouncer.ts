import type { Clock, TimerHandle } from '../clock/clock.js';
import type { EventJournal } from '../documents/events.js';
import { toSkeinError } from '../errors/skein-error.js';
import type { Logger } from '../logging/logger.js';

export interface DebouncerOptions {
  readonly journal: EventJournal;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Seal once a document has been quiet this long… */
  readonly debounceMs: number;
  /** …or at the latest this long after its first pending change. */
  readonly maxWaitMs: number;
}

interface Waiting {
  firstAt: number;
  lastAt: number;
  timer: TimerHandle | undefined;
}

/**
 * `document.changed` per document, debounced: the store leaves a durable change mark in the
 * batch of every change (so nothing is lost to a crash); this turns a document's marks into one
 * event once it has been quiet for `debounceMs`, or `maxWaitMs` after its first pending change.
 * Timers live in memory only: at start, documents with marks on disk are scheduled from their
 * marks' times (an old mark fires at once).
 */
export class ChangeDebouncer {
  readonly #o: DebouncerOptions;
  readonly #waiting = new Map<string, Waiting>();
  readonly #sealing = new Set<Promise<void>>();
  #closed = false;
  #unsubscribe: (() => void) | undefined;

  constructor(options: DebouncerOptions) {
    this.#o = options;
  }

  /** Documents with changes not sealed yet. */
  get size(): number {
    return this.#waiting.size;
  }

  async start(): Promise<void> {
    this.#unsubscribe = this.#o.journal.onChanged((name, at) => this.#changed(name, at, at));
    for (const pending of await this.#o.journal.pendingChanges()) this.#changed(pending.name, pending.firstAt, pending.lastAt);
  }

  /** Seal every document now (shutdown: its marks would wait for the next start otherwise). */
  async flushAll(): Promise<void> {
    for (const name of [...this.#waiting.keys()]) this.#fire(name);
    await Promise.all([...this.#sealing]);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe?.();
    for (const waiting of this.#waiting.values()) if (waiting.timer !== undefined) this.#o.clock.clearTimeout(waiting.timer);
    this.#waiting.clear();
    await Promise.all([...this.#sealing]);
  }

  #changed(name: string, firstAt: number, lastAt: number): void {
    if (this.#closed) return;
    const waiting = this.#waiting.get(name) ?? { firstAt, lastAt, timer: undefined };
    waiting.firstAt = Math.min(waiting.firstAt, firstAt);
    waiting.lastAt = Math.max(waiting.lastAt, lastAt);
    this.#waiting.set(name, waiting);
    const fireAt = Math.min(waiting.lastAt + this.#o.debounceMs, waiting.firstAt + this.#o.maxWaitMs);
    if (waiting.timer !== undefined) this.#o.clock.clearTimeout(waiting.timer);
    waiting.timer = this.#o.clock.setTimeout(() => this.#fire(name), Math.max(0, fireAt - this.#o.clock.now()));
  }

  #fire(name: string): void {
    const waiting = this.#waiting.get(name);
    if (waiting?.timer !== undefined) this.#o.clock.clearTimeout(waiting.timer);
    this.#waiting.delete(name);
    if (this.#closed) return;
    const sealing = Promise.resolve().then(() => this.#o.journal.seal(name)).then(() => undefined, (err: unknown) => {
      const e = toSkeinError(err);
      if (e.code === 'SKEIN_ERR_STORAGE_CLOSED') return;
      this.#o.logger.error({ code: e.code, doc: name }, 'document.changed could not be recorded; retrying after the debounce');
      // The marks are still on disk: try again later.
      const now = this.#o.clock.now();
      this.#changed(name, now, now);
    });
    this.#sealing.add(sealing);
    void sealing.finally(() => this.#sealing.delete(sealing));
  }
}
