/**
 * The one time source of the server. Every module that waits, times out, retries or stamps
 * takes a `Clock` (injected by the composition root), so tests drive unload, heartbeat,
 * anti-entropy, debounce and retry on manual time instead of sleeping.
 */
export interface Clock {
  /** Wall-clock milliseconds (timestamps, deadlines). */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  setInterval(callback: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle): void;
  /**
   * Run `callback` on the next turn of the event loop, after pending I/O (`setImmediate`):
   * how a busy connection yields so every other socket and timer gets its turn.
   */
  defer(callback: () => void): TimerHandle;
  cancelDefer(handle: TimerHandle): void;
}

/** Opaque to callers. */
export type TimerHandle = object | number;

type NodeTimer = ReturnType<typeof setTimeout>;

/** The real clock. Whoever sets a timer clears it on close (leak tests count them). */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (callback: () => void, ms: number): TimerHandle => setTimeout(callback, ms),
  clearTimeout: (handle: TimerHandle) => clearTimeout(handle as NodeTimer),
  setInterval: (callback: () => void, ms: number): TimerHandle => setInterval(callback, ms),
  clearInterval: (handle: TimerHandle) => clearInterval(handle as NodeTimer),
  defer: (callback: () => void): TimerHandle => setImmediate(callback),
  cancelDefer: (handle: TimerHandle) => clearImmediate(handle as ReturnType<typeof setImmediate>),
});

/** The longest delay a timer holds (~24.8 days); a later deadline is reached by re-arming. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Call `fire` once when the clock reaches `at` (ms since the epoch), however far away (timers
 * hold at most ~24.8 days: a later deadline re-arms). Returns what cancels it.
 */
export function atTime(clock: Clock, at: number, fire: () => void): () => void {
  let timer: TimerHandle | undefined;
  const arm = (): void => {
    timer = clock.setTimeout(() => {
      timer = undefined;
      if (clock.now() < at) arm();
      else fire();
    }, Math.min(Math.max(0, at - clock.now()), MAX_TIMER_MS));
  };
  arm();
  return () => {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
  };
}
