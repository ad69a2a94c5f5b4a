import { describe, expect, it } from 'vitest';
import { LevelKv } from '../../src/persistence/level-kv.js';
import { MemoryKv } from '../../src/persistence/memory-kv.js';
import type { KvStore } from '../../src/persistence/kv-store.js';
import { tempDir } from './helpers.js';
import { runKvConformance } from './kv-conformance.js';

runKvConformance('MemoryKv', () => {
  const kv = new MemoryKv();
  return Promise.resolve({ kv, dispose: () => kv.close() });
});

runKvConformance('LevelKv', async () => {
  const { dir, cleanup } = await tempDir('skein-kv-');
  let current: KvStore = await LevelKv.open(dir);
  return {
    kv: current,
    reopen: async () => {
      await current.close();
      current = await LevelKv.open(dir);
      return current;
    },
    dispose: async () => {
      await current.close().catch(() => undefined);
      await cleanup();
    },
  };
}, { persistent: true });

describe('MemoryKv.clone', () => {
  it('is independent of the original: writes on either side after the clone stay on that side', async () => {
    const kv = new MemoryKv();
    const put = (k: number, v: number) => ({ type: 'put' as const, key: Uint8Array.of(k), value: Uint8Array.of(v) });
    // Enough entries for a tree of several levels, so the clone shares inner nodes.
    await kv.batch(Array.from({ length: 5000 }, (_, i) => put(i % 251, i % 7)), { sync: true });
    await kv.batch(Array.from({ length: 5000 }, (_, i) => ({ type: 'put' as const, key: Uint8Array.of(1, i >> 8, i & 0xff), value: Uint8Array.of(1) })), { sync: true });
    const before = await kv.get(Uint8Array.of(1));
    const three = await kv.get(Uint8Array.of(3));
    const copy = kv.clone();
    await kv.batch([put(1, 99), { type: 'del', key: Uint8Array.of(2) }, { type: 'del', key: Uint8Array.of(1, 0, 5) }], { sync: true });
    await copy.batch([put(3, 77), { type: 'del', key: Uint8Array.of(1, 0, 6) }], { sync: true });
    expect([...(await kv.get(Uint8Array.of(1))) ?? []]).toEqual([99]);
    expect(await copy.get(Uint8Array.of(1))).toEqual(before);
    expect(await kv.get(Uint8Array.of(2))).toBeUndefined();
    expect(await copy.get(Uint8Array.of(2))).toBeDefined();
    expect(await kv.get(Uint8Array.of(1, 0, 5))).toBeUndefined();
    expect(await copy.get(Uint8Array.of(1, 0, 5))).toBeDefined();
    expect(await kv.get(Uint8Array.of(1, 0, 6))).toBeDefined();
    expect(await copy.get(Uint8Array.of(1, 0, 6))).toBeUndefined();
    expect(await kv.get(Uint8Array.of(3))).toEqual(three);
    expect([...(await copy.get(Uint8Array.of(3))) ?? []]).toEqual([77]);
    expect(kv.size).toBe(251 + 5000 - 2);
    expect(copy.size).toBe(251 + 5000 - 1);
  });
});
