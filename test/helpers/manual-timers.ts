import type { Timers } from '@skein/client';

interface Pending {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/**
 * A `Timers` on a manual clock: nothing fires until `advance(ms)`. `active` counts timers
 * that are set and not yet fired or cleared, so a test can prove that nothing (no retry, no
 * liveness check) is scheduled.
 */
export class ManualTimers implements Timers {
  #now = 1_000_000;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();

  get active(): number {
    return this.#pending.size;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.#pending.set(id, { id, at: this.#now + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    if (typeof handle === 'number') this.#pending.delete(handle);
  }

  /** Move the clock forward, firing due timers in order (including ones they set). */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.#pending.values()) if (p.at <= target && (next === undefined || p.at < next.at)) next = p;
      if (next === undefined) break;
      this.#pending.delete(next.id);
      this.#now = Math.max(this.#now, next.at);
      next.callback();
    }
    this.#now = target;
  }
}

/** `Timers` on the real clock that count live timers (for leak checks). */
export class CountingTimers implements Timers {
  readonly #live = new Set<ReturnType<typeof setTimeout>>();
  created = 0;

  get active(): number {
    return this.#live.size;
  }

  now(): number {
    return Date.now();
  }

  setTimeout(callback: () => void, ms: number): unknown {
    this.created++;
    const handle = setTimeout(() => {
      this.#live.delete(handle);
      callback();
    }, ms);
    this.#live.add(handle);
    return handle;
  }

  clearTimeout(handle: unknown): void {
    const h = handle as ReturnType<typeof setTimeout>;
    clearTimeout(h);
    this.#live.delete(h);
  }
}
