/**
 * Races between the document lifecycle and the storage engine, through the real server (in
 * process) on a real LevelDB store in a temp directory:
 * - unload while a debounced write is pending: the document leaves memory only after its
 *   buffer is durable, and a client that comes back sees everything;
 * - compaction while appends keep arriving through the server: nothing is lost.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { SkeinServer } from '@skein/server';
import { openLevelStore, type LogStore, type LogStoreOptions } from '../../server/src/persistence/index.js';
import { silentLogger } from '../../server/src/logging/logger.js';
import { ServerProcess, freePort, mapKeys, readStore, tempDataDir } from '../helpers/chaos.js';
import { sameState } from '../helpers/docs.js';
import { DurableClient } from '../helpers/durable-client.js';
import { startTestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(options: Omit<LogStoreOptions, 'dir' | 'logger' | 'kv'>, unloadDelayMs: number): Promise<{ dir: string; store: LogStore; server: SkeinServer }> {
  const { dir, cleanup } = await tempDataDir('skein-chaos-races-');
  cleanups.push(cleanup);
  const store = await openLevelStore({ dir, logger: silentLogger(), ...options });
  const server = await startTestServer({ unloadDelayMs }, { store });
  cleanups.push(async () => {
    // Store first: it writes debounced buffers at once, so the server's close never waits on a timer.
    await store.closeWithReport({ timeoutMs: 5_000 });
    await server.close();
  });
  return { dir, store, server };
}

/** Wait until `name` left the registry; returns the store's pending debounced updates at that moment. */
async function unloaded(server: SkeinServer, store: LogStore, name: string, timeoutMs = 10_000): Promise<number> {
  let pending = -1;
  await waitFor(
    () => {
      if (server.registry.get(name) !== undefined) return false;
      pending = store.stats().pending.debounced.updates;
      return true;
    },
    { what: `${name} unloaded`, intervalMs: 1, timeoutMs },
  );
  return pending;
}

function client(server: SkeinServer, doc: string, clientId: number): DurableClient {
  const c = new DurableClient({ url: () => server.url, doc, clientId });
  cleanups.push(async () => {
    await c.stop();
    c.destroy();
  });
  c.start();
  return c;
}

