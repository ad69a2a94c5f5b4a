import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness';
import { decodeMessage } from '@skein/protocol';
import { DocumentRegistry, silentLogger, type DocumentHandle } from '@skein/server';
import { GatedStore } from '../helpers/stores.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { fakePeer, type FakePeer } from '../helpers/fake-peer.js';

/** Coalesced fan-out (server/src/documents/fan-out.ts), on manual event-loop turns. */

/** A writer with its own Y.Doc: each call is one small update (a map entry). */
function writer(clientID: number): (key: string) => Uint8Array {
  const doc = new Y.Doc();
  doc.clientID = clientID;
  return (key) => {
    const before = Y.encodeStateVector(doc);
    doc.getMap('m').set(key, clientID);
    return Y.encodeStateAsUpdate(doc, before);
  };
}

/** A client's awareness: each `update(x)` moves its cursor to x and encodes the change. */
function clientAwareness(id: number): { aw: Awareness; update: (x: number) => Uint8Array } {
  const doc = new Y.Doc();
  doc.clientID = id;
  const aw = new Awareness(doc);
  return { aw, update: (x) => (aw.setLocalStateField('cursor', x), encodeAwarenessUpdate(aw, [id])) };
}

/** The cursors of every awareness message a peer received, in order: one array per message. */
/** `name` opened by peer a, with peers b and reader attached too. */
async function openWithPeers(reg: DocumentRegistry, name: string): Promise<{ handle: DocumentHandle; a: FakePeer; b: FakePeer; reader: FakePeer }> {
  const [a, b, reader] = [fakePeer(), fakePeer(), fakePeer()];
  const handle = await reg.open(name, a);
  handle.attach(b);
  handle.attach(reader);
  return { handle, a, b, reader };
}

function cursors(peer: FakePeer): Array<Array<[number, unknown]>> {
  const out: Array<Array<[number, unknown]>> = [];
  for (const m of peer.sent) {
    const msg = decodeMessage(m);
    if (msg.type !== 'awareness') continue;
    const seen = new Awareness(new Y.Doc());
    applyAwarenessUpdate(seen, msg.update, null);
    out.push([...seen.getStates()].filter(([id]) => id !== seen.clientID).map(([id, st]) => [id, (st as { cursor?: unknown }).cursor]));
  }
  return out;
}

/** The sync updates a peer received, applied to a fresh doc. */
function received(peer: FakePeer): { frames: number; doc: Y.Doc } {
  const doc = new Y.Doc();
  let frames = 0;
  for (const m of peer.sent) {
    const msg = decodeMessage(m);
    if (msg.type === 'sync-update') {
      frames++;
      Y.applyUpdate(doc, msg.update);
    }
  }
  return { frames, doc };
}

