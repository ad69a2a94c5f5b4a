import type { Timers } from '@skein/client';

/**
 * The SDK's `Timers` on a manual clock: the server's `ManualClock` is one (same clock, one
 * implementation), so client and server tests drive time the same way.
 */
export { ManualClock as ManualTimers } from './manual-clock.js';

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
