import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import fc from 'fast-check';
import { decodeMessage } from '@skein/protocol';
import type WebSocket from 'ws';
import { DocumentRegistry, silentLogger, type DocumentHandle, type SkeinServer } from '@skein/server';
import type { WebsocketProvider } from 'y-websocket';
import { GatedStore } from '../helpers/stores.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { fakePeer } from '../helpers/fake-peer.js';
import { waitFor } from '../helpers/wait.js';
import { startTestServer } from '../helpers/server.js';
import { connectProvider, destroyAll, synced } from '../helpers/clients.js';

const SLEEP_MS = 1_000;
const EMPTY_SV = Y.encodeStateVector(new Y.Doc());

/** A document with `n` map entries written by one client, as its full state. */
function seeded(n: number, key = 'm'): Y.Doc {
  const doc = new Y.Doc();
  doc.transact(() => {
    for (let i = 0; i < n; i++) doc.getMap(key).set(`k${i}`, { i, label: `shape ${i}` });
  });
  return doc;
}

function json(update: Uint8Array): unknown {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, update);
  return { m: doc.getMap('m').toJSON(), t: doc.getText('t').toJSON() };
}

describe('dormant documents: only the encoded state while nobody edits', () => {
  let store: GatedStore;
  let clock: ManualClock;
  let registry: DocumentRegistry | undefined;
  const make = (dormantAfterMs = SLEEP_MS): DocumentRegistry => {
    store = new GatedStore();
    clock = new ManualClock();
    registry = new DocumentRegistry({ clock, store, logger: silentLogger(), unloadDelayMs: 60_000, loadTimeoutMs: 5_000, dormantAfterMs });
    return registry;
  };
  afterEach(async () => {
    store.releaseAll();
    await registry?.close();
    registry = undefined;
  });

  it('loads dormant from a long log (2,000 records past a snapshot: folded, not merged) and serves the same document', async () => {
    const reg = make();
    const author = seeded(200);
    const records = [Y.encodeStateAsUpdate(author)];
    author.on('update', (u: Uint8Array) => records.push(u));
    for (let i = 0; i < 2_000; i++) {
      if (i % 2 === 0) author.getMap('m').set(`k${i % 200}`, { i });
      else author.getText('t').insert(author.getText('t').length, `${i % 10}`);
    }
    await store.seed('long', ...records);
    const handle = await reg.open('long', fakePeer());
    expect(handle.form).toBe('dormant');
    expect(json(handle.diffFor(EMPTY_SV))).toEqual({ m: author.getMap('m').toJSON(), t: author.getText('t').toJSON() });
    expect(handle.stateVector()).toEqual(Y.encodeStateVector(author));
    expect(handle.wakes).toBe(0);
  });

  it('loads dormant and serves joiners from the stored bytes without building a Y.Doc', async () => {
    const reg = make();
    const source = seeded(200);
    const more = new Y.Doc();
    Y.applyUpdate(more, Y.encodeStateAsUpdate(source));
    const before = Y.encodeStateVector(more);
    more.getText('t').insert(0, 'later');
    await store.seed('d', Y.encodeStateAsUpdate(source), Y.encodeStateAsUpdate(more, before));
    const handle = await reg.open('d', fakePeer());
    expect(handle.form).toBe('dormant');
    // A joiner with nothing, and one that has the first record: both answered from the bytes.
    expect(json(handle.diffFor(EMPTY_SV))).toEqual({ m: source.getMap('m').toJSON(), t: 'later' });
    const partial = new Y.Doc();
    Y.applyUpdate(partial, Y.encodeStateAsUpdate(source));
    Y.applyUpdate(partial, handle.diffFor(Y.encodeStateVector(partial)));
    expect(partial.getText('t').toJSON()).toBe('later');
    expect(handle.stateVector()).toEqual(Y.encodeStateVector(more));
    expect(handle.wakes).toBe(0);
    expect(handle.form).toBe('dormant');
  });

  it('an update it already holds (a joiner\'s empty sync step 2, a re-sent state) leaves it asleep; a new one wakes it and reaches the peers', async () => {
    const reg = make();
    const source = seeded(50);
    await store.seed('d', Y.encodeStateAsUpdate(source));
    const a = fakePeer();
    const b = fakePeer();
    const handle = await reg.open('d', a);
    await reg.open('d', b);
    await handle.submit(Y.encodeStateAsUpdate(new Y.Doc()), { source: 'client', peer: a });
    await handle.submit(Y.encodeStateAsUpdate(source), { source: 'client', peer: a });
    expect(handle.wakes).toBe(0);
    expect(handle.form).toBe('dormant');

    // A deletion is never taken as known (the delete set is not checked): it wakes.
    source.getMap('m').delete('k0');
    const deletion = Y.encodeStateAsUpdate(source, Y.encodeStateVector(source));
    await handle.submit(deletion, { source: 'client', peer: a });
    expect(handle.wakes).toBe(1);
    expect(handle.form).toBe('live');
    expect(handle.doc.getMap('m').has('k0')).toBe(false);
    await waitFor(() => b.sent.length > 0, { what: 'fan-out of the change that woke the document' });
    expect(b.sent.map((m) => decodeMessage(m).type)).toEqual(['sync-update']);
  });

  it('goes back to sleep after the quiet period, which every change restarts; the state survives each sleep', async () => {
    const reg = make();
    const a = fakePeer();
    const handle = await reg.open('d', a);
    const client = new Y.Doc();
    const edit = async (text: string): Promise<void> => {
      const sv = Y.encodeStateVector(client);
      client.getText('t').insert(client.getText('t').length, text);
      await handle.submit(Y.encodeStateAsUpdate(client, sv), { source: 'client', peer: a });
    };
    await edit('one');
    expect(handle.form).toBe('live');
    clock.advance(SLEEP_MS - 10);
    await edit(' two');
    clock.advance(SLEEP_MS - 10);
    // 990 ms after the last change: still live.
    expect(handle.form).toBe('live');
    clock.advance(20);
    expect(handle.form).toBe('dormant');
    expect(json(handle.diffFor(EMPTY_SV))).toEqual({ m: {}, t: 'one two' });
    await edit(' three');
    expect(handle.form).toBe('live');
    expect(handle.doc.getText('t').toJSON()).toBe('one two three');
    clock.advance(SLEEP_MS);
    expect(handle.form).toBe('dormant');
  });

  it('awareness states of the peers live on while the content sleeps', async () => {
    const reg = make();
    const a = fakePeer();
    const handle = await reg.open('d', a);
    const peerDoc = new Y.Doc();
    const { Awareness, encodeAwarenessUpdate } = await import('y-protocols/awareness');
    const awareness = new Awareness(peerDoc);
    awareness.setLocalState({ cursor: { x: 1, y: 2 } });
    handle.applyClientAwareness(encodeAwarenessUpdate(awareness, [peerDoc.clientID]), a);
    await handle.submit(Y.encodeStateAsUpdate(seeded(3)), { source: 'client', peer: a });
    clock.advance(SLEEP_MS);
    expect(handle.form).toBe('dormant');
    expect(handle.awareness.getStates().get(peerDoc.clientID)).toEqual({ cursor: { x: 1, y: 2 } });
    awareness.destroy();
  });

  it('with dormancy off (0) documents load live and stay live', async () => {
    const reg = make(0);
    await store.seed('d', Y.encodeStateAsUpdate(seeded(5)));
    const handle = await reg.open('d', fakePeer());
    expect(handle.form).toBe('live');
    clock.advance(60_000);
    expect(handle.form).toBe('live');
  });

  it('property: any schedule of edits, deletions, quiet periods and joins converges to what the clients hold', async () => {
    type Step = { kind: 'edit'; client: number; text: string } | { kind: 'delete'; client: number } | { kind: 'quiet'; ms: number } | { kind: 'join' };
    const step = fc.oneof(
      fc.record({ kind: fc.constant('edit' as const), client: fc.integer({ min: 0, max: 2 }), text: fc.string({ minLength: 1, maxLength: 4 }) }),
      fc.record({ kind: fc.constant('delete' as const), client: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ kind: fc.constant('quiet' as const), ms: fc.constantFrom(10, SLEEP_MS / 2, SLEEP_MS, 2 * SLEEP_MS) }),
      fc.record({ kind: fc.constant('join' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), async (steps: Step[]) => {
        const reg = make();
        const peers = [fakePeer(), fakePeer(), fakePeer()];
        const clients = peers.map(() => new Y.Doc());
        let handle: DocumentHandle = await reg.open('d', peers[0]!);
        for (const p of peers.slice(1)) await reg.open('d', p);
        // Every client holds everything sent so far (the fan-out is not under test here).
        const deliver = (update: Uint8Array): void => clients.forEach((c) => Y.applyUpdate(c, update));
        for (const s of steps) {
          if (s.kind === 'quiet') clock.advance(s.ms);
          else if (s.kind === 'join') {
            // A new peer with nothing: answered from whatever form the document is in.
            const joiner = new Y.Doc();
            Y.applyUpdate(joiner, handle.diffFor(EMPTY_SV));
            expect(joiner.getText('t').toJSON()).toBe(clients[0]!.getText('t').toJSON());
          } else {
            const c = clients[s.client]!;
            const sv = Y.encodeStateVector(c);
            const text = c.getText('t');
            if (s.kind === 'edit') text.insert(text.length, s.text);
            else if (text.length > 0) text.delete(0, 1);
            const update = Y.encodeStateAsUpdate(c, sv);
            await handle.submit(update, { source: 'client', peer: peers[s.client]! });
            deliver(update);
          }
        }
        const served = new Y.Doc();
        Y.applyUpdate(served, handle.diffFor(EMPTY_SV));
        expect(served.getText('t').toJSON()).toBe(clients[0]!.getText('t').toJSON());
        // And what the store holds loads back to the same state.
        const stored = new Y.Doc();
        for (const u of await store.log('d')) Y.applyUpdate(stored, u);
        expect(stored.getText('t').toJSON()).toBe(clients[0]!.getText('t').toJSON());
        await reg.close();
        registry = undefined;
        handle = undefined as unknown as DocumentHandle;
      }),
      { numRuns: 40 },
    );
  });
});

describe('dormant documents on a real server with y-websocket clients', () => {
  let server: SkeinServer | undefined;
  const providers: WebsocketProvider[] = [];
  afterEach(async () => {
    destroyAll(providers.splice(0));
    await server?.close();
    server = undefined;
  });

  it('a joiner of a sleeping document syncs without waking it; an edit wakes it and every client converges', async () => {
    const clock = new ManualClock();
    const srv = (server = await startTestServer({ dormantAfterMs: SLEEP_MS }, { clock }));
    const writer = connectProvider(srv.url, 'board');
    providers.push(writer);
    await synced(writer);
    writer.doc.getMap('m').set('shape', { x: 1 });
    await waitFor(() => srv.registry.get('board')?.form === 'live', { what: 'the first edit on the server' });
    const handle = srv.registry.get('board')!;
    clock.advance(SLEEP_MS);
    expect(handle.form).toBe('dormant');
    const wakes = handle.wakes;
    // The gauge on /metrics counts it.
    const metrics = await (await fetch(`${srv.url.replace(/^ws/, 'http')}/metrics`)).text();
    expect(metrics).toMatch(/^skein_documents_dormant(\{[^}]*\})? 1$/m);

    // A plain y-websocket joiner: sync step 1 answered, its empty sync step 2 known.
    const joiner = connectProvider(srv.url, 'board');
    providers.push(joiner);
    await synced(joiner);
    expect(joiner.doc.getMap('m').toJSON()).toEqual({ shape: { x: 1 } });
    // A ping on the joiner's socket after its messages (read in order): its sync step 2 was handled.
    const socket = joiner.ws as unknown as WebSocket;
    await new Promise((resolve) => {
      socket.once('pong', resolve);
      socket.ping();
    });
    expect(handle.wakes).toBe(wakes);
    expect(handle.form).toBe('dormant');

    joiner.doc.getMap('m').set('other', { y: 2 });
    await waitFor(() => writer.doc.getMap('m').has('other'), { what: 'the joiner\'s edit at the writer' });
    expect(handle.form).toBe('live');
    expect(writer.doc.getMap('m').toJSON()).toEqual(joiner.doc.getMap('m').toJSON());
  });
});
