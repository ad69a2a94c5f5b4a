import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';
import { CloseCode, encodeSyncStep1, encodeSyncUpdate, type Message } from '@skein/protocol';
import { ERRORS, type Config, type SkeinServer } from '@skein/server';
import { startTestServer } from '../helpers/server.js';
import { connectProvider, destroyAll, synced } from '../helpers/clients.js';
import { waitFor } from '../helpers/wait.js';
import { canonicalJson, sameState } from '../helpers/docs.js';
import { GatedStore } from '../helpers/stores.js';
import { RawClient } from '../helpers/raw-client.js';

/** Seeded content: a text and a map, written by a client that is not in any test. */
function seedUpdate(): Uint8Array {
  const doc = new Y.Doc();
  doc.getText('t').insert(0, 'seeded content');
  doc.getMap('m').set('seeded', true);
  return Y.encodeStateAsUpdate(doc);
}

/** What the store holds for `name`, applied in order to a fresh Y.Doc. */
async function storedDoc(store: GatedStore, name: string): Promise<Y.Doc> {
  const doc = new Y.Doc();
  for (const u of await store.log(name)) Y.applyUpdate(doc, u);
  return doc;
}

function sameContent(a: Y.Doc, b: Y.Doc): boolean {
  return canonicalJson(a.toJSON()) === canonicalJson(b.toJSON());
}

/** The first step 2 the server sent a raw client, applied to a fresh doc. */
function docFromStep2(messages: readonly Message[]): Y.Doc | undefined {
  const step2 = messages.find((m) => m.type === 'sync-step2');
  if (step2?.type !== 'sync-step2') return undefined;
  const doc = new Y.Doc();
  Y.applyUpdate(doc, step2.update);
  return doc;
}

const EMPTY_SV = Y.encodeStateVector(new Y.Doc());

