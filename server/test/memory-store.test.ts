import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { MemoryStore } from '../src/persistence/memory-store.js';

describe('MemoryStore', () => {
  it('keeps memory bounded: a long history is folded, and loads back to the same document', async () => {
    const store = new MemoryStore();
    const doc = new Y.Doc();
    const writes: Promise<void>[] = [];
    doc.on('update', (u: Uint8Array) => writes.push(store.append('d', u)));
    for (let i = 0; i < 1_200; i++) doc.getMap('shapes').set(`s${i % 10}`, { x: i });
    await Promise.all(writes);
    const stored = await store.load('d');
    expect(stored.length).toBeLessThan(500);
    const restored = new Y.Doc();
    for (const u of stored) Y.applyUpdate(restored, u);
    expect(restored.getMap('shapes').toJSON()).toEqual(doc.getMap('shapes').toJSON());
    expect(Y.encodeStateVector(restored)).toEqual(Y.encodeStateVector(doc));
  });

  it('keeps each document separate and rejects use after close', async () => {
    const store = new MemoryStore();
    await store.append('a', Uint8Array.of(0, 0));
    expect(await store.load('b')).toEqual([]);
    expect(store.names()).toEqual(['a']);
    await store.close();
    await expect(store.load('a')).rejects.toMatchObject({ code: 'SKEIN_ERR_STORAGE_CLOSED' });
  });
});
