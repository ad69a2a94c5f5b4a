import type { KvBatchOptions, KvEntry, KvOp, KvRange, KvStore } from './kv-store.js';

/** How many batches a node asked for, and how many writes (fsyncs) carried them. */
export interface GroupCommitFigures {
  /** `batch()` calls. */
  readonly requested: number;
  /** Batches written to the store underneath (each one atomic, one fsync when synced). */
  readonly written: number;
}

interface Group {
  readonly parts: (readonly KvOp[])[];
  sync: boolean;
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Node-wide group commit: a `KvStore` that writes at most one batch at a time to the store
 * underneath. A batch asked for while none is in flight is written at once (no added latency
 * when the node is quiet); every batch asked for while one is in flight — from any document,
 * the replication outbox, compaction — waits and is written together with the others as ONE
 * atomic batch (one fsync) as soon as the write in flight settles. Under load, one fsync
 * covers every document's pending records instead of one fsync per document.
 *
 * Guarantees: batches are applied in the order `batch()` was called; each caller's ops stay
 * atomic (a group is a superset); a group is synced when any member asked for `sync`. A failed
 * group rejects every member (each caller retries its own ops, as it would after a failure of
 * its own batch). Reads go straight to the store underneath.
 */
export class GroupCommitKv implements KvStore {
  readonly #inner: KvStore;
  #inFlight = false;
  #next: Group | undefined;
  #requested = 0;
  #written = 0;
  #closing: Promise<void> | undefined;
  /** `close()` waiting for the queue to drain. */
  #waiters: (() => void)[] = [];

  constructor(inner: KvStore) {
    this.#inner = inner;
  }

  get figures(): GroupCommitFigures {
    return { requested: this.#requested, written: this.#written };
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#inner.get(key);
  }

  iterate(range: KvRange): AsyncIterable<KvEntry> {
    return this.#inner.iterate(range);
  }

  batch(ops: readonly KvOp[], options: KvBatchOptions): Promise<void> {
    this.#requested++;
    if (!this.#inFlight) return this.#write([ops], options.sync);
    const group = (this.#next ??= newGroup());
    group.parts.push(ops);
    group.sync ||= options.sync;
    return group.promise;
  }

  /** Waits for the batches asked for before it, then closes the store underneath. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      while (this.#inFlight || this.#next !== undefined) await this.#settled();
      await this.#inner.close();
    })();
    return this.#closing;
  }

  #write(parts: readonly (readonly KvOp[])[], sync: boolean): Promise<void> {
    this.#inFlight = true;
    this.#written++;
    const ops = parts.length === 1 ? (parts[0] ?? []) : parts.flat();
    let written: Promise<void>;
    try {
      written = this.#inner.batch(ops, { sync });
    } catch (err) {
      written = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    written.then(
      () => this.#drain(),
      () => this.#drain(),
    );
    return written;
  }

  #drain(): void {
    this.#inFlight = false;
    const group = this.#next;
    this.#next = undefined;
    if (group !== undefined) this.#write(group.parts, group.sync).then(() => group.resolve(), (err: unknown) => group.reject(err));
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #settled(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

function newGroup(): Group {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A member that stops listening (its caller gave up) must not become an unhandled rejection.
  promise.catch(() => undefined);
  return { parts: [], sync: false, promise, resolve, reject };
}
