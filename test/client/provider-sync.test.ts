import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { SkeinProvider } from '@skein/client';
import type { SkeinServer } from '@skein/server';
import { startTestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

import { isSaved, isSynced, openClient, sameDocs, waitStatus, waitStored } from '../helpers/skein-client.js';

describe('SkeinProvider against a Skein server', () => {
  let server: SkeinServer;
  const providers: SkeinProvider[] = [];
  const open = (name: string, doc?: Y.Doc): SkeinProvider => {
    const p = openClient(server.url, name, doc === undefined ? {} : { doc });
    providers.push(p);
    return p;
  };

  beforeEach(async () => {
    server = await startTestServer();
  });
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.destroy()));
    await server.close();
  });

  it('syncs, reports durable acks, and becomes saved', async () => {
    const a = open('doc');
    const status = await waitStatus(a, isSynced, 'synced');
    expect(status.connection).toBe('connected');
    expect(status.acks).toBe(true);
    expect(status.saved).toBe(true);
    a.doc.getMap('m').set('k', 1);
    expect(a.status.pendingUpdates.count).toBe(1);
    expect(a.status.saved).toBe(false);
    await waitStatus(a, isSaved, 'saved');
    expect(a.status.pendingUpdates).toEqual({ count: 0, bytes: 0 });
    await waitStored(server.store, 'doc', a.doc);
  });

  it('two providers converge, and remote updates are not sent back', async () => {
    const a = open('pair');
    const b = open('pair');
    await Promise.all([waitStatus(a, isSynced), waitStatus(b, isSynced)]);
    a.doc.getText('t').insert(0, 'hello ');
    b.doc.getText('t').insert(0, 'world ');
    for (let i = 0; i < 20; i++) a.doc.getArray('arr').push([i]);
    await waitFor(() => sameDocs(a.doc, b.doc) && a.doc.getArray('arr').length === 20, { what: 'convergence' });
    await Promise.all([waitStatus(a, isSaved), waitStatus(b, isSaved)]);
    // b received a's edits from the server: they are replica, not pending, on b.
    expect(b.status.pendingUpdates.count).toBe(0);
    await waitStored(server.store, 'pair', a.doc);
  });

  it('a late joiner receives the state; a document name needing encoding works', async () => {
    const name = 'room/ä b?c';
    const a = open(name);
    for (let i = 0; i < 50; i++) a.doc.getMap('m').set(`k${i}`, i);
    await waitStatus(a, isSaved);
    const b = open(name);
    await waitStatus(b, isSynced);
    expect(sameDocs(a.doc, b.doc)).toBe(true);
    expect(server.registry.get(name)).toBeDefined();
  });

  it('awareness: propagates, removed on destroy, remote states cleared when the connection drops', async () => {
    const a = open('presence');
    const b = open('presence');
    await Promise.all([waitStatus(a, isSynced), waitStatus(b, isSynced)]);
    a.awareness.setLocalStateField('user', { name: 'ada' });
    b.awareness.setLocalStateField('user', { name: 'bob' });
    await waitFor(() => b.awareness.getStates().has(a.doc.clientID) && a.awareness.getStates().has(b.doc.clientID), {
      what: 'both see each other',
    });
    expect(b.awareness.getStates().get(a.doc.clientID)).toEqual({ user: { name: 'ada' } });

    // b's connection drops: b clears the remote states it had (they would go stale).
    b.disconnect();
    expect(b.awareness.getStates().has(a.doc.clientID)).toBe(false);
    expect(b.awareness.getLocalState()).toEqual({ user: { name: 'bob' } });
    b.connect();
    await waitFor(() => b.awareness.getStates().has(a.doc.clientID), { what: 'b sees a again after reconnect' });

    // a is destroyed: its own state is removed for the others.
    const aId = a.doc.clientID;
    await a.destroy();
    await waitFor(() => !b.awareness.getStates().has(aId), { what: "a's state removed on b" });
  });

  it('restarts the document on a new provider from the server state', async () => {
    const doc = new Y.Doc();
    const a = open('again', doc);
    doc.getMap('m').set('x', 1);
    await waitStatus(a, isSaved);
    await a.destroy();
    const b = open('again');
    await waitStatus(b, isSynced);
    expect(b.doc.getMap('m').get('x')).toBe(1);
  });
});
