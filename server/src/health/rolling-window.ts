/**
 * Outcomes and latencies of recent operations (persistence batch writes) within a time window,
 * bounded in memory: at most `capacity` samples, the oldest dropped first. Recording is O(1);
 * the summary (success rate, p95) is computed when the health model asks for it.
 */
export interface WindowSummary {
  readonly attempts: number;
  readonly failures: number;
  /** ok / attempts; 1 when there were no attempts. */
  readonly successRate: number;
  /** 95th percentile latency of the successful attempts (ms); null with fewer than `minSamples`. */
  readonly p95Ms: number | null;
  readonly maxMs: number | null;
}

export class RollingWindow {
  readonly #capacity: number;
  readonly #at: Float64Array;
  readonly #ms: Float64Array;
  readonly #ok: Uint8Array;
  #start = 0;
  #size = 0;

  constructor(capacity = 2048) {
    this.#capacity = capacity;
    this.#at = new Float64Array(capacity);
    this.#ms = new Float64Array(capacity);
    this.#ok = new Uint8Array(capacity);
  }

  record(at: number, ms: number, ok: boolean): void {
    const i = (this.#start + this.#size) % this.#capacity;
    this.#at[i] = at;
    this.#ms[i] = ms;
    this.#ok[i] = ok ? 1 : 0;
    if (this.#size < this.#capacity) this.#size++;
    else this.#start = (this.#start + 1) % this.#capacity;
  }

  /** Summary of the samples recorded at or after `since` (older ones are dropped). */
  summarize(since: number, minSamples = 5): WindowSummary {
    while (this.#size > 0 && (this.#at[this.#start] ?? 0) < since) {
      this.#start = (this.#start + 1) % this.#capacity;
      this.#size--;
    }
    const latencies: number[] = [];
    let failures = 0;
    for (let k = 0; k < this.#size; k++) {
      const i = (this.#start + k) % this.#capacity;
      if (this.#ok[i] === 1) latencies.push(this.#ms[i] ?? 0);
      else failures++;
    }
    latencies.sort((a, b) => a - b);
    const attempts = this.#size;
    const enough = latencies.length >= minSamples;
    return {
      attempts,
      failures,
      successRate: attempts === 0 ? 1 : (attempts - failures) / attempts,
      p95Ms: enough ? (latencies[Math.min(latencies.length - 1, Math.ceil(latencies.length * 0.95) - 1)] ?? null) : null,
      maxMs: latencies.length === 0 ? null : (latencies[latencies.length - 1] ?? null),
    };
  }
}
