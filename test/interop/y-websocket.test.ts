import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import type { SkeinServer } from '@skein/server';
import type { WebsocketProvider } from 'y-websocket';
import { startTestServer } from '../helpers/server.js';
import { connectProvider, destroyAll, killProviderSocket, synced } from '../helpers/clients.js';
import { waitFor } from '../helpers/wait.js';
import { sameState } from '../helpers/docs.js';
import { RawClient } from '../helpers/raw-client.js';
import { Awareness, applyAwarenessUpdate } from 'y-protocols/awareness';
import { Doc } from 'yjs';


describe('interop with the real y-websocket client', () => {
  let server: SkeinServer;
  const providers: WebsocketProvider[] = [];
  const open = (doc: string): WebsocketProvider => {
    const p = connectProvider(server.url, doc);
    providers.push(p);
    return p;
  };

  beforeEach(async () => {
    server = await startTestServer();
  });
  afterEach(async () => {
    destroyAll(providers.splice(0));
    await server.close();
  });

  it('three clients on one document converge', async () => {
    const clients = [open('shared'), open('shared'), open('shared')];
    await Promise.all(clients.map(synced));
    clients.forEach((p, i) => {
      p.doc.getMap('shapes').set(`shape-${i}`, { x: i, y: i * 2 });
      p.doc.getText('title').insert(0, `c${i}`);
      p.doc.getArray('order').push([i]);
    });
    await waitFor(() => clients.every((p) => p.doc.getMap('shapes').size === 3 && p.doc.getArray('order').length === 3), {
      what: 'all edits on all clients',
    });
    const [a, b, c] = clients.map((p) => p.doc) as [Y.Doc, Y.Doc, Y.Doc];
    await waitFor(() => sameState(a, b) && sameState(b, c), { what: 'identical state' });
    expect(a.getText('title').length).toBe(6);
  });

  it('a late joiner receives the full state', async () => {
    const first = open('late');
    await synced(first);
    for (let i = 0; i < 50; i++) first.doc.getMap('m').set(`k${i}`, i);
    first.doc.getText('t').insert(0, 'hello world');
    // Wait until the server holds every edit before the late joiner connects.
    await waitFor(() => server.registry.get('late')?.doc.getMap('m').size === 50, { what: 'server state' });
    const late = open('late');
    await synced(late);
    expect(late.doc.getMap('m').size).toBe(50);
    expect(late.doc.getText('t').toJSON()).toBe('hello world');
    expect(sameState(first.doc, late.doc)).toBe(true);
  });

  it('joiners of a document being edited converge, and are not each answered with a new encoding of the whole state', async () => {
    const writer = open('busy');
    await synced(writer);
    for (let i = 0; i < 200; i++) writer.doc.getArray('a').push([i]);
    const handle = () => server.registry.get('busy');
    await waitFor(() => handle()?.doc.getArray('a').length === 200, { what: 'server state' });
    const joiners: WebsocketProvider[] = [];
    for (let j = 0; j < 20; j++) {
      // An edit between every two joins, applied by the server before the next one connects.
      writer.doc.getMap('m').set(`k${j}`, j);
      await waitFor(() => handle()?.doc.getMap('m').size === j + 1, { what: `edit ${j} on the server` });
      const joiner = open('busy');
      await synced(joiner);
      joiners.push(joiner);
    }
    // (A root type is in toJSON only once asked for by name.)
    await waitFor(() => joiners.every((p) => p.doc.getMap('m').size === 20 && p.doc.getArray('a').length === 200 && sameState(p.doc, writer.doc)), {
      what: 'every joiner converged',
    });
    // One encoding of the state for the first joiner; the others got it and the edits since.
    expect(handle()?.fullStateEncodes).toBeLessThanOrEqual(2);
  });

  it('awareness propagates and a vanished client is removed for the others', async () => {
    const a = open('presence');
    const b = open('presence');
    await Promise.all([synced(a), synced(b)]);
    a.awareness.setLocalStateField('user', { name: 'ada', cursor: { x: 1, y: 2 } });
    await waitFor(() => b.awareness.getStates().get(a.doc.clientID) !== undefined, { what: "b sees a's cursor" });
    expect(b.awareness.getStates().get(a.doc.clientID)).toEqual({ user: { name: 'ada', cursor: { x: 1, y: 2 } } });
    killProviderSocket(a);
    await waitFor(() => !b.awareness.getStates().has(a.doc.clientID), { what: "a's state removed on b" });
    expect(b.awareness.getStates().has(a.doc.clientID)).toBe(false);
  });

  it('presence is paced: ten clients moving cursors every few ms reach a watcher as at most one awareness message per 50 ms, ending on each latest cursor', async () => {
    await server.close();
    server = await startTestServer({ presenceIntervalMs: 50 });
    const movers = Array.from({ length: 10 }, () => open('paced'));
    await Promise.all(movers.map(synced));
    const watcher = await RawClient.connect(server.url, 'paced');
    await watcher.roundTrip();
    const before = watcher.messages.length;
    // 40 rounds of moves, one round every 5 ms: ~400 changes over ~200 ms, each round in a
    // turn of its own (unpaced, about one message per round).
    const started = performance.now();
    for (let round = 1; round <= 40; round++) {
      movers.forEach((m, i) => m.awareness.setLocalStateField('cursor', { x: round, y: i }));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const seen = new Awareness(new Doc());
    const latest = (): boolean => movers.every((m) => (seen.getStates().get(m.doc.clientID) as { cursor?: { x: number } } | undefined)?.cursor?.x === 40);
    let awarenessMessages = 0;
    let read = before;
    await waitFor(() => {
      for (; read < watcher.messages.length; read++) {
        const msg = watcher.decoded()[read];
        if (msg?.type !== 'awareness') continue;
        awarenessMessages++;
        applyAwarenessUpdate(seen, msg.update, null);
      }
      return latest();
    }, { what: "every mover's last cursor at the watcher" });
    const elapsed = performance.now() - started;
    // At most one per started interval since the first: the pacing's bound, from measured time.
    expect(awarenessMessages).toBeGreaterThan(0);
    expect(awarenessMessages).toBeLessThanOrEqual(Math.floor(elapsed / 50) + 2);
    expect(movers.map((m) => (seen.getStates().get(m.doc.clientID) as { cursor: unknown }).cursor)).toEqual(movers.map((_, i) => ({ x: 40, y: i })));
    await watcher.dispose();
  });
});
