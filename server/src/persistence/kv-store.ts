/**
 * The mechanism under the persistence engine: a dumb, ordered key-value store with atomic
 * batches and range scans. It knows nothing about documents, strategies or checksums; the
 * engine (`log-store.ts`) is the policy above it.
 *
 * Keys and values are raw bytes; keys are ordered bytewise (unsigned, shorter prefix first),
 * exactly as LevelDB's default comparator orders them. Every implementation must pass
 * `server/test/persistence/kv-conformance.ts`.
 */

export type KvOp =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: Uint8Array };

export interface KvBatchOptions {
  /**
   * `true`: the promise resolves only once the batch is on stable storage (fsync).
   * `false`: it may sit in OS buffers and be lost on power failure (not on process crash).
   */
  readonly sync: boolean;
}

/** A key range. At most one lower bound (gt/gte) and one upper bound (lt/lte) is meaningful. */
export interface KvRange {
  readonly gt?: Uint8Array;
  readonly gte?: Uint8Array;
  readonly lt?: Uint8Array;
  readonly lte?: Uint8Array;
  /** Maximum number of entries yielded; 0 yields nothing. Default: no limit. */
  readonly limit?: number;
  /** Yield from the highest key down (with `limit`: the highest keys). */
  readonly reverse?: boolean;
}

export interface KvEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

export interface KvStore {
  /** The value stored under `key`, or `undefined` when there is none. Rejects on I/O error. */
  get(key: Uint8Array): Promise<Uint8Array | undefined>;

  /**
   * Apply every op in order, atomically: after a crash either all of them are visible or none.
   * Rejects on I/O error (in which case the caller must assume nothing, and retry idempotently).
   */
  batch(ops: readonly KvOp[], options: KvBatchOptions): Promise<void>;

  /**
   * Entries in key order (or reverse) within `range`, read from a consistent snapshot taken
   * when iteration starts: writes made during the iteration are not seen. Breaking out of the
   * loop releases the underlying iterator. Rejects (throws from the loop) on I/O error.
   */
  iterate(range: KvRange): AsyncIterable<KvEntry>;

  /** Release resources; later calls reject. Waits for operations already issued. */
  close(): Promise<void>;
}

/** Bytewise comparison, the order every `KvStore` uses. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

