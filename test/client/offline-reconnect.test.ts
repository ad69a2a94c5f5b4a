import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { CloseCode } from '@skein/protocol';
import type { SkeinProvider } from '@skein/client';
import type { SkeinServer } from '@skein/server';
import { startTestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';
import { SharedMemoryStore } from '../helpers/shared-store.js';
import { GatedStore } from '../helpers/stores.js';
import { isSaved, isSynced, openClient, sameDocs, storedDoc, waitStatus, waitStored } from '../helpers/skein-client.js';

describe('offline edits and reconnects against a restarting Skein server', () => {
  const providers: SkeinProvider[] = [];
  const servers: SkeinServer[] = [];
  const start = async (store: SharedMemoryStore | GatedStore, port = 0): Promise<SkeinServer> => {
    const server = await startTestServer({ port }, { store });
    servers.push(server);
    return server;
  };
  const open = (url: string, name: string): SkeinProvider => {
    const p = openClient(url, name);
    providers.push(p);
    return p;
  };

  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.destroy()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('delivers edits made while the server is down when it comes back on the same port', async () => {
    const store = new SharedMemoryStore();
    const first = await start(store);
    const { port, url } = first;
    const client = open(url, 'offline');
    await waitStatus(client, isSynced, 'first sync');
    client.doc.getMap('m').set('before', 1);
    await waitStatus(client, isSaved, 'saved before the outage');

    await first.close();
    await waitStatus(client, (s) => s.connection !== 'connected', 'disconnected');
    const text = client.doc.getText('t');
    for (let i = 0; i < 100; i++) text.insert(text.length, `${i},`);
    client.doc.getMap('m').set('during', 2);
    const offline = client.status;
    expect(offline.pendingUpdates.count).toBeGreaterThan(0);
    expect(offline.pendingUpdates.bytes).toBeGreaterThan(0);
    expect(offline.saved).toBe(false);

    await start(store.reopen(), port);
    await waitStatus(client, isSaved, 'saved after the outage');
    expect(client.status.pendingUpdates).toEqual({ count: 0, bytes: 0 });
    await waitStored(store.inner, 'offline', client.doc);

    // A second client sees everything.
    const reader = open(url, 'offline');
    await waitStatus(reader, isSynced);
    expect(sameDocs(reader.doc, client.doc)).toBe(true);
  });

  it('never drifts: many edits across several restarts, some cut off before their ack', async () => {
    const store = new SharedMemoryStore();
    let server = await start(store);
    const { port, url } = server;
    const a = open(url, 'churn');
    const b = open(url, 'churn');
    await Promise.all([waitStatus(a, isSynced), waitStatus(b, isSynced)]);
    let n = 0;
    for (let round = 0; round < 6; round++) {
      // Edits while connected, then the server goes away with some of them unacknowledged.
      for (let i = 0; i < 30; i++) (i % 2 === 0 ? a : b).doc.getMap('m').set(`k${n++}`, round);
      const closing = server.close();
      for (let i = 0; i < 20; i++) (i % 2 === 0 ? a : b).doc.getArray('log').push([n++]);
      await closing;
      await Promise.all([a, b].map((p) => waitStatus(p, (s) => s.connection !== 'connected', 'disconnected')));
      for (let i = 0; i < 25; i++) (i % 2 === 0 ? a : b).doc.getText('t').insert(0, `${n++};`);
      expect(a.status.saved).toBe(false);
      server = await start(store.reopen(), port);
      await Promise.all([a, b].map((p) => waitStatus(p, isSaved, `saved after round ${round}`)));
      expect(a.status.pendingUpdates).toEqual({ count: 0, bytes: 0 });
      expect(b.status.pendingUpdates).toEqual({ count: 0, bytes: 0 });
    }
    // Both saved: the store holds every edit of both; they reach each other through the server.
    await waitFor(() => sameDocs(a.doc, b.doc), { what: 'a and b converge' });
    await waitStored(store.inner, 'churn', a.doc);
    const stored = await storedDoc(store.inner, 'churn');
    expect(stored.getMap('m').size).toBe(180);
    expect(stored.getArray('log').length).toBe(120);
  });

  it('saved waits for durability: an update the server holds in memory but has not stored stays pending', async () => {
    const store = new GatedStore();
    const server = await start(store);
    const client = open(server.url, 'durable');
    await waitStatus(client, isSynced);
    const gate = store.hold('append');
    client.doc.getMap('m').set('x', 1);
    await waitFor(() => server.registry.get('durable')?.doc.getMap('m').get('x') === 1, { what: 'server applied it' });
    await waitFor(() => gate.waiting > 0, { what: 'the append is held' });
    expect(client.status.pendingUpdates.count).toBe(1);
    expect(client.status.saved).toBe(false);
    store.release('append');
    await waitStatus(client, isSaved, 'saved once durable');
    expect(store.calls.append.length).toBeGreaterThan(0);
  });

  it('re-sends after a 4500 StorageFailed close and then reports saved', async () => {
    const store = new GatedStore();
    const server = await start(store);
    const client = open(server.url, 'flaky');
    await waitStatus(client, isSynced);
    store.fail('append', 1);
    client.doc.getMap('m').set('x', 1);
    const failed = await waitStatus(client, (s) => s.lastError?.closeCode === CloseCode.StorageFailed, 'closed with 4500');
    expect(failed.lastError?.code).toBe('SKEIN_ERR_CLIENT_CONNECTION_LOST');
    expect(failed.lastError?.permanent).toBe(false);
    await waitStatus(client, isSaved, 'saved after re-sending');
    expect(store.failed.append).toBe(1);
    const stored = new Y.Doc();
    for (const u of await store.log('flaky')) Y.applyUpdate(stored, u);
    expect(stored.getMap('m').get('x')).toBe(1);
  });
});
