import { createRequire } from 'node:module';
import type SortedBtree from 'sorted-btree';
import { type KvBatchOptions, type KvEntry, type KvOp, type KvRange, type KvStore } from './kv-store.js';

// `sorted-btree` is CommonJS with its class on `exports.default`; `require` reads it the same way
// under Node and under the test runner's module loader (a default import does not).
const { default: BTree } = createRequire(import.meta.url)('sorted-btree') as typeof SortedBtree;

/** Stored bytes: short ones as a one-byte string (see `MemoryKv`), longer ones as a private copy. */
type Stored = string | Uint8Array;
type Tree = InstanceType<typeof BTree<string, Stored>>;

/** Values up to this many bytes are kept as strings; longer ones (snapshots) as byte arrays. */
const STRING_MAX = 512;

/**
 * A real, sorted, in-memory `KvStore` (not a mock): a B+ tree (`sorted-btree`) in bytewise key
 * order, so a put or a delete costs O(log n) however many entries it holds (a sorted
 * array paid an O(n) move per insert: `--storage memory` slowed down as its log grew).
 * Keys, and values up to 512 bytes (update records, metadata), are held as one-byte strings —
 * byte i is char code i, so the strings' order is the keys' bytewise order — which costs less than
 * half the heap of a `Uint8Array` of the same bytes and gives the garbage collector one
 * object instead of several; longer values (snapshots) are held as byte arrays.
 * Batches apply atomically (they are synchronous); iterators read a snapshot taken when they
 * start (an O(1) copy-on-write clone of the tree). Values are copied in and out, so callers can
 * never alias stored bytes.
 *
 * Durable only for the life of the object; the test suite builds crash models on top of it.
 */
export class MemoryKv implements KvStore {
  #tree: Tree = new BTree<string, Stored>(undefined, compareStrings);
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
    const value = this.#tree.get(toStored(key));
    return Promise.resolve(value === undefined ? undefined : toBytes(value));
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
      if (op.type === 'put') this.#tree.set(toStored(op.key), op.value.length <= STRING_MAX ? toStored(op.value) : op.value.slice());
      else this.#tree.delete(toStored(op.key));
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
            return Promise.resolve({ done: false, value: { key: toBytes(key), value: toBytes(value) } });
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
function* select(tree: Tree, bytes: KvRange): Generator<[string, Stored]> {
  const range = storedRange(bytes);
  const limit = range.limit ?? -1;
  if (limit === 0) return;
  const max = limit < 0 || limit === Infinity ? Infinity : limit;
  let yielded = 0;
  if (range.reverse === true) {
    const from = range.lt ?? range.lte;
    for (const [key, value] of tree.entriesReversed(from, undefined, range.lt !== undefined)) {
      if (range.gt !== undefined ? key <= range.gt : range.gte !== undefined && key < range.gte) return;
      yield [key, value];
      if (++yielded >= max) return;
    }
    return;
  }
  const from = range.gt ?? range.gte;
  for (const [key, value] of tree.entries(from)) {
    if (range.gt !== undefined && key === range.gt) continue;
    if (range.lt !== undefined ? key >= range.lt : range.lte !== undefined && key > range.lte) return;
    yield [key, value];
    if (++yielded >= max) return;
  }
}

interface StoredRange {
  readonly gt?: string | undefined;
  readonly gte?: string | undefined;
  readonly lt?: string | undefined;
  readonly lte?: string | undefined;
  readonly limit?: number | undefined;
  readonly reverse?: boolean | undefined;
}

function storedRange(r: KvRange): StoredRange {
  const bound = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : toStored(b));
  return { gt: bound(r.gt), gte: bound(r.gte), lt: bound(r.lt), lte: bound(r.lte), limit: r.limit, reverse: r.reverse };
}

/** Bytewise order of two stored keys (char code = byte; a prefix sorts first). */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The bytes as a one-byte string, char code i = byte i (a copy: the caller may reuse its bytes). */
function toStored(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** A fresh plain `Uint8Array` of stored bytes. */
function toBytes(stored: Stored): Uint8Array {
  if (typeof stored !== 'string') return stored.slice();
  const out = new Uint8Array(stored.length);
  for (let i = 0; i < stored.length; i++) out[i] = stored.charCodeAt(i);
  return out;
}

function closedError(): Error {
  return Object.assign(new Error('MemoryKv is closed'), { code: 'KV_CLOSED' });
}

function rejectingIterable(err: Error): AsyncIterable<KvEntry> {
  return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(err) }) };
}
