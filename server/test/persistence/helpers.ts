import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as Y from 'yjs';
import type { Timers, TimerHandle } from '../../src/persistence/engine-context.js';
import type { KvBatchOptions, KvEntry, KvOp, KvRange, KvStore } from '../../src/persistence/kv-store.js';
import { silentLogger } from '../../src/logging/logger.js';

export const logger = silentLogger();

/** A temp directory removed by `cleanup()`. */
export async function tempDir(prefix = 'skein-persistence-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Poll `predicate` at every macrotask turn (no fixed sleeps) until true or `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error('waitFor: condition not met in time');
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Let every queued microtask run (one macrotask turn). */
export function settle(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/** Tracks whether a promise has settled, and how. */
export function track<T>(promise: Promise<T>): { readonly state: 'pending' | 'resolved' | 'rejected'; readonly error: unknown; readonly promise: Promise<T> } {
  const t = { state: 'pending' as 'pending' | 'resolved' | 'rejected', error: undefined as unknown, promise };
  promise.then(() => { t.state = 'resolved'; }, (err: unknown) => { t.state = 'rejected'; t.error = err; });
  return t;
}

/** Deterministic timers: nothing fires until `advance`. */
export class ManualTimers implements Timers {
  #now = 1_700_000_000_000;
  #seq = 0;
  readonly #timers = new Map<number, { due: number; callback: () => void }>();

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = ++this.#seq;
    this.#timers.set(id, { due: this.#now + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as number);
  }

  now(): number {
    return this.#now;
  }

  get scheduled(): number {
    return this.#timers.size;
  }

  /** Move time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let next: [number, { due: number; callback: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].due <= target && (next === undefined || entry[1].due < next[1].due)) next = entry;
      }
      if (next === undefined) break;
      this.#timers.delete(next[0]);
      this.#now = next[1].due;
      next[1].callback();
    }
    this.#now = target;
  }
}

/** Counts batches (and records their options) of any KvStore. */
export class CountingKv implements KvStore {
  readonly inner: KvStore;
  batches = 0;
  readonly options: KvBatchOptions[] = [];
  readonly sizes: number[] = [];
  /** The operations of the last batch. */
  lastOps: readonly KvOp[] = [];

  constructor(inner: KvStore) {
    this.inner = inner;
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.inner.get(key);
  }

  batch(ops: readonly KvOp[], options: KvBatchOptions): Promise<void> {
    this.batches++;
    this.options.push(options);
    this.sizes.push(ops.length);
    this.lastOps = ops;
    return this.inner.batch(ops, options);
  }

  iterate(range: KvRange): AsyncIterable<KvEntry> {
    return this.inner.iterate(range);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Fails the next N batches (or the next N synced ones; nothing is written), with a LevelDB-like error. */
export class FailingKv implements KvStore {
  readonly inner: KvStore;
  failNext = 0;
  /** Unsynced batches (a chunked snapshot's parts) pass; the next N synced ones fail. */
  failNextSynced = 0;
  attempts = 0;
  failures = 0;
  readonly #waiters: { n: number; resolve: () => void }[] = [];

  constructor(inner: KvStore) {
    this.inner = inner;
  }

  /** Resolves once `n` batch attempts have settled (either way). */
  attemptsSettled(n: number): Promise<void> {
    return new Promise((resolve) => {
      this.#waiters.push({ n, resolve });
      this.#notify();
    });
  }

  #settledCount = 0;

  #notify(): void {
    for (const w of [...this.#waiters]) {
      if (this.#settledCount >= w.n) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.inner.get(key);
  }

  async batch(ops: readonly KvOp[], options: KvBatchOptions): Promise<void> {
    this.attempts++;
    try {
      const synced = options.sync && this.failNextSynced > 0;
      if (this.failNext > 0 || synced) {
        if (synced) this.failNextSynced--;
        else this.failNext--;
        this.failures++;
        throw Object.assign(new Error('simulated I/O error'), { code: 'LEVEL_IO_ERROR' });
      }
      await this.inner.batch(ops, options);
    } finally {
      this.#settledCount++;
      queueMicrotask(() => this.#notify());
    }
  }

  iterate(range: KvRange): AsyncIterable<KvEntry> {
    return this.inner.iterate(range);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A client editing one document: each `edit` returns the update it produced. */
export class Editor {
  readonly doc: Y.Doc;
  #n = 0;

  constructor(clientId?: number) {
    this.doc = new Y.Doc();
    if (clientId !== undefined) this.doc.clientID = clientId;
  }

  edit(text = `edit-${this.#n}`): Uint8Array {
    const before = Y.encodeStateVector(this.doc);
    this.doc.transact(() => {
      this.doc.getMap('m').set(`${this.doc.clientID}:${this.#n}`, text);
      this.doc.getText('t').insert(0, `${this.#n};`);
    });
    this.#n++;
    return Y.encodeStateAsUpdate(this.doc, before);
  }
}

/** A fresh Y.Doc with every update applied. */
export function docFrom(updates: readonly Uint8Array[]): Y.Doc {
  const doc = new Y.Doc();
  for (const u of updates) Y.applyUpdate(doc, u);
  return doc;
}

/** Same content and state vector, nothing pending. */
export function sameDoc(a: Y.Doc, b: Y.Doc): boolean {
  const pending = b.store.pendingStructs !== null || b.store.pendingDs !== null;
  return !pending
    && Buffer.from(Y.encodeStateVector(a)).equals(Buffer.from(Y.encodeStateVector(b)))
    && JSON.stringify(sortedEntries(a)) === JSON.stringify(sortedEntries(b))
    && a.getText('t').toJSON() === b.getText('t').toJSON();
}

/** Holds every batch until released (to observe what arrives while one is in flight). */
export class GateKv implements KvStore {
  readonly inner: KvStore;
  readonly held: { readonly ops: readonly KvOp[]; readonly release: () => void }[] = [];
  /** Off until set: lets the store open (it writes its format record) before gating starts. */
  holding = false;

  constructor(inner: KvStore) {
    this.inner = inner;
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.inner.get(key);
  }

  batch(ops: readonly KvOp[], options: KvBatchOptions): Promise<void> {
    if (!this.holding) return this.inner.batch(ops, options);
    return new Promise<void>((resolve, reject) => {
      this.held.push({ ops, release: () => void this.inner.batch(ops, options).then(resolve, reject) });
    });
  }

  /** Release the oldest held batch. */
  releaseNext(): void {
    const next = this.held.shift();
    if (next === undefined) throw new Error('no batch is held');
    next.release();
  }

  iterate(range: KvRange): AsyncIterable<KvEntry> {
    return this.inner.iterate(range);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Number of update records (`03 … 02 …` keys) in a batch. */
export function updatePuts(ops: readonly KvOp[]): number {
  return ops.filter((op) => op.type === 'put' && op.key[0] === 0x03 && op.key[9] === 0x02).length;
}

/** Map entries sorted by key (Y.Map iteration order depends on integration order). */
function sortedEntries(doc: Y.Doc): [string, unknown][] {
  return Object.entries(doc.getMap('m').toJSON()).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
}