describe('document lifecycle through the real server', () => {
  let server: SkeinServer | undefined;
  let store: GatedStore;
  const providers: WebsocketProvider[] = [];
  const raws: RawClient[] = [];

  const start = async (overrides: Partial<Config> = {}): Promise<SkeinServer> => {
    server = await startTestServer({ shutdownTimeoutMs: 1_000, ...overrides }, { store });
    return server;
  };
  const open = (doc: string): WebsocketProvider => {
    const p = connectProvider((server as SkeinServer).url, doc);
    providers.push(p);
    return p;
  };
  const raw = (doc: string): RawClient => {
    const r = new RawClient(`${(server as SkeinServer).url}/${encodeURIComponent(doc)}`);
    raws.push(r);
    return r;
  };
  /** Stop a provider for good: it closes its socket and never reconnects. */
  const leave = (p: WebsocketProvider): void => {
    p.destroy();
  };

  afterEach(async () => {
    store.releaseAll();
    store.recover('load');
    store.recover('append');
    store.recover('flush');
    destroyAll(providers.splice(0));
    await Promise.all(raws.splice(0).map((r) => r.dispose()));
    await server?.close();
    server = undefined;
  });

  it('holds every client at the load barrier, loads once, and nobody ever sees an empty document', async () => {
    store = new GatedStore();
    await store.seed('slow', seedUpdate());
    const gate = store.hold('load');
    const srv = await start({ unloadDelayMs: 1_000 });
    const textAtSync: string[] = [];
    const clients = Array.from({ length: 5 }, () => {
      const p = open('slow');
      p.on('sync', (isSynced: boolean) => {
        if (isSynced) textAtSync.push(p.doc.getText('t').toJSON());
      });
      return p;
    });
    const r = raw('slow');
    await r.opened;
    r.send(encodeSyncStep1(EMPTY_SV));

    await waitFor(() => srv.connectionCount() === 6, { what: '6 connections' });
    await waitFor(() => clients.every((p) => p.wsconnected), { what: 'providers connected' });
    // The server has handled the raw client's step 1 once the pong for a later ping is back.
    await r.roundTrip();
    expect(gate.waiting).toBe(1);
    expect(store.calls.load).toEqual(['slow']);
    expect(srv.registry.get('slow')?.state).toBe('loading');
    expect(clients.filter((p) => p.synced)).toHaveLength(0);
    expect(r.messages).toHaveLength(0);

    store.release('load');
    await Promise.all(clients.map(synced));
    await waitFor(() => r.decoded().some((m) => m.type === 'sync-step2'), { what: 'raw step 2' });

    expect(textAtSync).toEqual(Array.from({ length: 5 }, () => 'seeded content'));
    for (const p of clients) {
      expect(p.doc.getText('t').toJSON()).toBe('seeded content');
      expect(p.doc.getMap('m').get('seeded')).toBe(true);
    }
    const decoded = r.decoded();
    expect(decoded[0]?.type).toBe('sync-step1');
    expect(docFromStep2(decoded)?.getText('t').toJSON()).toBe('seeded content');
    expect(store.calls.load).toEqual(['slow']);
  });

  it('a failed load closes every waiting client with 4503, leaves no trace and stores nothing', async () => {
    store = new GatedStore();
    await store.seed('broken', seedUpdate());
    const before = await store.log('broken');
    store.hold('load');
    store.fail('load');
    const srv = await start({ unloadDelayMs: 50 });

    const rs = [raw('broken'), raw('broken'), raw('broken')];
    await Promise.all(rs.map((r) => r.opened));
    // An edit sent while loading must not survive the failed load.
    const edit = new Y.Doc();
    edit.getText('t').insert(0, 'lost?');
    rs[0]?.sendAll([encodeSyncStep1(EMPTY_SV), encodeSyncUpdate(Y.encodeStateAsUpdate(edit))]);
    const providerCodes: number[] = [];
    const p = open('broken');
    p.on('connection-close', (event: { code: number } | null) => {
      if (event !== null) providerCodes.push(event.code);
      p.shouldConnect = false; // one attempt is enough here
    });
    await waitFor(() => srv.connectionCount() === 4 && store.calls.load.length === 1, { what: 'all waiting' });
    await rs[0]?.roundTrip();

    store.release('load');
    const closes = await Promise.all(rs.map((r) => r.closed));
    await waitFor(() => providerCodes.length === 1, { what: 'provider closed' });

    const expected = ERRORS.SKEIN_ERR_DOC_LOAD_FAILED.closeCode;
    expect(expected).toBe(CloseCode.DocumentLoadFailed);
    expect(closes.map((c) => c.code)).toEqual([expected, expected, expected]);
    expect(closes.map((c) => c.reason)).toEqual(['SKEIN_ERR_DOC_LOAD_FAILED', 'SKEIN_ERR_DOC_LOAD_FAILED', 'SKEIN_ERR_DOC_LOAD_FAILED']);
    expect(providerCodes).toEqual([expected]);
    expect(rs.every((r) => r.messages.length === 0)).toBe(true);
    expect(srv.registry.size).toBe(0);
    expect(srv.registry.pendingTimers).toBe(0);
    expect(store.calls.load).toEqual(['broken']);
    expect(store.calls.append).toEqual([]);
    expect(await store.log('broken')).toEqual(before);

    // The store recovers: the next client loads the real content.
    store.recover('load');
    const later = open('broken');
    await synced(later);
    expect(later.doc.getText('t').toJSON()).toBe('seeded content');
    expect(store.calls.append).toEqual([]);
  });

  it('a load slower than loadTimeoutMs closes clients with 4503 and leaves the registry empty', async () => {
    store = new GatedStore();
    await store.seed('stuck', seedUpdate());
    store.hold('load');
    const srv = await start({ loadTimeoutMs: 150 });
    const r = raw('stuck');
    const providerCodes: number[] = [];
    const p = open('stuck');
    p.on('connection-close', (event: { code: number } | null) => {
      if (event !== null) providerCodes.push(event.code);
      p.shouldConnect = false;
    });
    const closed = await r.closed;
    expect(closed.code).toBe(ERRORS.SKEIN_ERR_DOC_LOAD_TIMEOUT.closeCode);
    expect(closed.code).toBe(CloseCode.DocumentLoadFailed);
    expect(closed.reason).toBe('SKEIN_ERR_DOC_LOAD_TIMEOUT');
    await waitFor(() => providerCodes.length === 1, { what: 'provider closed' });
    expect(providerCodes).toEqual([CloseCode.DocumentLoadFailed]);
    expect(srv.registry.size).toBe(0);
    expect(srv.registry.pendingTimers).toBe(0);

    // The stale load finishing late changes nothing; the next client loads afresh.
    store.release('load');
    const later = open('stuck');
    await synced(later);
    expect(later.doc.getText('t').toJSON()).toBe('seeded content');
    expect(store.calls.append).toEqual([]);
  });

  it('unloads after the last client leaves and reloads the full content from the store', async () => {
    store = new GatedStore();
    const srv = await start({ unloadDelayMs: 50 });
    const a = open('cycle');
    const b = open('cycle');
    await Promise.all([synced(a), synced(b)]);
    for (let i = 0; i < 20; i++) (i % 2 === 0 ? a : b).doc.getMap('m').set(`k${i}`, i);
    a.doc.getText('t').insert(0, 'from a ');
    b.doc.getText('t').insert(0, 'from b ');
    await waitFor(() => sameState(a.doc, b.doc) && a.doc.getMap('m').size === 20, { what: 'a and b converge' });
    const expected = new Y.Doc();
    Y.applyUpdate(expected, Y.encodeStateAsUpdate(a.doc));
    leave(a);
    leave(b);

    await waitFor(() => srv.registry.size === 0, { what: 'unloaded' });
    expect(srv.registry.pendingTimers).toBe(0);
    expect(store.calls.flush).toContain('cycle');
    expect(store.calls.append.length).toBeGreaterThan(0);
    expect(sameState(await storedDoc(store, 'cycle'), expected)).toBe(true);

    const c = open('cycle');
    await synced(c);
    expect(sameState(c.doc, expected)).toBe(true);
    expect(store.calls.load).toEqual(['cycle', 'cycle']);
  });

  it('a client connecting while the document unloads waits, then gets every earlier edit, and its edits are stored', async () => {
    store = new GatedStore();
    const srv = await start({ unloadDelayMs: 50 });
    const a = open('race');
    await synced(a);
    for (let i = 0; i < 30; i++) a.doc.getArray('log').push([i]);
    a.doc.getText('t').insert(0, 'before the unload');
    await waitFor(() => srv.registry.get('race')?.doc.getArray('log').length === 30, { what: 'server has a edits' });
    await waitFor(() => store.calls.append.length > 0 && srv.registry.get('race')?.doc.getText('t').length === 17);
    const earlier = new Y.Doc();
    Y.applyUpdate(earlier, Y.encodeStateAsUpdate(a.doc));

    const flushGate = store.hold('flush');
    leave(a);
    await waitFor(() => srv.registry.get('race')?.state === 'unloading' && flushGate.waiting === 1, { what: 'unloading' });

    const b = open('race');
    const r = raw('race');
    await r.opened;
    r.send(encodeSyncStep1(EMPTY_SV));
    await waitFor(() => b.wsconnected && srv.connectionCount() === 2, { what: 'b connected' });
    await r.roundTrip();
    expect(b.synced).toBe(false);
    expect(r.messages).toHaveLength(0);
    expect(srv.registry.get('race')?.state).toBe('unloading');

    store.release('flush');
    await synced(b);
    expect(sameState(b.doc, earlier)).toBe(true);
    await waitFor(() => docFromStep2(r.decoded()) !== undefined, { what: 'raw step 2' });
    expect(sameContent(docFromStep2(r.decoded()) as Y.Doc, earlier)).toBe(true);
    expect(store.calls.load).toEqual(['race', 'race']);

    b.doc.getText('t').insert(0, 'after: ');
    b.doc.getArray('log').push(['b']);
    await waitFor(() => srv.registry.get('race')?.doc.getArray('log').length === 31, { what: 'server has b edits' });
    const final = new Y.Doc();
    Y.applyUpdate(final, Y.encodeStateAsUpdate(b.doc));
    leave(b);
    await r.dispose();
    await waitFor(() => srv.registry.size === 0, { what: 'unloaded again' });
    const stored = await storedDoc(store, 'race');
    expect(sameState(stored, final)).toBe(true);
    expect(stored.getText('t').toJSON()).toBe('after: before the unload');
    expect(stored.getArray('log').length).toBe(31);
  });

  it('edits sent while the document loads are applied after the load, in order, and stored', async () => {
    store = new GatedStore();
    const seeded = new Y.Doc();
    seeded.getText('seed').insert(0, 'seeded');
    await store.seed('early', Y.encodeStateAsUpdate(seeded));
    store.hold('load');
    const srv = await start({ unloadDelayMs: 50 });

    // Each update depends on the previous one (same client, appended text).
    const src = new Y.Doc();
    const updates: Uint8Array[] = [];
    src.on('update', (u: Uint8Array) => updates.push(u));
    const text = src.getText('t');
    for (const part of ['one ', 'two ', 'three ', 'four']) text.insert(text.length, part);
    expect(updates).toHaveLength(4);

    const r = raw('early');
    await r.opened;
    r.sendAll([encodeSyncStep1(EMPTY_SV), ...updates.map((u) => encodeSyncUpdate(u))]);
    await waitFor(() => srv.connectionCount() === 1 && store.calls.load.length === 1);
    await r.roundTrip();
    expect(r.messages).toHaveLength(0);
    expect(store.calls.append).toEqual([]);

    store.release('load');
    // The four edits are applied once the load is done, in one or more batches (a batch is
    // stored as one record): wait for the stored log to hold them, not for four appends.
    const storedText = async (): Promise<string> => {
      const d = new Y.Doc();
      for (const u of await store.log('early')) Y.applyUpdate(d, u);
      return d.getText('t').toJSON();
    };
    await waitFor(async () => (await storedText()) === 'one two three four', { what: 'the four edits stored' });
    const live = srv.registry.get('early')?.doc;
    expect(live?.getText('t').toJSON()).toBe('one two three four');
    expect(live?.getText('seed').toJSON()).toBe('seeded');

    // Stored in order: replaying the log never leaves anything pending.
    const log = await store.log('early');
    expect(store.calls.append.length).toBeGreaterThanOrEqual(1);
    expect(log).toHaveLength(1 + store.calls.append.length);
    const replay = new Y.Doc();
    for (const u of log) {
      Y.applyUpdate(replay, u);
      expect(replay.store.pendingStructs).toBeNull();
    }
    expect(replay.getText('t').toJSON()).toBe('one two three four');

    // The raw client got the server's step 1 first, then the answer to its own step 1 (both
    // were sent before the pong of this round trip).
    await r.roundTrip();
    expect(r.decoded().map((m) => m.type).slice(0, 2)).toEqual(['sync-step1', 'sync-step2']);
    const p = open('early');
    await synced(p);
    expect(p.doc.getText('t').toJSON()).toBe('one two three four');
    expect(p.doc.getText('seed').toJSON()).toBe('seeded');
  });

  it('a write failure keeps the document loaded and it is stored in full once the store recovers', async () => {
    store = new GatedStore();
    const srv = await start({ unloadDelayMs: 50 });
    const a = open('dirty');
    await synced(a);
    a.doc.getMap('m').set('ok', 'stored normally');
    await waitFor(() => store.calls.append.length === 1, { what: 'first append' });

    store.fail('append');
    for (let i = 0; i < 5; i++) a.doc.getText('t').insert(i, `${i}`);
    // The five edits may reach the server in one turn and be written as one batch: wait for
    // the server to hold them all (each write is issued, and its failure decided, as the edit
    // is applied), not for one failure per edit.
    await waitFor(() => srv.registry.get('dirty')?.doc?.getText('t').toJSON() === '01234', { what: 'edits applied' });
    expect(store.failed.append).toBeGreaterThanOrEqual(1);
    const failedEdits = store.failed.append;
    const expected = new Y.Doc();
    Y.applyUpdate(expected, Y.encodeStateAsUpdate(a.doc));
    leave(a);

    // The unload cannot write the full state: the document stays in memory.
    await waitFor(() => store.failed.append > failedEdits && srv.registry.get('dirty')?.state === 'idle', {
      what: 'a failed unload attempt',
    });
    expect(srv.registry.size).toBe(1);
    expect(sameState(await storedDoc(store, 'dirty'), expected)).toBe(false);

    // Meanwhile a client still gets everything, from memory.
    const b = open('dirty');
    await synced(b);
    expect(sameState(b.doc, expected)).toBe(true);
    leave(b);

    store.recover('append');
    await waitFor(() => srv.registry.size === 0, { what: 'unloaded after recovery' });
    expect(sameState(await storedDoc(store, 'dirty'), expected)).toBe(true);
  });
});
