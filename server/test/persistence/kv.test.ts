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
