import { createRequire } from 'node:module';
import { compareBytes, type KvBatchOptions, type KvEntry, type KvOp, type KvRange, type KvStore } from './kv-store.js';

// `sorted-btree` is CommonJS with its class on `exports.default`; `require` reads it the same way
// under Node and under the test runner's module loader (a default import does not).
const { default: BTree } = createRequire(import.meta.url)('sorted-btree') as typeof import('sorted-btree');

type Tree = InstanceType<typeof BTree<Uint8Array, Uint8Array>>;

/**
 * A real, sorted, in-memory `KvStore` (not a mock): a B+ tree (`sorted-btree`) ordered by
 * `compareBytes`, so a put or a delete costs O(log n) however many entries it holds (a sorted
 * array paid an O(n) move per insert: `--storage memory` slowed down as its log grew).
 * Batches apply atomically (they are synchronous); iterators read a snapshot taken when they
 * start (an O(1) copy-on-write clone of the tree). Values are copied in and out, so callers can
 * never alias stored bytes.
 *
 * Durable only for the life of the object; the test suite builds crash models on top of it.
 */
export class MemoryKv implements KvStore {
  #tree: Tree = new BTree<Uint8Array, Uint8Array>(undefined, compareBytes);
  #closed = false;

  get size(): number {
    return this.#tree.size;
  }

  /** An independent copy of the current contents (copy-on-write: O(1) now, paid by later writes). */
  clone(): MemoryKv {
    const copy = new MemoryKv();
    copy.#tree = this.#tree.clone();
    return copy;
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    if (this.#closed) return Promise.reject(closedError());
    return Promise.resolve(this.#tree.get(key)?.slice());
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
      if (op.type === 'put') this.#tree.set(op.key.slice(), op.value.slice());
      else this.#tree.delete(op.key);
    }
  }

  iterate(range: KvRange): AsyncIterable<KvEntry> {
    if (this.#closed) return rejectingIterable(closedError());
    const entries = select(this.#tree.clone(), range);
    const isClosed = (): boolean => this.#closed;
    return {
      [Symbol.asyncIterator](): AsyncIterator<KvEntry> {
        let done = false;
        return {
          next(): Promise<IteratorResult<KvEntry>> {
            if (isClosed()) return Promise.reject(closedError());
            const step = done ? undefined : entries.next();
            if (step === undefined || step.done === true) {
              done = true;
              return Promise.resolve({ done: true, value: undefined });
            }
            const [key, value] = step.value;
            return Promise.resolve({ done: false, value: { key: key.slice(), value: value.slice() } });
          },
          return(): Promise<IteratorResult<KvEntry>> {
            done = true;
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
}

/** The entries of `range` in yield order (bounds, direction and limit), read lazily from `tree`. */
function* select(tree: Tree, range: KvRange): Generator<[Uint8Array, Uint8Array]> {
  const limit = range.limit ?? -1;
  if (limit === 0) return;
  const max = limit < 0 || limit === Infinity ? Infinity : limit;
  let yielded = 0;
  if (range.reverse === true) {
    const from = range.lt ?? range.lte;
    for (const [key, value] of tree.entriesReversed(from, undefined, range.lt !== undefined)) {
      if (range.gt !== undefined ? compareBytes(key, range.gt) <= 0 : range.gte !== undefined && compareBytes(key, range.gte) < 0) return;
      yield [key, value];
      if (++yielded >= max) return;
    }
    return;
  }
  const from = range.gt ?? range.gte;
  for (const [key, value] of tree.entries(from)) {
    if (range.gt !== undefined && compareBytes(key, range.gt) === 0) continue;
    if (range.lt !== undefined ? compareBytes(key, range.lt) >= 0 : range.lte !== undefined && compareBytes(key, range.lte) > 0) return;
    yield [key, value];
    if (++yielded >= max) return;
  }
}

function closedError(): Error {
  return Object.assign(new Error('MemoryKv is closed'), { code: 'KV_CLOSED' });
}

function rejectingIterable(err: Error): AsyncIterable<KvEntry> {
  return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(err) }) };
}
