import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createMemoryStore } from '../src/persistence/log-store.js';
import { waitFor } from './persistence/helpers.js';

/** `--storage memory`: the LevelDB engine over `MemoryKv` (the conformance suite covers the rest). */
describe('memory storage engine', () => {
  it('keeps memory bounded: a long history is folded, and loads back to the same document', async () => {
    const store = createMemoryStore();
    const doc = new Y.Doc();
    const writes: Promise<unknown>[] = [];
    doc.on('update', (u: Uint8Array) => writes.push(store.append('d', u)));
    for (let i = 0; i < 1_200; i++) doc.getMap('shapes').set(`s${i % 10}`, { x: i });
    await Promise.all(writes);
    // The compaction merges in the worker thread, outside the document's queue: wait for it.
    await waitFor(() => store.stats().compactions >= 1);
    const stored = await store.load('d');
    expect(stored.length).toBeLessThan(500);
    const restored = new Y.Doc();
    for (const u of stored) Y.applyUpdate(restored, u);
    expect(restored.getMap('shapes').toJSON()).toEqual(doc.getMap('shapes').toJSON());
    expect(Y.encodeStateVector(restored)).toEqual(Y.encodeStateVector(doc));
    await store.close();
  });

  it('keeps each document separate, lists what it holds, and rejects use after close', async () => {
    const store = createMemoryStore();
    const doc = new Y.Doc();
    doc.getText('t').insert(0, 'x');
    await store.append('a', Y.encodeStateAsUpdate(doc));
    expect(await store.load('b')).toEqual([]);
    const names: string[] = [];
    for await (const info of store.documents()) names.push(info.name);
    expect(names).toEqual(['a']);
    await store.close();
    await expect(store.load('a')).rejects.toMatchObject({ code: 'SKEIN_ERR_STORAGE_CLOSED' });
  });

  it('is cheap to create (tests make many)', async () => {
    const started = performance.now();
    const stores = Array.from({ length: 1_000 }, () => createMemoryStore());
    expect(performance.now() - started).toBeLessThan(2_000); // ~0.25 ms each on a loaded 2-core machine
    await Promise.all(stores.map((s) => s.close()));
  });
});
