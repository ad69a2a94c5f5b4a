import { describe, expect, it } from 'vitest';
import { GroupCommitKv } from '../../src/persistence/group-commit.js';
import type { KvOp } from '../../src/persistence/kv-store.js';
import { LevelKv } from '../../src/persistence/level-kv.js';
import { MemoryKv } from '../../src/persistence/memory-kv.js';
import { createMemoryStore, openLevelStore } from '../../src/persistence/log-store.js';
import { CrashableKv } from './crashable-kv.js';
import { logger, tempDir } from './helpers.js';
import { runKvConformance } from './kv-conformance.js';

const put = (k: number, v = k): KvOp => ({ type: 'put', key: Uint8Array.of(k), value: Uint8Array.of(v) });

runKvConformance('GroupCommitKv over MemoryKv', () => {
  const kv = new GroupCommitKv(new MemoryKv());
  return Promise.resolve({ kv, dispose: () => kv.close() });
});

runKvConformance('GroupCommitKv over LevelKv', async () => {
  const { dir, cleanup } = await tempDir('skein-gc-');
  let current = new GroupCommitKv(await LevelKv.open(dir));
  return {
    kv: current,
    reopen: async () => {
      await current.close();
      current = new GroupCommitKv(await LevelKv.open(dir));
      return current;
    },
    dispose: async () => {
      await current.close().catch(() => undefined);
      await cleanup();
    },
  };
}, { persistent: true });

describe('GroupCommitKv: one write at a time, the rest grouped', () => {
  it('writes the first batch at once and every batch asked for meanwhile as one atomic, synced batch', async () => {
    const disk = new CrashableKv(new MemoryKv());
    const kv = new GroupCommitKv(disk);
    const first = kv.batch([put(1)], { sync: true });
    expect(disk.inflight).toHaveLength(1);
    const later = [kv.batch([put(2)], { sync: false }), kv.batch([put(3), put(4)], { sync: true }), kv.batch([put(5)], { sync: false })];
    // Nothing else reaches the disk while the first write is in flight.
    expect(disk.inflight).toHaveLength(1);
    disk.complete(0);
    await first;
    await Promise.resolve();
    expect(disk.inflight).toHaveLength(1);
    const group = disk.inflight[0];
    expect(group?.ops.map((op) => op.key[0])).toEqual([2, 3, 4, 5]);
    expect(group?.sync).toBe(true);
    disk.complete(0);
    await Promise.all(later);
    expect(kv.figures).toEqual({ requested: 4, written: 2 });
    for (const k of [1, 2, 3, 4, 5]) expect(await kv.get(Uint8Array.of(k))).toEqual(Uint8Array.of(k));
  });

  it('keeps call order across groups: a later overwrite wins', async () => {
    const disk = new CrashableKv(new MemoryKv());
    disk.auto = true;
    const kv = new GroupCommitKv(disk);
    const writes = [kv.batch([put(7, 1)], { sync: true }), kv.batch([put(7, 2)], { sync: true }), kv.batch([{ type: 'del', key: Uint8Array.of(7) }], { sync: false }), kv.batch([put(7, 4)], { sync: false })];
    await Promise.all(writes);
    expect(await kv.get(Uint8Array.of(7))).toEqual(Uint8Array.of(4));
  });

  it('a failed group rejects every member; the next group is written', async () => {
    const disk = new CrashableKv(new MemoryKv());
    const kv = new GroupCommitKv(disk);
    const first = kv.batch([put(1)], { sync: true });
    const a = kv.batch([put(2)], { sync: true });
    const b = kv.batch([put(3)], { sync: true });
    disk.complete(0);
    await first;
    await Promise.resolve();
    disk.fail(0);
    await expect(a).rejects.toMatchObject({ code: 'LEVEL_IO_ERROR' });
    await expect(b).rejects.toMatchObject({ code: 'LEVEL_IO_ERROR' });
    disk.auto = true;
    await kv.batch([put(9)], { sync: true });
    expect(await kv.get(Uint8Array.of(2))).toBeUndefined();
    expect(await kv.get(Uint8Array.of(9))).toEqual(Uint8Array.of(9));
  });

  it('close waits for the queued groups', async () => {
    const disk = new CrashableKv(new MemoryKv());
    const kv = new GroupCommitKv(disk);
    const first = kv.batch([put(1)], { sync: true });
    const queued = kv.batch([put(2)], { sync: true });
    let closed = false;
    const closing = kv.close().then(() => (closed = true));
    disk.complete(0);
    await first;
    await Promise.resolve();
    expect(closed).toBe(false);
    disk.complete(0);
    await queued;
    await closing;
    expect(closed).toBe(true);
  });
});

describe('node-wide group commit in the persistence engine', () => {
  it('one fsync carries the immediate appends of many documents (LevelDB)', async () => {
    const { dir, cleanup } = await tempDir('skein-gc-engine-');
    const store = await openLevelStore({ dir, logger, rules: [{ pattern: '*', strategy: { kind: 'immediate' } }] });
    try {
      const before = store.stats().diskWrites;
      const docs = 50;
      const update = Uint8Array.of(0, 0); // an empty Yjs update is a valid record for the engine
      await Promise.all(Array.from({ length: docs }, (_, i) => store.append(`doc-${i}`, update)));
      const writes = store.stats().diskWrites - before;
      expect(store.stats().batchesWritten).toBeGreaterThanOrEqual(docs);
      // Without grouping every document writes (and fsyncs) its own batch: 50 writes.
      expect(writes).toBeLessThan(docs / 2);
      for (let i = 0; i < docs; i++) expect(await store.load(`doc-${i}`)).toHaveLength(1);
    } finally {
      await store.close();
      await cleanup();
    }
  });

  it('the memory engine groups the same way', async () => {
    const store = createMemoryStore({ rules: [{ pattern: '*', strategy: { kind: 'immediate' } }] });
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.append(`m-${i}`, Uint8Array.of(0, 0))));
    expect(store.stats().diskWrites).toBeLessThan(20);
    await store.close();
  });
});
