/**
 * The clock and timers the provider uses. Injectable so tests can count live timers or run
 * on a fake clock; the default is the platform's `setTimeout` and `Date.now`.
 */
export interface Timers {
  /** Milliseconds since some fixed origin (only differences are used). */
  now(): number;
  /** Run `callback` once after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancel a timer made by this object's `setTimeout` (unknown handles are ignored). */
  clearTimeout(handle: unknown): void;
}

/** The platform clock and timers. */
export const defaultTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

/** One restartable timer slot: at most one pending callback at a time. */
export class TimerSlot {
  readonly #timers: Timers;
  #handle: unknown = undefined;
  #armed = false;

  constructor(timers: Timers) {
    this.#timers = timers;
  }

  /** Whether a callback is pending. */
  get armed(): boolean {
    return this.#armed;
  }

  /** Replace any pending callback with `callback` after `ms`. */
  set(callback: () => void, ms: number): void {
    this.clear();
    this.#armed = true;
    this.#handle = this.#timers.setTimeout(() => {
      this.#armed = false;
      this.#handle = undefined;
      callback();
    }, Math.max(0, ms));
  }

  clear(): void {
    if (!this.#armed) return;
    this.#timers.clearTimeout(this.#handle);
    this.#armed = false;
    this.#handle = undefined;
  }
}
