import type { Clock, TimerHandle } from '../../server/src/clock/clock.js';

interface Pending {
  readonly id: number;
  at: number;
  readonly callback: () => void;
  /** Set for intervals: re-armed after each run. */
  readonly every: number | undefined;
}

/**
 * The server's `Clock` on manual time: nothing fires until `advance(ms)`, which runs due
 * timers in time order (including ones they set) and moves `now()`. `active` counts timers
 * set and not yet fired or cleared, so a test can prove nothing is left scheduled.
 */
export class ManualClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  /** Deferred callbacks (`defer`), by id, in order: one `turn()` runs those deferred before it. */
  readonly #deferred = new Map<number, () => void>();

  readonly #manualTurns: boolean;

  /**
   * `manualTurns`: deferred callbacks (`defer`, the server's "yield to the next event-loop
   * turn") run only on `turn()`, for tests of the turn scheduling itself. Default: they run on
   * the real next turn (`setImmediate`), like in production — time stays manual, the event
   * loop does not.
   */
  constructor(start = 1_700_000_000_000, { manualTurns = false }: { manualTurns?: boolean } = {}) {
    this.#now = start;
    this.#manualTurns = manualTurns;
  }

  get active(): number {
    return this.#pending.size + this.#deferred.size;
  }

  /** Callbacks waiting for the next turn. */
  get deferred(): number {
    return this.#deferred.size;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    return this.#add(callback, ms, undefined);
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number') this.#pending.delete(handle);
  }

  setInterval(callback: () => void, ms: number): TimerHandle {
    return this.#add(callback, ms, Math.max(1, ms));
  }

  clearInterval(handle: TimerHandle): void {
    this.clearTimeout(handle);
  }

  defer(callback: () => void): TimerHandle {
    const id = this.#nextId++;
    this.#deferred.set(id, callback);
    if (!this.#manualTurns) {
      setImmediate(() => {
        const due = this.#deferred.get(id);
        if (due === undefined) return; // cancelled
        this.#deferred.delete(id);
        due();
      });
    }
    return id;
  }

  cancelDefer(handle: TimerHandle): void {
    if (typeof handle === 'number') this.#deferred.delete(handle);
  }

  /**
   * One event-loop turn: run the callbacks deferred before this call, in order (what they
   * defer runs in the next turn). Returns how many ran.
   */
  turn(): number {
    const due = [...this.#deferred.entries()];
    for (const [id] of due) this.#deferred.delete(id);
    for (const [, callback] of due) callback();
    return due.length;
  }

  /** Move the clock forward by `ms`, firing due timers in order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.#pending.values()) if (p.at <= target && (next === undefined || p.at < next.at)) next = p;
      if (next === undefined) break;
      this.#now = Math.max(this.#now, next.at);
      if (next.every === undefined) this.#pending.delete(next.id);
      else next.at += next.every;
      next.callback();
    }
    this.#now = target;
  }

  #add(callback: () => void, ms: number, every: number | undefined): number {
    const id = this.#nextId++;
    this.#pending.set(id, { id, at: this.#now + Math.max(0, ms), callback, every });
    return id;
  }
}
