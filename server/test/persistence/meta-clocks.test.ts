import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createMemoryStore, openLevelStore, type LogStore } from '../../src/persistence/log-store.js';
import { decodeClocks } from '../../src/persistence/record-codec.js';
import { logger, tempDir } from './helpers.js';
import { EXTENSIVE } from '../../../test/helpers/extensive.js';

// CI: 60 schedules in memory, 15 on LevelDB (a few seconds). EXTENSIVE=1: 20,000 and 2,000 (a few minutes).
const MEMORY_RUNS = EXTENSIVE ? 20_000 : 60;
const LEVEL_RUNS = EXTENSIVE ? 2_000 : 15;
const TIMEOUT_MS = EXTENSIVE ? 1_800_000 : undefined;

/**
 * The metadata record every batch rewrites holds the document's state vector; an append starts
 * from the clocks the previous append encoded instead of decoding them again. Whatever runs
 * between appends (concurrent batches, compactions, a reopen, the document's removal), the
 * stored state vector is the highest clock per client of everything appended since it was made.
 */
type Step = { readonly kind: 'append'; readonly clients: readonly number[] } | { readonly kind: 'compact' } | { readonly kind: 'reopen' } | { readonly kind: 'remove' };

const arbStep: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }).map((clients) => ({ kind: 'append' as const, clients })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'compact' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'remove' as const }) },
);

async function storedClocks(store: LogStore, name: string): Promise<ReadonlyMap<number, number>> {
  const info = await store.describe(name);
  return info === undefined ? new Map() : decodeClocks(info.stateVector);
}

async function check(open: () => Promise<LogStore>, persistent: boolean, steps: readonly Step[]): Promise<void> {
  let store = await open();
  const editors = new Map<number, Y.Doc>();
  const expected = new Map<number, number>();
  try {
    for (const step of steps) {
      if (step.kind === 'compact') await store.compact('doc');
      else if (step.kind === 'remove') {
        // A new document under the same name starts from nothing.
        await store.remove('doc');
        editors.clear();
        expected.clear();
      }
      else if (step.kind === 'reopen') {
        if (!persistent) continue;
        await store.close();
        store = await open();
      } else {
        // The step's appends are issued without waiting: they may share a batch.
        const writes = step.clients.map((client) => {
          let doc = editors.get(client);
          if (doc === undefined) {
            doc = new Y.Doc();
            doc.clientID = client;
            editors.set(client, doc);
          }
          const before = Y.encodeStateVector(doc);
          doc.getArray<number>('a').push([client]);
          expected.set(client, Y.getState(doc.store, client));
          return store.append('doc', Y.encodeStateAsUpdate(doc, before));
        });
        await Promise.all(writes);
      }
      expect(await storedClocks(store, 'doc')).toEqual(expected);
    }
  } finally {
    await store.close();
  }
}

describe('the stored state vector follows every append', () => {
  it('in memory: concurrent appends of several clients, compactions and removals between them', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(arbStep, { minLength: 1, maxLength: 25 }), (steps) => check(() => Promise.resolve(createMemoryStore({ logger })), false, steps)),
      { numRuns: MEMORY_RUNS },
    );
  }, TIMEOUT_MS);

  it('on LevelDB: the same, and across reopens (the metadata read back from disk)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(arbStep, { minLength: 1, maxLength: 15 }), async (steps) => {
        const { dir, cleanup } = await tempDir('skein-meta-clocks-');
        try {
          await check(() => openLevelStore({ dir, logger }), true, steps);
        } finally {
          await cleanup();
        }
      }),
      { numRuns: LEVEL_RUNS },
    );
  }, TIMEOUT_MS);
});
