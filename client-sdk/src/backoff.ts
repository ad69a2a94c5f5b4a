/** Reconnect delays: exponential backoff with full jitter and a cap. */
export interface BackoffOptions {
  /** The first retry waits up to this long (ms). Default 250. */
  readonly initialDelayMs?: number;
  /** No retry waits longer than this (ms). Default 30 000. */
  readonly maxDelayMs?: number;
  /** Random source in [0, 1); injectable for tests. Default `Math.random`. */
  readonly random?: () => number;
}

export const DEFAULT_INITIAL_DELAY_MS = 250;
export const DEFAULT_MAX_DELAY_MS = 30_000;

/**
 * The delay before retry number `attempt` (0 = the first retry): uniformly random in
 * `[0, min(maxDelayMs, initialDelayMs · 2^attempt))` ("full jitter", so a server restart does
 * not see every client come back in the same instant).
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS;
  const max = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  const random = options.random ?? Math.random;
  // 2^attempt overflows to Infinity for huge attempts; min() keeps the cap.
  const ceiling = Math.min(max, initial * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}