describe('chaos: lifecycle races on a real LevelDB store', () => {
  it('unloads a document with a pending debounced write only after the write; a returning client sees everything', async () => {
    const { store, server } = await setup({ rules: 'race/*=debounced:1000:1000' }, 5);
    const name = 'race/unload';
    const writer = client(server, name, 11);
    await waitFor(() => writer.ready, { what: 'writer ready' });
    for (let i = 0; i < 5; i++) writer.edit();
    // All five applied and buffered (a burst may be merged into fewer stored updates).
    const onServer = (): Y.Doc | undefined => server.registry.get(name)?.doc;
    await waitFor(() => {
      const doc = onServer();
      return doc !== undefined && mapKeys(doc).size === 5 && store.stats().pending.debounced.updates >= 1;
    }, { what: 'edits buffered by the store' });
    expect(writer.acked.size).toBe(0);
    await writer.stop(); // leave before any acknowledgement: the store still buffers the edits

    // The unload (5 ms after the last peer left) may drop the document only once the buffer is durable.
    const pendingAtUnload = await unloaded(server, store, name);
    expect(pendingAtUnload).toBe(0);

    // A client coming back gets everything from storage (a fresh load).
    const reader = client(server, name, 12);
    await waitFor(() => reader.ready, { what: 'reader synced' });
    expect([...mapKeys(reader.doc)].sort()).toEqual([0, 1, 2, 3, 4].map((n) => writer.key(n)));
    // And the writer, reconnecting, has all its edits acknowledged.
    writer.start();
    await waitFor(() => writer.ready && writer.unacked === 0, { what: 'writer acked after reconnect' });
  });

  // Regression: an unload used to wait for the pending appends before calling store.flush(),
  // so a debounced document stayed "unloading" until its debounce timer fired (up to
  // maxWaitMs), and every client opening it meanwhile waited too.
  it('unloading does not wait out the debounce timer', async () => {
    const { store, server } = await setup({ rules: 'race/*=debounced:600000:600000' }, 5);
    const name = 'race/unload-now';
    const writer = client(server, name, 21);
    await waitFor(() => writer.ready, { what: 'writer ready' });
    writer.edit();
    await waitFor(() => store.stats().pending.debounced.updates >= 1, { what: 'edit buffered' });
    await writer.stop();
    expect(await unloaded(server, store, name, 3_000)).toBe(0);
  });

  it('clients reconnecting while the document unloads see every edit (no stale copy, no lost buffer)', async () => {
    const { server } = await setup({ rules: 'race/*=debounced:100:100' }, 1);
    const name = 'race/reopen';
    let id = 100;
    let previous: DurableClient | undefined;
    // Leave and come back at once, over and over: each open races the unload of the last session.
    for (let round = 0; round < 15; round++) {
      const c = client(server, name, id++);
      await waitFor(() => c.ready, { what: `round ${round} ready` });
      if (previous !== undefined) expect(sameState(c.doc, previous.doc), `round ${round} sees round ${round - 1}`).toBe(true);
      c.edit();
      c.edit();
      await c.stop({ graceful: true }); // the server receives both edits (not yet acknowledged)
      previous = c;
    }
    const last = client(server, name, id++);
    await waitFor(() => last.ready, { what: 'last ready' });
    expect(mapKeys(last.doc).size).toBe(30);
  });

  it('compaction racing appends through the server loses nothing', async () => {
    const { dir, store, server } = await setup({ compaction: { maxUpdates: 5, minLogBytes: 64, maxLogRatio: 0.5 } }, 50);
    const names = ['race/compact-a', 'race/compact-b'];
    const clients = Array.from({ length: 6 }, (_, i) => client(server, names[i % 2] ?? '', 200 + i));
    await waitFor(() => clients.every((c) => c.ready), { what: 'clients ready' });
    // Bursts of concurrent edits: appends keep arriving while compactions run. At least 40,
    // and on until more than four compactions ran (how many edits one appended record holds
    // depends on how the server batches a burst, so a fixed count of bursts is not enough).
    for (let burst = 0; burst < 40 || (store.stats().compactions <= 4 && burst < 1_000); burst++) {
      for (const c of clients) c.edit();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await waitFor(() => clients.every((c) => c.unacked === 0), { what: 'every edit acknowledged', timeoutMs: 20_000 });
    await waitFor(() => clients.every((c) => clients.every((o) => o.name !== c.name || sameState(o.doc, c.doc))), { what: 'converged' });
    const compactions = store.stats().compactions;
    expect(compactions).toBeGreaterThan(4);
    // The loaded documents offer their in-memory state: compactions take it instead of merging.
    expect(store.stats().compactionsFromLive).toBeGreaterThan(0);
    await Promise.all(clients.map((c) => c.stop()));
    await server.close();

    const stored = await readStore(dir, names);
    try {
      for (const c of clients) {
        const doc = stored.docs.get(c.name);
        const keys = doc === undefined ? new Set<string>() : mapKeys(doc);
        expect(Array.from({ length: c.edits }, (_, n) => c.key(n)).filter((k) => !keys.has(k))).toEqual([]);
        expect(doc !== undefined && sameState(doc, c.doc)).toBe(true);
      }
      expect(stored.problems.filter((p) => p.kind !== 'stale')).toEqual([]);
    } finally {
      for (const doc of stored.docs.values()) doc.destroy();
    }
  });

  it('a document the server releases (unload, or shutdown) is compacted from its last state: the next start reads one record', async () => {
    for (const [name, unloadDelayMs] of [['race/released-unload', 20], ['race/released-shutdown', 60_000]] as const) {
      const { dir, store, server } = await setup({}, unloadDelayMs);
      const c = client(server, name, 300);
      await waitFor(() => c.ready, { what: `${name} ready` });
      for (let i = 0; i < 4; i++) {
        c.edit();
        await waitFor(() => c.unacked === 0, { what: `edit ${i} acknowledged` }); // one stored update each: a tail, below every threshold
      }
      await c.stop({ graceful: true });
      if (unloadDelayMs < 1_000) {
        await unloaded(server, store, name);
        await waitFor(() => store.stats().compactionsFromLive === 1, { what: 'compacted on unload' });
      }
      await server.close();
      await store.closeWithReport({ timeoutMs: 5_000 });
      expect(store.stats().compactionsFromLive, name).toBe(1);
      const again = await openLevelStore({ dir, logger: silentLogger(), compaction: { enabled: false } });
      try {
        const parts = await again.load(name);
        expect(parts, name).toHaveLength(1);
        const doc = new Y.Doc();
        Y.applyUpdate(doc, parts[0] ?? new Uint8Array());
        expect([...mapKeys(doc)].sort(), name).toEqual(Array.from({ length: 4 }, (_, n) => c.key(n)).sort()); // also types the root map for toJSON
        expect(sameState(doc, c.doc), name).toBe(true);
      } finally {
        await again.close();
      }
    }
  });

  // Regression, same root cause as above: on SIGTERM, registry.close() used to wait for the
  // debounced appends before anything flushed them, so with a debounce longer than
  // --shutdown-timeout-ms the process exited 1 without writing the buffered edits.
  it('SIGTERM writes a pending debounced buffer and exits 0, whatever the debounce', async () => {
    const { dir, cleanup } = await tempDataDir('skein-chaos-sigterm-');
    cleanups.push(cleanup);
    const proc = new ServerProcess(await freePort(), dir, ['--persistence-rules', '*=debounced:600000:600000', '--shutdown-timeout-ms', '1500']);
    cleanups.push(async () => void (await proc.kill()));
    await proc.start();
    const c = new DurableClient({ url: () => proc.url, doc: 'term', clientId: 31 });
    cleanups.push(async () => {
      await c.stop();
      c.destroy();
    });
    c.start();
    await waitFor(() => c.ready, { what: 'ready' });
    c.edit();
    await c.stop({ graceful: true }); // the server has the edit; it is buffered, not acknowledged
    expect(await proc.stop()).toBe(0);
    const stored = await readStore(dir, ['term']);
    try {
      expect(mapKeys(stored.docs.get('term') ?? new Y.Doc()).has(c.key(0))).toBe(true);
    } finally {
      for (const doc of stored.docs.values()) doc.destroy();
    }
  });
});
