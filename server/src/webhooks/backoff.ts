/**
 * Retry delays of webhook deliveries: exponential with jitter. Pure (the random source is
 * passed in), so tests pin it.
 *
 *   base(n)  = min(maxMs, initialMs · 2^(n-1))      n = failed attempts so far (1, 2, …)
 *   delay(n) = base(n) · (0.5 + 0.5 · random())     "equal jitter": never below half the base
 */
export interface RetryPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

export function retryDelayMs(policy: RetryPolicy, failures: number, random: () => number): number {
  const exp = Math.min(Math.max(failures - 1, 0), 40);
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** exp);
  return Math.round(base * (0.5 + 0.5 * random()));
}
