/**
 * A circuit breaker (the cluster's Redis link, each webhook endpoint): `closed` (use Redis), `open` (don't: fail fast until
 * the backoff elapses), `half-open` (one probe may go; its outcome closes or re-opens the
 * circuit with a doubled backoff). Time is injected so the policy is testable on its own.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failures that open a closed circuit. */
  readonly failureThreshold: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly now?: () => number;
  /** Jitter source in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
}

export class CircuitBreaker {
  readonly #opts: BreakerOptions;
  readonly #now: () => number;
  #state: BreakerState = 'closed';
  #failures = 0;
  #backoffMs: number;
  #retryAt = 0;
  #openedAt = 0;

  constructor(options: BreakerOptions) {
    this.#opts = options;
    this.#now = options.now ?? Date.now;
    this.#backoffMs = options.initialBackoffMs;
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** When the circuit last opened (ms epoch), 0 when never. */
  get openedAt(): number {
    return this.#openedAt;
  }

  /** Milliseconds until an open circuit lets a probe through (0 when not open). */
  get retryInMs(): number {
    return this.#state === 'open' ? Math.max(0, this.#retryAt - this.#now()) : 0;
  }

  /** May a call go out now? An open circuit whose backoff elapsed turns half-open (one probe). */
  allow(): boolean {
    if (this.#state === 'closed') return true;
    if (this.#state === 'open' && this.#now() >= this.#retryAt) {
      this.#state = 'half-open';
      return true;
    }
    return false;
  }

  /** Returns true when this success closed an open or half-open circuit. */
  success(): boolean {
    this.#failures = 0;
    const reopened = this.#state !== 'closed';
    this.#state = 'closed';
    this.#backoffMs = this.#opts.initialBackoffMs;
    return reopened;
  }

  /** Returns true when this failure opened the circuit. */
  failure(): boolean {
    this.#failures++;
    if (this.#state === 'half-open') {
      this.#backoffMs = Math.min(this.#opts.maxBackoffMs, this.#backoffMs * 2);
      this.#open();
      return false;
    }
    if (this.#state === 'closed' && this.#failures >= this.#opts.failureThreshold) {
      this.#open();
      return true;
    }
    return false;
  }

  /** Open now (e.g. the connection dropped): no call goes out until the backoff elapsed. */
  trip(): boolean {
    if (this.#state === 'open') return false;
    const wasClosed = this.#state === 'closed';
    this.#open();
    return wasClosed;
  }

  #open(): void {
    if (this.#state === 'closed') this.#openedAt = this.#now();
    this.#state = 'open';
    // Jitter, so a fleet of nodes does not probe a recovering Redis in lockstep.
    this.#retryAt = this.#now() + Math.round(this.#backoffMs * (0.75 + (this.#opts.random ?? Math.random)() * 0.5));
  }
}
