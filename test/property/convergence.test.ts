import { afterEach, describe, it } from 'vitest';
import type * as Y from 'yjs';
import type { SkeinServer } from '@skein/server';
import { memoryStore } from '../helpers/stores.js';
import { startTestServer } from '../helpers/server.js';
import { destroyAll } from '../helpers/clients.js';
import { openFleet, randomRound, settleAndCheck, type Fleet } from '../helpers/convergence.js';
import { createPrng, EXTENSIVE, pick, seedsFromEnv } from '../helpers/random-edits.js';

/**
 * Seeded randomized convergence through the real server with real y-websocket clients.
 * Replay a failure with `SEED=<seed> npx vitest run test/property/convergence` (the edit
 * sequence replays exactly; network timing does not). `EXTENSIVE=1` runs many more.
 */
const SEEDS = EXTENSIVE ? 12 : 3;
const ROUNDS = EXTENSIVE ? 400 : 60;

const SCENARIOS = [
  { title: '5 clients on one document', clients: 5, docs: 1 },
  { title: '6 clients on two documents', clients: 6, docs: 2 },
] as const;

describe.each(SCENARIOS)('seeded convergence: $title', ({ clients, docs }) => {
  let server: SkeinServer | undefined;
  let fleet: Fleet | undefined;

  afterEach(async () => {
    if (fleet !== undefined) destroyAll(fleet.clients.map((c) => c.provider));
    fleet = undefined;
    await server?.close();
    server = undefined;
  });

  it.each(seedsFromEnv(SEEDS))(`seed %i (${ROUNDS} rounds)`, async (seed) => {
    console.log(`convergence: ${clients} clients × ${docs} docs, seed=${seed}, rounds=${ROUNDS}`);
    const gen = createPrng(seed);
    // Sometimes the document unloads whenever everyone is offline and reloads from the store.
    const unloadDelayMs = pick(gen, [0, 5, 1_000]);
    const store = memoryStore();
    let loads = 0;
    const load = store.load.bind(store);
    store.load = (name) => {
      loads++;
      return load(name);
    };
    const srv = (server = await startTestServer({ unloadDelayMs }, { store }));
    const docNames = Array.from({ length: docs }, (_, i) => `prop-${seed}-${i}`);
    const serverDocs = (name: string): Y.Doc[] => {
      const handle = srv.registry.get(name);
      return handle !== undefined && (handle.state === 'active' || handle.state === 'idle') ? [handle.doc] : [];
    };
    const f = (fleet = openFleet({ urlFor: () => srv.url, docNames, clients, gen }));
    try {
      for (let round = 0; round < ROUNDS; round++) await randomRound(f, gen, serverDocs, round);
      const reloads = loads - docs;
      await settleAndCheck(f, serverDocs, store);
      console.log(`seed=${seed}: converged; ${reloads} reloads from the store during the rounds (unloadDelayMs=${unloadDelayMs})`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(
        `seed=${seed} (unloadDelayMs=${unloadDelayMs}; replay with SEED=${seed}): ${message}\n` +
          `last actions:\n  ${f.trace.join('\n  ')}`,
        { cause: err },
      );
    }
  });
});
