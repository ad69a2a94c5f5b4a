import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { IndexedDbStore, type LocalStore, type SkeinProvider } from '@skein/client';
import type { SkeinServer } from '@skein/server';
import { startTestServer } from '../helpers/server.js';
import { SharedMemoryStore } from '../helpers/shared-store.js';
import { CountingLocalStore } from '../helpers/counting-local-store.js';
import { waitFor } from '../helpers/wait.js';
import { freePort, isSaved, isSynced, openClient, sameDocs, storedDoc, waitStatus, waitStored } from '../helpers/skein-client.js';

const kinds = async (store: LocalStore, doc: string): Promise<{ pending: number; replica: number }> => {
  const entries = await store.load(doc);
  return {
    pending: entries.filter((e) => e.kind === 'pending').length,
    replica: entries.filter((e) => e.kind === 'replica').length,
  };
};

describe('the persistent outbox in IndexedDB (fake-indexeddb)', () => {
  const providers: SkeinProvider[] = [];
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.destroy()));
    for (const c of closers.splice(0)) await c();
  });
  const page = (url: string, name: string, store: LocalStore, extra: Parameters<typeof openClient>[2] = {}): SkeinProvider => {
    const p = openClient(url, name, { store, ...extra });
    providers.push(p);
    return p;
  };

  it('offline edits survive a reload and are delivered when the server comes back', async () => {
    const port = await freePort();
    const url = `ws://127.0.0.1:${port}`;
    // Page 1: the server is down; the user edits, then the page is closed.
    const db1 = new IndexedDbStore({ dbName: 'reload' });
    const p1 = page(url, 'notes', db1);
    await p1.whenRestored;
    p1.doc.getText('t').insert(0, 'written offline');
    for (let i = 0; i < 10; i++) p1.doc.getMap('shapes').set(`s${i}`, { x: i });
    expect(p1.status.pendingUpdates.count).toBeGreaterThan(0);
    await p1.destroy();
    await db1.close();
    const expected = p1.doc;

    // Page 2 (the reload), still offline: the document comes back from IndexedDB.
    const db2 = new IndexedDbStore({ dbName: 'reload' });
    closers.push(() => db2.close());
    const p2 = page(url, 'notes', db2);
    await p2.whenRestored;
    expect(p2.doc.getText('t').toJSON()).toBe('written offline');
    expect(p2.doc.getMap('shapes').size).toBe(10);
    expect(p2.status.pendingUpdates.count).toBeGreaterThan(0);
    expect(p2.status.saved).toBe(false);
    expect(p2.status.connection).not.toBe('connected');

    // The server returns on the same port: everything is delivered and acknowledged.
    const store = new SharedMemoryStore();
    const server = await startTestServer({ port }, { store });
    closers.push(() => server.close());
    await waitStatus(p2, isSaved, 'saved after the server returned');
    await waitStored(store.inner, 'notes', expected);
    // Acknowledged entries left the outbox and were merged into the replica.
    await p2.flush();
    expect((await kinds(db2, 'notes')).pending).toBe(0);
  });

  it('a reopened document restores the replica offline, and opening without edits writes nothing', async () => {
    const store = new SharedMemoryStore();
    const server = await startTestServer({}, { store });
    closers.push(() => server.close());
    const seed = new Y.Doc();
    seed.getMap('m').set('from-server', 1);
    await store.append('replica', Y.encodeStateAsUpdate(seed));

    // First visit: receives the server state and makes an edit; both end in the replica.
    const db = new IndexedDbStore({ dbName: 'replica' });
    closers.push(() => db.close());
    const p1 = page(server.url, 'replica', db);
    await waitStatus(p1, isSynced);
    p1.doc.getMap('m').set('mine', 2);
    await waitStatus(p1, isSaved);
    await p1.destroy();

    // Second visit, offline: the replica alone shows both.
    const port = await freePort();
    const offline = page(`ws://127.0.0.1:${port}`, 'replica', db);
    await offline.whenRestored;
    expect(offline.doc.getMap('m').toJSON()).toEqual({ 'from-server': 1, mine: 2 });
    await offline.destroy();

    // Third and fourth visits, online, no edits: the first may compact, the next writes nothing.
    for (const visit of [3, 4]) {
      const counting = new CountingLocalStore(db);
      const p = page(server.url, 'replica', counting);
      await waitStatus(p, isSynced);
      await p.destroy();
      if (visit === 4) expect(counting.writes).toBe(0);
    }
    expect(await kinds(db, 'replica')).toEqual({ pending: 0, replica: 1 });
  });

  it('two tabs on one database: no lost or stuck entries, offline edits shared, any tab delivers', async () => {
    const port = await freePort();
    const url = `ws://127.0.0.1:${port}`;
    const dbA = new IndexedDbStore({ dbName: 'tabs' });
    const dbB = new IndexedDbStore({ dbName: 'tabs' });
    closers.push(() => dbB.close());
    const a = page(url, 'board', dbA, { compactAfter: 4 });
    const b = page(url, 'board', dbB, { compactAfter: 4 });
    await Promise.all([a.whenRestored, b.whenRestored]);
    for (let i = 0; i < 40; i++) {
      (i % 2 === 0 ? a : b).doc.getMap('m').set(`k${i}`, i);
      if (i % 5 === 0) await Promise.all([a.flush(), b.flush()]);
    }
    // Offline, each tab sees the other's edits through the shared store.
    await waitFor(() => a.doc.getMap('m').size === 40 && b.doc.getMap('m').size === 40, { what: 'edits shared offline' });
    // Tab A closes with its edits still pending; tab B is left.
    await a.destroy();
    await dbA.close();
    expect(b.status.pendingUpdates.count).toBeGreaterThan(0);

    const store = new SharedMemoryStore();
    const server = await startTestServer({ port }, { store });
    closers.push(() => server.close());
    await waitStatus(b, isSaved, 'tab B saved everything');
    const stored = await storedDoc(store.inner, 'board');
    expect(stored.getMap('m').size).toBe(40);
    await b.flush();
    expect((await kinds(dbB, 'board')).pending).toBe(0);
  });

  it('two live tabs editing through several outages converge with nothing pending', async () => {
    const store = new SharedMemoryStore();
    let server: SkeinServer = await startTestServer({}, { store });
    const { port, url } = server;
    const dbA = new IndexedDbStore({ dbName: 'live-tabs' });
    const dbB = new IndexedDbStore({ dbName: 'live-tabs' });
    closers.push(() => dbA.close(), () => dbB.close());
    const a = page(url, 'live', dbA, { compactAfter: 3 });
    const b = page(url, 'live', dbB, { compactAfter: 3 });
    let n = 0;
    for (let round = 0; round < 4; round++) {
      await Promise.all([waitStatus(a, isSynced), waitStatus(b, isSynced)]);
      for (let i = 0; i < 15; i++) (i % 3 === 0 ? a : b).doc.getArray('xs').push([n++]);
      await server.close();
      for (let i = 0; i < 15; i++) {
        (i % 2 === 0 ? a : b).doc.getArray('xs').push([n++]);
        await Promise.all([a.flush(), b.flush()]);
      }
      server = await startTestServer({ port }, { store: store.reopen() });
      await Promise.all([waitStatus(a, isSaved, `a saved, round ${round}`), waitStatus(b, isSaved, `b saved, round ${round}`)]);
    }
    closers.push(() => server.close());
    await waitFor(() => sameDocs(a.doc, b.doc), { what: 'tabs converge' });
    expect(a.doc.getArray('xs').length).toBe(n);
    await waitStored(store.inner, 'live', a.doc);
    await Promise.all([a.flush(), b.flush()]);
    const left = await kinds(dbA, 'live');
    expect(left.pending).toBe(0);
    expect(left.replica).toBeLessThanOrEqual(6);
  });
});
