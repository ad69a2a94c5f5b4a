import { encodeAwarenessUpdate, type AwarenessEntry } from '@skein/protocol';
import { TokenBucket } from '../auth/token-bucket.js';
import type { Clock, TimerHandle } from '../clock/clock.js';

export interface PresenceLimiterOptions {
  /** Awareness updates per second applied at most (a burst of one second's worth passes at once). */
  readonly ratePerSecond: number;
  readonly clock: Pick<Clock, 'now' | 'setTimeout' | 'clearTimeout'>;
  /** Apply an awareness update (the connection's own path: the document's awareness). */
  apply(update: Uint8Array): void;
}

/**
 * A connection's presence budget (`--presence-rate`). Presence is state, not history: when a
 * client sends awareness faster than the rate, the states in between are dropped and the
 * latest state of each of its clients is applied as soon as the rate allows — the last one
 * always arrives, nothing closes the socket. Within the rate an update is applied at once.
 */
export class PresenceLimiter {
  readonly #opts: PresenceLimiterOptions;
  readonly #bucket: TokenBucket;
  /** The latest held state of each client (highest clock), applied together when the rate allows. */
  readonly #held = new Map<number, AwarenessEntry>();
  #timer: TimerHandle | undefined;
  #closed = false;

  constructor(options: PresenceLimiterOptions) {
    if (!(options.ratePerSecond > 0)) throw new RangeError('PresenceLimiter: ratePerSecond must be positive');
    this.#opts = options;
    this.#bucket = new TokenBucket(options.ratePerSecond, Math.max(1, options.ratePerSecond), options.clock.now());
  }

  /** Client states waiting for the rate. */
  get held(): number {
    return this.#held.size;
  }

  /** An awareness update from the client (`entries`: it, decoded and validated). */
  offer(update: Uint8Array, entries: readonly AwarenessEntry[]): void {
    if (this.#closed) return;
    if (this.#held.size === 0 && this.#bucket.take(this.#opts.clock.now())) {
      this.#opts.apply(update);
      return;
    }
    for (const entry of entries) {
      const prev = this.#held.get(entry.clientId);
      if (prev === undefined || entry.clock >= prev.clock) this.#held.set(entry.clientId, entry);
    }
    this.#schedule();
  }

  close(): void {
    this.#closed = true;
    this.#held.clear();
    if (this.#timer !== undefined) this.#opts.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = this.#opts.clock.setTimeout(() => this.#release(), Math.ceil(1000 / this.#opts.ratePerSecond));
  }

  #release(): void {
    this.#timer = undefined;
    if (this.#closed || this.#held.size === 0) return;
    if (!this.#bucket.take(this.#opts.clock.now())) {
      this.#schedule();
      return;
    }
    const entries = [...this.#held.values()];
    this.#held.clear();
    this.#opts.apply(encodeAwarenessUpdate(entries));
  }
}
