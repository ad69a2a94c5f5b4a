import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as Y from 'yjs';
import type { NetworkEvents, SkeinProvider } from '@skein/client';
import { startTestServer } from '../helpers/server.js';
import { CountingTimers } from '../helpers/manual-timers.js';
import { waitFor } from '../helpers/wait.js';
import { freePort, isSaved, openClient, waitStatus } from '../helpers/skein-client.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** An `online` event source that counts its listeners. */
class CountingNetwork implements NetworkEvents {
  readonly listeners = new Set<() => void>();
  addEventListener(_type: 'online', listener: () => void): void {
    this.listeners.add(listener);
  }
  removeEventListener(_type: 'online', listener: () => void): void {
    this.listeners.delete(listener);
  }
}

/** Live handles of this process by type (timers, sockets, message ports…). */
function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

function growth(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of after) if (v - (before.get(k) ?? 0) > 0) out[k] = v - (before.get(k) ?? 0);
  return out;
}

function observerCount(doc: Y.Doc): number {
  let n = 0;
  for (const set of doc._observers.values()) n += set.size;
  return n;
}

async function collect(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
}

describe('destroy() releases everything', () => {
  it('1,000 providers (saved, waiting to retry, or just created; then destroyed) leave no timers, listeners, sockets or objects behind', async () => {
    await collect();
    const before = resources();
    const heapBefore = process.memoryUsage().heapUsed;
    const server = await startTestServer();
    const timers = new CountingTimers();
    const network = new CountingNetwork();
    const refs: WeakRef<SkeinProvider>[] = [];
    const docs: WeakRef<Y.Doc>[] = [];

    const deadUrl = `ws://127.0.0.1:${await freePort()}`;
    // Most providers connect, edit and wait for saved; some are destroyed while waiting to
    // retry (nothing listens), some at once (before their store was even read).
    const one = async (i: number): Promise<void> => {
      const doc = new Y.Doc();
      const baseline = observerCount(doc);
      const mode = i % 10 === 3 ? 'retrying' : i % 10 === 7 ? 'immediate' : 'saved';
      const p = openClient(mode === 'retrying' ? deadUrl : server.url, `hygiene-${i % 20}`, {
        doc,
        timers,
        network,
        store: i % 4 === 0 ? 'indexeddb' : 'memory',
        token: i % 2 === 0 ? () => Promise.resolve('t') : 'static',
      });
      p.awareness.setLocalStateField('user', { i });
      p.doc.getMap('m').set(`k${i}`, i);
      if (mode === 'saved') await waitStatus(p, isSaved, `provider ${i} saved`);
      if (mode === 'retrying') await waitStatus(p, (s) => s.reconnectAt !== null, `provider ${i} waiting to retry`);
      await p.destroy();
      expect(observerCount(doc)).toBe(baseline);
      refs.push(new WeakRef(p));
      docs.push(new WeakRef(doc));
    };
    for (let batch = 0; batch < 1000; batch += 25) {
      await Promise.all(Array.from({ length: 25 }, (_, j) => one(batch + j)));
    }

    expect(timers.created).toBeGreaterThan(1000); // the liveness timer of every connection, at least
    expect(timers.active).toBe(0);
    expect(network.listeners.size).toBe(0);
    await waitFor(() => server.connectionCount() === 0, { what: 'server saw every socket close' });
    // The server's own timers (document unload delays, heartbeat) go with it.
    await server.close();
    await collect();
    // Sockets, timers, message ports (BroadcastChannel of the IndexedDB providers): no growth
    // beyond a small constant (vitest's own and the server's handles come and go).
    const grown = growth(before, resources());
    for (const [kind, n] of Object.entries(grown)) expect({ kind, n }).toEqual({ kind, n: Math.min(n, 3) });
    const alive = refs.filter((r) => r.deref() !== undefined).length + docs.filter((r) => r.deref() !== undefined).length;
    expect(alive).toBeLessThanOrEqual(4);
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    // 1,000 leaked providers with their docs, awareness and stores would be several MB.
    expect(heapGrowth).toBeLessThan(8 * 1024 * 1024);
  });
});
