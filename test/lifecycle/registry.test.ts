import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { decodeMessage } from '@skein/protocol';
import { DocumentRegistry, JOIN_TAIL_BYTES, JOIN_TAIL_MAX, joinTailRoom, silentLogger, type DocumentHandle } from '@skein/server';
import { GatedStore } from '../helpers/stores.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { fakePeer } from '../helpers/fake-peer.js';
import { waitFor } from '../helpers/wait.js';


function textUpdate(text: string, key = 't'): Uint8Array {
  const doc = new Y.Doc();
  doc.getText(key).insert(0, text);
  return Y.encodeStateAsUpdate(doc);
}

async function storedDoc(store: GatedStore, name: string): Promise<Y.Doc> {
  const doc = new Y.Doc();
  for (const u of await store.log(name)) Y.applyUpdate(doc, u);
  return doc;
}

/** Settles to the rejection's `code` (or 'resolved'), for asserting on codes. */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return (err as { code?: string }).code ?? 'no code';
  }
}

describe('DocumentRegistry', () => {
  let store: GatedStore;
  let clock: ManualClock;
  let registry: DocumentRegistry | undefined;
  const make = (opts: { unloadDelayMs?: number; loadTimeoutMs?: number; maxUnloadRetryMs?: number } = {}): DocumentRegistry => {
    store = new GatedStore();
    clock = new ManualClock();
    registry = new DocumentRegistry({
      clock,
      store,
      logger: silentLogger(),
      unloadDelayMs: opts.unloadDelayMs ?? 20,
      loadTimeoutMs: opts.loadTimeoutMs ?? 5_000,
      maxUnloadRetryMs: opts.maxUnloadRetryMs ?? 50,
    });
    return registry;
  };

  afterEach(async () => {
    store.releaseAll();
    store.recover('load');
    store.recover('append');
    store.recover('flush');
    await registry?.close();
    registry = undefined;
  });

  it('walks loading → active → idle → unloading → closed', async () => {
    const reg = make();
    const gate = store.hold('load');
    const peer = fakePeer();
    const opening = reg.open('d', peer);
    expect(reg.get('d')?.state).toBe('loading');
    await waitFor(() => gate.waiting === 1, { what: 'load started' });
    store.release('load');
    const handle = await opening;
    expect(handle.state).toBe('active');
    expect(handle.peerCount).toBe(1);

    const flushGate = store.hold('flush');
    reg.leave(handle, peer);
    expect(handle.state).toBe('idle');
    expect(reg.pendingTimers).toBe(1);
    clock.advance(19);
    expect(handle.state).toBe('idle');
    clock.advance(1);
    expect(handle.state).toBe('unloading');
    await waitFor(() => flushGate.waiting === 1, { what: 'flush started' });
    expect(reg.pendingTimers).toBe(0);
    expect(reg.size).toBe(1);
    store.release('flush');
    await waitFor(() => handle.state === 'closed', { what: 'closed' });
    expect(reg.size).toBe(0);
    expect(reg.get('d')).toBeUndefined();
    expect(store.calls.flush).toEqual(['d']);
  });

  it('loads once for concurrent opens and hands every peer the same handle', async () => {
    const reg = make();
    await store.seed('d', textUpdate('seeded'));
    store.hold('load');
    const peers = [fakePeer(), fakePeer(), fakePeer()];
    const openings = peers.map((p) => reg.open('d', p));
    await waitFor(() => store.calls.load.length === 1);
    store.release('load');
    const handles = await Promise.all(openings);
    expect(new Set(handles).size).toBe(1);
    expect(store.calls.load).toEqual(['d']);
    expect(handles[0]?.peerCount).toBe(3);
    expect(handles[0]?.doc.getText('t').toJSON()).toBe('seeded');
  });

  it('a peer re-attaching to an idle document cancels the unload', async () => {
    const reg = make({ unloadDelayMs: 60_000 });
    const a = fakePeer();
    const handle = await reg.open('d', a);
    reg.leave(handle, a);
    expect(handle.state).toBe('idle');
    expect(reg.pendingTimers).toBe(1);
    const b = fakePeer();
    expect(await reg.open('d', b)).toBe(handle);
    expect(handle.state).toBe('active');
    expect(reg.pendingTimers).toBe(0);
  });

  it('schedules the unload when every peer left while the document was loading', async () => {
    const reg = make();
    store.hold('load');
    const peer = fakePeer();
    const opening = reg.open('d', peer);
    const handle = reg.get('d') as DocumentHandle;
    reg.leave(handle, peer);
    expect(handle.state).toBe('loading');
    store.release('load');
    await opening;
    expect(reg.pendingTimers).toBe(1);
    clock.advance(20);
    await waitFor(() => reg.size === 0, { what: 'unloaded' });
    expect(handle.state).toBe('closed');
    expect(reg.pendingTimers).toBe(0);
  });

  it('a failed load rejects every waiter with SKEIN_ERR_DOC_LOAD_FAILED and leaves no trace', async () => {
    const reg = make();
    store.hold('load');
    store.fail('load');
    const openings = [reg.open('d', fakePeer()), reg.open('d', fakePeer())];
    const handle = reg.get('d') as DocumentHandle;
    await waitFor(() => store.calls.load.length === 1);
    store.release('load');
    expect(await Promise.all(openings.map(outcome))).toEqual(['SKEIN_ERR_DOC_LOAD_FAILED', 'SKEIN_ERR_DOC_LOAD_FAILED']);
    expect(handle.state).toBe('closed');
    expect(reg.size).toBe(0);
    expect(reg.pendingTimers).toBe(0);
    expect(store.calls.append).toEqual([]);
  });

  it('a load slower than loadTimeoutMs rejects with SKEIN_ERR_DOC_LOAD_TIMEOUT', async () => {
    const reg = make({ loadTimeoutMs: 50 });
    store.hold('load');
    const timedOut = outcome(reg.open('d', fakePeer()));
    clock.advance(50);
    expect(await timedOut).toBe('SKEIN_ERR_DOC_LOAD_TIMEOUT');
    expect(reg.size).toBe(0);
    // The stale load finishing later changes nothing; a new open loads afresh.
    store.release('load');
    const handle = await reg.open('d', fakePeer());
    expect(handle.state).toBe('active');
    expect(store.calls.load).toEqual(['d', 'd']);
  });

  it('an open during an unload waits for it, then loads afresh from storage', async () => {
    const reg = make();
    const a = fakePeer();
    const first = await reg.open('d', a);
    await first.submit(textUpdate('kept'), { source: 'client', peer: a });
    const flushGate = store.hold('flush');
    reg.leave(first, a);
    clock.advance(20);
    await waitFor(() => first.state === 'unloading' && flushGate.waiting === 1, { what: 'unloading' });
    let settled = false;
    const opening = reg.open('d', fakePeer()).finally(() => (settled = true));
    // The open must wait for the unload's flush; prove it is still waiting after a round of I/O.
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    store.release('flush');
    const second = await opening;
    expect(second).not.toBe(first);
    expect(first.state).toBe('closed');
    expect(second.doc.getText('t').toJSON()).toBe('kept');
    expect(store.calls.load).toEqual(['d', 'd']);
  });

  it('an open during an unload whose flush fails attaches to the document still in memory', async () => {
    const reg = make({ maxUnloadRetryMs: 60_000 });
    const a = fakePeer();
    const handle = await reg.open('d', a);
    const flushGate = store.hold('flush');
    store.fail('flush');
    reg.leave(handle, a);
    clock.advance(20);
    await waitFor(() => handle.state === 'unloading' && flushGate.waiting === 1, { what: 'unloading' });
    const opening = reg.open('d', fakePeer());
    store.release('flush');
    // The unload fails and the document stays loaded: the waiting open gets it (it must not
    // hang until the store recovers).
    expect(await opening).toBe(handle);
    expect(handle.state).toBe('active');
    expect(store.calls.load).toEqual(['d']);
  });

  it('fans a client update out to the other peers only', async () => {
    const reg = make();
    const a = fakePeer();
    const b = fakePeer();
    const handle = await reg.open('d', a);
    await reg.open('d', b);
    await handle.submit(textUpdate('x'), { source: 'client', peer: a });
    // The fan-out leaves at the end of the turn (coalesced, fan-out.ts).
    await waitFor(() => b.sent.length > 0, { what: 'fan-out' });
    expect(a.sent).toEqual([]);
    expect(b.sent.map((m) => decodeMessage(m).type)).toEqual(['sync-update']);
  });

  it('after a failed write the document is stored in full before it unloads', async () => {
    const reg = make();
    const a = fakePeer();
    const handle = await reg.open('d', a);
    store.fail('append', 1);
    expect(await outcome(handle.submit(textUpdate('one', 'a'), { source: 'client', peer: a }))).toBe('SKEIN_ERR_STORAGE_WRITE');
    reg.leave(handle, a);
    clock.advance(20);
    await waitFor(() => reg.size === 0, { what: 'unloaded' });
    const stored = await storedDoc(store, 'd');
    expect(stored.getText('a').toJSON()).toBe('one');
  });

  it('joiners with an empty state vector share one encoding of the full state until the next change', async () => {
    const reg = make();
    const a = fakePeer();
    const handle = await reg.open('d', a);
    await handle.submit(textUpdate('one', 'a'), { source: 'client', peer: a });
    const empty = Y.encodeStateVector(new Y.Doc());
    const replies = Array.from({ length: 100 }, () => handle.diffFor(empty));
    expect(handle.fullStateEncodes).toBe(1);
    expect(new Set(replies).size).toBe(1);
    await handle.submit(textUpdate('two', 'b'), { source: 'client', peer: a });
    const after = new Y.Doc();
    Y.applyUpdate(after, handle.diffFor(empty));
    expect(handle.fullStateEncodes).toBe(2);
    expect([after.getText('a').toJSON(), after.getText('b').toJSON()]).toEqual(['one', 'two']);
  });

  it('joiners of a document edited between joins get the cached state and the changes since: one encode per JOIN_TAIL_MAX changes, not one each', async () => {
    const reg = make();
    const a = fakePeer();
    const handle = await reg.open('d', a);
    await handle.submit(textUpdate('base', 'base'), { source: 'client', peer: a });
    const empty = Y.encodeStateVector(new Y.Doc());
    const writer = new Y.Doc();
    const joiners = 3 * JOIN_TAIL_MAX;
    for (let i = 0; i < joiners; i++) {
      const parts = handle.joinFor(empty);
      // What the joiner applies, in order, is the document as it is now.
      const joined = new Y.Doc();
      for (const part of parts) Y.applyUpdate(joined, part);
      expect(joined.getText('base').toJSON()).toBe('base');
      expect(joined.getArray('n').toArray()).toEqual(writer.getArray('n').toArray());
      // An edit between two joins.
      const before = Y.encodeStateVector(writer);
      writer.getArray('n').push([i]);
      await handle.submit(Y.encodeStateAsUpdate(writer, before), { source: 'client', peer: a });
    }
    // The state is encoded again only once a tail is full (after JOIN_TAIL_MAX changes).
    expect(handle.fullStateEncodes).toBeLessThanOrEqual(Math.ceil(joiners / JOIN_TAIL_MAX) + 1);
    expect(handle.joinFor(empty).length).toBeGreaterThan(1);
    // Whoever needs the state as one exact update (diffFor, a full write, sleep) gets it encoded again.
    const encodes = handle.fullStateEncodes;
    const exact = new Y.Doc();
    Y.applyUpdate(exact, handle.diffFor(empty));
    expect(exact.getArray('n').length).toBe(joiners);
    expect(handle.fullStateEncodes).toBe(encodes + 1);
    expect(handle.joinFor(empty)).toHaveLength(1);
  });

  it('the changes kept for joiners are bounded in bytes: a large change drops the cached state', async () => {
    const reg = make();
    const a = fakePeer();
    const handle = await reg.open('d', a);
    await handle.submit(textUpdate('small'), { source: 'client', peer: a });
    const empty = Y.encodeStateVector(new Y.Doc());
    expect(handle.joinFor(empty)).toHaveLength(1);
    const encodes = handle.fullStateEncodes;
    await handle.submit(textUpdate('x'.repeat(JOIN_TAIL_BYTES + 1), 'big'), { source: 'client', peer: a });
    const parts = handle.joinFor(empty);
    expect(parts).toHaveLength(1);
    expect(handle.fullStateEncodes).toBe(encodes + 1);
    const joined = new Y.Doc();
    Y.applyUpdate(joined, parts[0] as Uint8Array);
    expect(joined.getText('big').length).toBe(JOIN_TAIL_BYTES + 1);
  });

  it('the bound on the changes kept for joiners: 64 KiB, the size of the state up to 1 MiB, then a quarter of the state', () => {
    const KiB = 1024;
    const MiB = 1024 * KiB;
    expect(joinTailRoom(0)).toBe(JOIN_TAIL_BYTES);
    expect(joinTailRoom(50 * KiB)).toBe(64 * KiB);
    expect(joinTailRoom(500 * KiB)).toBe(500 * KiB);
    expect(joinTailRoom(2 * MiB)).toBe(MiB);
    expect(joinTailRoom(4 * MiB)).toBe(MiB);
    expect(joinTailRoom(20 * MiB)).toBe(5 * MiB);
  });

  it('a large document keeps its cached state for joiners through a change of over 1 MiB (no encode of the whole state), until a quarter of it has changed', async () => {
    const reg = make();
    const a = fakePeer();
    const handle = await reg.open('d', a);
    const MiB = 1024 * 1024;
    const big = Math.round(1.1 * MiB);
    const more = Math.round(0.3 * MiB);
    await handle.submit(textUpdate('s'.repeat(5 * MiB), 'state'), { source: 'client', peer: a });
    const empty = Y.encodeStateVector(new Y.Doc());
    expect(handle.joinFor(empty)).toHaveLength(1);
    const encodes = handle.fullStateEncodes;
    // 1.1 MiB changed: within a quarter of the ~5 MiB state (the bound was 1 MiB before).
    await handle.submit(textUpdate('x'.repeat(big), 'big'), { source: 'client', peer: a });
    const parts = handle.joinFor(empty);
    expect(parts).toHaveLength(2);
    expect(handle.fullStateEncodes).toBe(encodes);
    const joined = new Y.Doc();
    for (const part of parts) Y.applyUpdate(joined, part);
    expect(joined.getText('state').length).toBe(5 * MiB);
    expect(joined.getText('big').length).toBe(big);
    // Past a quarter of the state, the next joiner gets it encoded again, as one update.
    await handle.submit(textUpdate('y'.repeat(more), 'more'), { source: 'client', peer: a });
    const again = handle.joinFor(empty);
    expect(again).toHaveLength(1);
    expect(handle.fullStateEncodes).toBe(encodes + 1);
    const exact = new Y.Doc();
    Y.applyUpdate(exact, again[0] as Uint8Array);
    expect([exact.getText('big').length, exact.getText('more').length]).toEqual([big, more]);
  });

  it('open after close rejects with SKEIN_ERR_SHUTTING_DOWN', async () => {
    const reg = make();
    await reg.open('d', fakePeer());
    expect(await reg.close()).toEqual([]);
    expect(await outcome(reg.open('d', fakePeer()))).toBe('SKEIN_ERR_SHUTTING_DOWN');
    expect(await outcome(reg.open('other', fakePeer()))).toBe('SKEIN_ERR_SHUTTING_DOWN');
  });

  it('close() flushes every document and unloads it', async () => {
    const reg = make({ unloadDelayMs: 60_000 });
    const a = fakePeer();
    const h1 = await reg.open('one', a);
    const h2 = await reg.open('two', fakePeer());
    reg.leave(h1, a);
    expect(reg.pendingTimers).toBe(1);
    expect(await reg.close()).toEqual([]);
    expect([...store.calls.flush].sort()).toEqual(['one', 'two']);
    expect(h1.state).toBe('closed');
    expect(h2.state).toBe('closed');
    expect(reg.size).toBe(0);
    expect(reg.pendingTimers).toBe(0);
    expect(clock.active).toBe(0);
  });

  it('close() returns the names it could not flush when the store fails', async () => {
    const reg = make();
    await reg.open('one', fakePeer());
    await reg.open('two', fakePeer());
    await reg.open('fine', fakePeer());
    store.fail('flush', 2);
    expect((await reg.close()).length).toBe(2);
    expect(store.failed.flush).toBe(2);
    expect(reg.size).toBe(0);
  });

  it('close() during an unload whose flush fails does not hang and reports the document', async () => {
    const reg = make();
    const a = fakePeer();
    const handle = await reg.open('d', a);
    const flushGate = store.hold('flush');
    store.fail('flush');
    reg.leave(handle, a);
    clock.advance(20);
    await waitFor(() => handle.state === 'unloading' && flushGate.waiting === 1, { what: 'unloading' });
    const closing = reg.close();
    store.release('flush');
    expect(await closing).toEqual(['d']);
    expect(reg.size).toBe(0);
    expect(reg.pendingTimers).toBe(0);
  });
});
