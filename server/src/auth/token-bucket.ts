/**
 * A token bucket: holds at most `capacity` tokens and gains `ratePerSecond` tokens per second.
 * Pure: the caller passes the time (`now`, milliseconds from the injected clock), so tests run
 * it on manual time. A new bucket is full.
 */
export class TokenBucket {
  readonly ratePerSecond: number;
  readonly capacity: number;
  #tokens: number;
  #at: number;

  constructor(ratePerSecond: number, capacity: number, now: number) {
    if (!(ratePerSecond > 0) || !(capacity > 0)) throw new RangeError('a token bucket needs a positive rate and capacity');
    this.ratePerSecond = ratePerSecond;
    this.capacity = capacity;
    this.#tokens = capacity;
    this.#at = now;
  }

  /** Tokens available at `now` (fractional). */
  tokens(now: number): number {
    this.#refill(now);
    return this.#tokens;
  }

  /** Take `n` tokens if there are that many; false (and nothing taken) otherwise. */
  take(now: number, n = 1): boolean {
    this.#refill(now);
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }

  /** Milliseconds until `n` tokens are available (0 when they are); Infinity when `n` > capacity. */
  waitMs(now: number, n = 1): number {
    if (n > this.capacity) return Infinity;
    this.#refill(now);
    if (this.#tokens >= n) return 0;
    return ((n - this.#tokens) / this.ratePerSecond) * 1000;
  }

  /** Full again: such a bucket is indistinguishable from a new one (and can be forgotten). */
  isFull(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= this.capacity;
  }

  #refill(now: number): void {
    // A clock that steps back never takes tokens away.
    if (now <= this.#at) return;
    this.#tokens = Math.min(this.capacity, this.#tokens + ((now - this.#at) / 1000) * this.ratePerSecond);
    this.#at = now;
  }
}
