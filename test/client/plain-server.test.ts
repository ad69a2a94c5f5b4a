import { afterEach, describe, expect, it } from 'vitest';
import { MemoryLocalStore, type SkeinProvider } from '@skein/client';
import { PlainYServer } from '../helpers/plain-y-server.js';
import { waitFor } from '../helpers/wait.js';
import { isSynced, openClient, sameDocs, waitStatus } from '../helpers/skein-client.js';

describe('degraded mode: a plain y-websocket server (no Welcome, no acks)', () => {
  const providers: SkeinProvider[] = [];
  let server: PlainYServer | undefined;
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.destroy()));
    await server?.close();
  });

  it('syncs both ways, reports acks=false and never claims saved', async () => {
    server = await PlainYServer.start();
    const p = openClient(server.url, 'plain');
    providers.push(p);
    const synced = await waitStatus(p, isSynced);
    expect(synced.acks).toBe(false);
    expect(synced.saved).toBe(false);
    p.doc.getMap('m').set('a', 1);
    server.doc('plain').getMap('m').set('b', 2);
    await waitFor(() => server?.doc('plain').getMap('m').get('a') === 1 && p.doc.getMap('m').get('b') === 2, {
      what: 'edits in both directions',
    });
    expect(sameDocs(p.doc, server.doc('plain'))).toBe(true);
    expect(p.status.saved).toBe(false);
    expect(p.status.pendingUpdates.count).toBeGreaterThan(0);
    expect(server.received[0]).toBe(100); // the Hello it ignored
  });

  it('keeps the outbox bounded when nothing is ever acknowledged', async () => {
    server = await PlainYServer.start();
    const store = new MemoryLocalStore();
    const p = openClient(server.url, 'bounded', { store, compactAfter: 8 });
    providers.push(p);
    await waitStatus(p, isSynced);
    for (let i = 0; i < 100; i++) {
      p.doc.getMap('m').set(`k${i}`, i);
      await p.flush(); // one outbox entry per edit
    }
    await waitFor(() => server?.doc('bounded').getMap('m').size === 100, { what: 'server has every edit' });
    await p.flush();
    expect(p.status.pendingUpdates.count).toBeLessThanOrEqual(8);
    expect((await store.load('bounded')).length).toBeLessThanOrEqual(10);
  });
});
