import { describe, expect, it } from 'vitest';
import type { KvBatchOptions, KvEntry, KvOp, KvRange, KvStore } from '../../src/persistence/kv-store.js';
import { Space, outboxKey } from '../../src/persistence/key-layout.js';
import { openLevelStore } from '../../src/persistence/log-store.js';
import { MemoryKv } from '../../src/persistence/memory-kv.js';
import { FailingKv, Editor, ManualTimers, logger, settle, track } from './helpers.js';

/** Records the key spaces of every batch's puts (in order). */
class RecordingKv implements KvStore {
  readonly inner = new MemoryKv();
  readonly batches: number[][] = [];

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.inner.get(key);
  }

  batch(ops: readonly KvOp[], options: KvBatchOptions): Promise<void> {
    this.batches.push(ops.filter((op) => op.type === 'put').map((op) => op.key[0] ?? -1));
    return this.inner.batch(ops, options);
  }

  iterate(range: KvRange): AsyncIterable<KvEntry> {
    return this.inner.iterate(range);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

const updates = (spaces: readonly number[]): number => spaces.filter((s) => s === Space.Doc).length;
const outboxes = (spaces: readonly number[]): number => spaces.filter((s) => s === Space.Outbox).length;

describe('replication outbox in the engine', () => {
  it('debounced: the outbox records ride in the one debounced batch; onAppended fires only once it is durable', async () => {
    const kv = new RecordingKv();
    const timers = new ManualTimers();
    const store = await openLevelStore({ kv, logger, timers, rules: 'slow/*=debounced:100:1000' });
    const before = kv.batches.length;
    let notified = 0;
    store.outbox.onAppended(() => notified++);
    const editor = new Editor();
    const a = track(store.append('slow/d', editor.edit(), { replicate: true }));
    const b = track(store.append('slow/d', editor.edit()));
    const c = track(store.append('slow/d', editor.edit(), { replicate: true }));
    await settle();
    expect([kv.batches.length - before, notified, store.outbox.size]).toEqual([0, 0, 0]);
    timers.advance(100);
    await Promise.all([a.promise, b.promise, c.promise]);
    const written = kv.batches.slice(before);
    expect(written).toHaveLength(1);
    expect([updates(written[0] ?? []), outboxes(written[0] ?? [])]).toEqual([3, 2]);
    expect(notified).toBe(1);
    expect(store.outbox.size).toBe(2);
    expect(await b.promise).toBeUndefined();
    const seqs = [(await a.promise)?.outboxSeq, (await c.promise)?.outboxSeq];
    expect((await store.outbox.peek(10)).map((e) => e.seq)).toEqual(seqs);
    const closing = store.closeWithReport({ timeoutMs: 1_000 });
    timers.advance(1_000);
    await closing;
  });

  it('a failed batch writes neither record; the retry writes both, with the same outbox seq', async () => {
    const kv = new FailingKv(new MemoryKv());
    const timers = new ManualTimers();
    const store = await openLevelStore({ kv, logger, timers, retry: { initialDelayMs: 10, maxDelayMs: 10 } });
    const attempts = kv.attempts;
    kv.failNext = 1;
    const editor = new Editor();
    const first = track(store.append('d', editor.edit(), { replicate: true }));
    await kv.attemptsSettled(attempts + 1);
    await settle();
    expect(first.state).toBe('pending');
    expect(store.outbox.size).toBe(0);
    expect(await store.outbox.peek(10)).toEqual([]);
    timers.advance(10);
    const result = await first.promise;
    expect(store.outbox.size).toBe(1);
    expect((await store.outbox.peek(10)).map((e) => e.seq)).toEqual([result?.outboxSeq]);
    await store.close();
  });

  it('a damaged outbox record is quarantined at peek (it cannot block the queue) and reported by verify', async () => {
    const kv = new MemoryKv();
    const store = await openLevelStore({ kv, logger, closeTimeoutMs: 1_000 });
    const editor = new Editor();
    const bad = (await store.append('d', editor.edit(), { replicate: true }))?.outboxSeq ?? -1;
    const good = (await store.append('d', editor.edit(), { replicate: true }))?.outboxSeq ?? -1;
    const key = outboxKey(bad);
    const value = (await kv.get(key)) ?? new Uint8Array();
    value[value.length - 1] = (value[value.length - 1] ?? 0) ^ 0xff;
    kv.applySync([{ type: 'put', key, value }]);
    const problems = [];
    for await (const p of store.verify()) problems.push(p.kind);
    expect(problems).toEqual(['damaged']);
    expect((await store.outbox.peek(10)).map((e) => e.seq)).toEqual([good]);
    expect(store.outbox.size).toBe(1);
    const after = [];
    for await (const p of store.verify()) after.push(p.kind);
    expect(after).toEqual(['quarantined']);
    await store.close();
  });
});
