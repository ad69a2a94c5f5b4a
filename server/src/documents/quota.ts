import { SkeinError } from '../errors/skein-error.js';
import type { WriteSource } from './origins.js';

/**
 * The quota step of `DocumentHandle.submit` (validate → quota → apply): a document's encoded
 * state (`Y.encodeStateAsUpdate`) may not grow past `--max-doc-bytes`.
 *
 * Measuring the state on every update would cost O(document) per edit, so the size is tracked
 * as an upper bound instead:
 * - at load, the sum of the stored records' bytes (≥ the merged state they encode);
 * - after every change, plus the bytes of the change (Yjs encodes a merged state in at most
 *   about the sum of its parts: a change adds at most its own structs and delete ranges).
 * Only when that bound says an update would not fit is the state measured exactly (one
 * encode), and the bound reset to the measurement. So far from the limit the check is one
 * addition; near it, one encode per *accepted* update (a refused update leaves the exact
 * measurement in place and costs nothing more). The approximation errs one way: an update
 * that would fit by a few bytes may be refused (the bound counts all its bytes, including
 * content the document already has), never one that makes the state larger than the quota
 * by more than the encoder's rounding.
 *
 * Updates from other nodes (`source: 'cluster'`) are never refused: another node accepted
 * them, and refusing would make replicas diverge. They still count.
 */
export class DocQuota {
  readonly maxBytes: number;
  readonly #measure: () => number;
  readonly #onRefused: () => void;
  /** Upper bound of the encoded state's size. */
  #bound = 0;
  /** The bound is an exact measurement (nothing changed since). */
  #exact = true;

  /** `maxBytes` 0: no quota. `measure`: the exact encoded size of the state now. */
  constructor(maxBytes: number, measure: () => number, onRefused: () => void = () => undefined) {
    this.maxBytes = maxBytes;
    this.#measure = measure;
    this.#onRefused = onRefused;
  }

  /** The current upper bound (for tests and stats). */
  get bound(): number {
    return this.#bound;
  }

  /** The document was loaded from these stored records. */
  loaded(records: readonly Uint8Array[]): void {
    let sum = 0;
    for (const r of records) sum += r.byteLength;
    this.#bound = sum;
    this.#exact = records.length === 0;
  }

  /** Throws SKEIN_ERR_DOC_TOO_LARGE when applying `bytes` more could pass the quota. */
  admit(bytes: number, source: WriteSource): void {
    if (this.maxBytes === 0 || source.source === 'cluster') return;
    if (this.#bound + bytes <= this.maxBytes) return;
    if (!this.#exact) {
      this.#bound = this.#measure();
      this.#exact = true;
      if (this.#bound + bytes <= this.maxBytes) return;
    }
    this.#onRefused();
    throw new SkeinError(
      'SKEIN_ERR_DOC_TOO_LARGE',
      `the document's state is ${this.#bound} bytes; ${bytes} more would pass the quota of ${this.maxBytes}`,
    );
  }

  /** The document changed by `bytes` (every change, whatever its source). */
  grew(bytes: number): void {
    if (bytes === 0) return;
    this.#bound += bytes;
    this.#exact = false;
  }
}
