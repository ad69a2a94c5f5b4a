import { compareBytes, type KvBatchOptions, type KvEntry, type KvOp, type KvRange, type KvStore } from './kv-store.js';

/**
 * A real, sorted, in-memory `KvStore` (not a mock): a sorted array searched by bisection.
 * Batches apply atomically (they are synchronous); iterators read a snapshot taken when they
 * start. Values are copied in and out, so callers can never alias stored bytes.
 *
 * Durable only for the life of the object; the test suite builds crash models on top of it.
 */
export class MemoryKv implements KvStore {
  /** Sorted by key; entries are replaced, never mutated, so a shallow slice is a snapshot. */
  #entries: KvEntry[] = [];
  #closed = false;

  get size(): number {
    return this.#entries.length;
  }

  /** An independent copy of the current contents (entries are immutable: O(n) pointers). */
  clone(): MemoryKv {
    const copy = new MemoryKv();
    copy.#entries = this.#entries.slice();
    return copy;
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    if (this.#closed) return Promise.reject(closedError());
    const i = this.#find(key);
    const entry = this.#entries[i];
    if (entry === undefined || compareBytes(entry.key, key) !== 0) return Promise.resolve(undefined);
    return Promise.resolve(entry.value.slice());
  }

  batch(ops: readonly KvOp[], _options: KvBatchOptions): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    this.applySync(ops);
    return Promise.resolve();
  }

  /** Apply ops synchronously (atomic by construction). For wrappers that model crashes. */
  applySync(ops: readonly KvOp[]): void {
    if (this.#closed) throw closedError();
    for (const op of ops) {
      if (op.type === 'put') this.#put(op.key, op.value);
      else this.#del(op.key);
    }
  }

  iterate(range: KvRange): AsyncIterable<KvEntry> {
    if (this.#closed) return rejectingIterable(closedError());
    const snapshot = this.#select(range);
    const isClosed = (): boolean => this.#closed;
    return {
      [Symbol.asyncIterator](): AsyncIterator<KvEntry> {
        let i = 0;
        return {
          next(): Promise<IteratorResult<KvEntry>> {
            if (isClosed()) return Promise.reject(closedError());
            const entry = snapshot[i++];
            if (entry === undefined) return Promise.resolve({ done: true, value: undefined });
            return Promise.resolve({ done: false, value: { key: entry.key.slice(), value: entry.value.slice() } });
          },
          return(): Promise<IteratorResult<KvEntry>> {
            i = snapshot.length;
            return Promise.resolve({ done: true, value: undefined });
          },
        };
      },
    };
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  /** Entries of `range` in yield order, after limit and reverse. */
  #select(range: KvRange): KvEntry[] {
    let start = 0;
    if (range.gt !== undefined) start = this.#after(range.gt);
    else if (range.gte !== undefined) start = this.#find(range.gte);
    let end = this.#entries.length;
    if (range.lt !== undefined) end = this.#find(range.lt);
    else if (range.lte !== undefined) end = this.#after(range.lte);
    const selected = this.#entries.slice(start, Math.max(start, end));
    if (range.reverse === true) selected.reverse();
    const limit = range.limit ?? -1;
    return limit < 0 || limit === Infinity ? selected : selected.slice(0, limit);
  }

  /** Index of the first entry whose key is > `key`. */
  #after(key: Uint8Array): number {
    const i = this.#find(key);
    const entry = this.#entries[i];
    return entry !== undefined && compareBytes(entry.key, key) === 0 ? i + 1 : i;
  }

  /** Index of the first entry whose key is >= `key`. */
  #find(key: Uint8Array): number {
    let lo = 0;
    let hi = this.#entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(this.#at(mid).key, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #at(i: number): KvEntry {
    const entry = this.#entries[i];
    if (entry === undefined) throw new RangeError(`MemoryKv index ${i} out of range`);
    return entry;
  }

  #put(key: Uint8Array, value: Uint8Array): void {
    const i = this.#find(key);
    const entry = { key: key.slice(), value: value.slice() };
    const existing = this.#entries[i];
    if (existing !== undefined && compareBytes(existing.key, key) === 0) this.#entries[i] = entry;
    else this.#entries.splice(i, 0, entry);
  }

  #del(key: Uint8Array): void {
    const i = this.#find(key);
    const existing = this.#entries[i];
    if (existing !== undefined && compareBytes(existing.key, key) === 0) this.#entries.splice(i, 1);
  }
}

function closedError(): Error {
  return Object.assign(new Error('MemoryKv is closed'), { code: 'KV_CLOSED' });
}

function rejectingIterable(err: Error): AsyncIterable<KvEntry> {
  return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(err) }) };
}
