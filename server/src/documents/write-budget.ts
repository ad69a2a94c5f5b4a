import { SkeinError } from '../errors/skein-error.js';

/**
 * The node-wide bound on bytes accepted but not yet durable (`--max-unpersisted-bytes`).
 * While the disk fails, writes stay in memory until a retry succeeds; past the bound new
 * writes are refused with SKEIN_ERR_UNPERSISTED_LIMIT (close code 4507, retryable: the
 * client keeps its edit and re-sends it after reconnecting). Nothing already accepted is
 * dropped. `0` disables the bound.
 */
export class WriteBudget {
  readonly maxBytes: number;
  #bytes = 0;
  #refused = 0;
  /** Refusing since the bound was hit, until outstanding bytes fall to half of it (no flapping). */
  #pressure = false;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Bytes accepted and not yet durable (or failed for good). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Writes refused since start. */
  get refused(): number {
    return this.#refused;
  }

  /** New writes are being refused: readiness reports it. */
  get exhausted(): boolean {
    return this.maxBytes > 0 && (this.#pressure || this.#bytes >= this.maxBytes);
  }

  /**
   * Throws SKEIN_ERR_UNPERSISTED_LIMIT when `bytes` more would pass the bound. A write is
   * always admitted when nothing is outstanding, so one update (≤ maxMessageBytes) is never
   * refused on a healthy disk: the bound is `maxBytes` plus one message. Once a write was
   * refused, writes stay refused until outstanding bytes fall to half the bound.
   */
  admit(bytes: number): void {
    if (this.maxBytes === 0 || this.#bytes === 0) return;
    if (!this.#pressure && this.#bytes + bytes <= this.maxBytes) return;
    this.#pressure = true;
    this.#refused++;
    throw new SkeinError(
      'SKEIN_ERR_UNPERSISTED_LIMIT',
      `${this.#bytes} bytes are waiting for storage (limit ${this.maxBytes}); retry later`,
    );
  }

  /** Count `bytes` as outstanding, until `release(bytes)` (once the write settled). */
  take(bytes: number): void {
    this.#bytes += bytes;
  }

  release(bytes: number): void {
    this.#bytes -= bytes;
    if (this.#bytes <= this.maxBytes / 2) this.#pressure = false;
  }
}