describe('coalesced fan-out', () => {
  let registry: DocumentRegistry | undefined;
  const make = (fanOutWindowMs = 0, presenceIntervalMs = 0): { reg: DocumentRegistry; clock: ManualClock } => {
    const clock = new ManualClock(undefined, { manualTurns: true });
    registry = new DocumentRegistry({ clock, store: new GatedStore(), logger: silentLogger(), unloadDelayMs: 1_000, loadTimeoutMs: 5_000, fanOutWindowMs, presenceIntervalMs });
    return { reg: registry, clock };
  };

  afterEach(async () => {
    await registry?.close();
    registry = undefined;
  });

  it('a change to a quiet document goes out at once; the rest of its turn, from several writers, reach each reader as one message; a sole sender gets none back', async () => {
    const { reg, clock } = make();
    const { handle, a, b, reader } = await openWithPeers(reg, 'd');
    const wa = writer(101);
    const wb = writer(202);
    const acks = [
      handle.submit(wa('a1'), { source: 'client', peer: a }),
      handle.submit(wb('b1'), { source: 'client', peer: b }),
      handle.submit(wa('a2'), { source: 'client', peer: a }),
    ];
    // Nothing was waiting: the first change left at once, to everyone but its sender; the
    // others wait for the end of the turn.
    expect(received(reader).frames).toBe(1);
    expect(received(reader).doc.getMap('m').toJSON()).toEqual({ a1: 101 });
    expect(received(b).frames).toBe(1);
    expect(received(a).frames).toBe(0);
    clock.turn();
    const got = received(reader);
    expect(got.frames).toBe(2);
    expect(got.doc.getMap('m').toJSON()).toEqual({ a1: 101, a2: 101, b1: 202 });
    // Each writer gets the group (its own part is ignored by Yjs) and so learns the other's change.
    expect(received(a).frames).toBe(1);
    expect(received(a).doc.getMap('m').toJSON()).toEqual({ b1: 202 });
    expect(received(b).doc.getMap('m').toJSON()).toEqual({ a1: 101, a2: 101, b1: 202 });
    // Every submit keeps its own ack.
    await Promise.all(acks);

    // The group sent something, so the next one is open: a steady stream stays coalesced.
    // One writer alone in a turn: the others get its changes as one message, the writer nothing.
    const before = a.sent.length;
    void handle.submit(wa('a3'), { source: 'client', peer: a });
    void handle.submit(wa('a4'), { source: 'client', peer: a });
    expect(received(reader).frames).toBe(2);
    clock.turn();
    expect(a.sent.length).toBe(before);
    expect(received(reader).frames).toBe(3);
    expect(received(reader).doc.getMap('m').toJSON()).toEqual({ a1: 101, a2: 101, a3: 101, a4: 101, b1: 202 });

    // A turn without a change closes the group: the next change goes out at once again.
    clock.turn();
    void handle.submit(wb('b2'), { source: 'client', peer: b });
    expect(received(reader).frames).toBe(4);
    expect(received(a).doc.getMap('m').toJSON()).toEqual({ b1: 202, b2: 202 });
    expect(clock.deferred).toBe(1);
  });

  it('with a window: a change to a quiet document goes at once, the changes within the window after it together at its end (manual time)', async () => {
    const { reg, clock } = make(5);
    const [a, reader] = [fakePeer(), fakePeer()];
    const handle = await reg.open('w', a);
    handle.attach(reader);
    const wa = writer(7);
    void handle.submit(wa('x'), { source: 'client', peer: a });
    expect(received(reader).frames).toBe(1);
    clock.turn();
    clock.advance(4);
    void handle.submit(wa('y'), { source: 'local' });
    void handle.submit(wa('z'), { source: 'client', peer: a });
    expect(received(reader).frames).toBe(1);
    clock.advance(1);
    expect(received(reader).frames).toBe(2);
    expect(received(reader).doc.getMap('m').toJSON()).toEqual({ x: 7, y: 7, z: 7 });
    // That window sent something, so the next is open: a change within it waits for its end.
    void handle.submit(wa('v'), { source: 'local' });
    clock.advance(4);
    expect(received(reader).frames).toBe(2);
    clock.advance(1);
    expect(received(reader).frames).toBe(3);
    // A window without a change closes: the next change goes at once.
    clock.advance(5);
    void handle.submit(wa('u'), { source: 'local' });
    expect(received(reader).frames).toBe(4);
    expect(received(reader).doc.getMap('m').toJSON()).toEqual({ u: 7, v: 7, x: 7, y: 7, z: 7 });
  });

  it('a joiner answered while changes wait still converges (its sync includes them)', async () => {
    const { reg, clock } = make();
    const a = fakePeer();
    const handle = await reg.open('j', a);
    void handle.submit(writer(9)('k'), { source: 'client', peer: a });
    const joiner = fakePeer();
    handle.attach(joiner);
    const state = new Y.Doc();
    Y.applyUpdate(state, handle.diffFor(Uint8Array.of(0)));
    clock.turn();
    for (const m of joiner.sent) {
      const msg = decodeMessage(m);
      if (msg.type === 'sync-update') Y.applyUpdate(state, msg.update);
    }
    expect(state.getMap('m').toJSON()).toEqual({ k: 9 });
  });
  it('presence: awareness changes of one turn go to every peer as one message, latest state per client, after the turn\'s document changes', async () => {
    const { reg, clock } = make();
    const { handle, a, b, reader } = await openWithPeers(reg, 'p');
    // Two clients' awareness, each changing twice within one turn, plus a document change.
    const ca = clientAwareness(301);
    const cb = clientAwareness(302);
    handle.applyClientAwareness(ca.update(1), a);
    void handle.submit(writer(101)('k'), { source: 'client', peer: a });
    handle.applyClientAwareness(cb.update(1), b);
    handle.applyClientAwareness(ca.update(2), a);
    handle.applyClientAwareness(cb.update(2), b);
    for (const p of [a, b, reader]) expect(p.sent).toHaveLength(0); // nothing before the turn ends
    clock.turn();
    const kinds = (p: FakePeer): string[] => p.sent.map((m) => decodeMessage(m).type);
    // The reader: the document change first, then one awareness message; the writer a gets only the awareness.
    expect(kinds(reader)).toEqual(['sync-update', 'awareness']);
    expect(kinds(b)).toEqual(['sync-update', 'awareness']);
    expect(kinds(a)).toEqual(['awareness']);
    // Each peer's one awareness message holds both clients' latest states.
    for (const p of [a, b, reader]) {
      const msg = decodeMessage(p.sent.at(-1) as Uint8Array);
      if (msg.type !== 'awareness') throw new Error('expected awareness');
      const seen = new Awareness(new Y.Doc());
      applyAwarenessUpdate(seen, msg.update, null);
      expect(seen.getStates().get(301)).toEqual({ cursor: 2 });
      expect(seen.getStates().get(302)).toEqual({ cursor: 2 });
    }
  });

  it('presence is paced: after a quiet interval a change goes at the end of its turn; within the interval changes wait for its end and go as one message', async () => {
    const { reg, clock } = make(0, 50);
    const { handle, a, b, reader } = await openWithPeers(reg, 'paced');
    const ca = clientAwareness(401);
    const cb = clientAwareness(402);
    // Quiet before: the first change goes with its turn (no added latency at low rates).
    handle.applyClientAwareness(ca.update(1), a);
    clock.turn();
    expect(cursors(reader)).toEqual([[[401, 1]]]);
    // Within 50 ms of that message: ten changes of two clients over 40 ms, each in its own turn.
    for (let i = 2; i <= 11; i++) {
      clock.advance(4);
      handle.applyClientAwareness(i % 2 === 0 ? ca.update(i) : cb.update(i), i % 2 === 0 ? a : b);
      clock.turn();
    }
    expect(cursors(reader)).toHaveLength(1);
    // A document change in the meantime is not held back by presence.
    void handle.submit(writer(101)('k'), { source: 'client', peer: a });
    clock.turn();
    expect(reader.sent.map((m) => decodeMessage(m).type)).toEqual(['awareness', 'sync-update']);
    // The interval ends 50 ms after the first message: one message, each client's latest state.
    clock.advance(9);
    expect(cursors(reader)).toHaveLength(1);
    clock.advance(1);
    expect(cursors(reader)).toEqual([[[401, 1]], [[401, 10], [402, 11]]]);
    expect(cursors(a)).toEqual(cursors(reader));
    // Quiet again for a full interval: the next change goes with its turn.
    clock.advance(50);
    handle.applyClientAwareness(cb.update(12), b);
    clock.turn();
    expect(cursors(reader)).toHaveLength(3);
    expect(cursors(reader)[2]).toEqual([[402, 12]]);
  });

  it('presence waiting for its interval goes at once when the document is released (shutdown with peers attached)', async () => {
    const { reg, clock } = make(0, 1_000);
    const [a, reader] = [fakePeer(), fakePeer()];
    const handle = await reg.open('paced-release', a);
    handle.attach(reader);
    const ca = clientAwareness(501);
    handle.applyClientAwareness(ca.update(1), a);
    clock.turn();
    handle.applyClientAwareness(ca.update(2), a);
    clock.turn();
    expect(cursors(reader)).toEqual([[[501, 1]]]);
    await reg.close();
    registry = undefined;
    expect(cursors(reader)).toEqual([[[501, 1]], [[501, 2]]]);
  });
});
