import type { DocumentStore } from '../../src/documents/ports.js';
import { createMemoryStore, openLevelStore } from '../../src/persistence/log-store.js';
import { logger, tempDir } from './helpers.js';
import { runStoreConformance, type StoreHarness } from './store-conformance.js';

/** Closes whichever store the harness holds last (reopen replaces it). */
function harness(first: DocumentStore, cleanup: () => Promise<void>, open?: () => Promise<DocumentStore>): StoreHarness {
  let current = first;
  return {
    get store() {
      return current;
    },
    dispose: async () => {
      await current.close().catch(() => undefined);
      await cleanup();
    },
    ...(open === undefined ? {} : {
      reopen: async () => {
        current = await open();
        return current;
      },
    }),
  };
}

runStoreConformance('engine over MemoryKv (--storage memory)', () => Promise.resolve(harness(createMemoryStore(), () => Promise.resolve())), {
  outbox: true,
  persistent: false,
});

runStoreConformance('engine over LevelDB (temp dir)', async () => {
  const { dir, cleanup } = await tempDir('skein-store-conformance-');
  const open = (): Promise<DocumentStore> => openLevelStore({ dir, logger });
  return harness(await open(), cleanup, open);
}, { outbox: true, persistent: true });
