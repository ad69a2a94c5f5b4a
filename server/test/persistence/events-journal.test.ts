import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { openLevelStore, type LogStore } from '../../src/persistence/log-store.js';
import { MemoryKv } from '../../src/persistence/memory-kv.js';
import { Space, eventKey } from '../../src/persistence/key-layout.js';
import type { EventJournal } from '../../src/documents/events.js';
import { CrashableKv } from './crashable-kv.js';
import { logger, settle, tempDir } from './helpers.js';

function update(text: string, client = 1): Uint8Array {
  const doc = new Y.Doc();
  doc.clientID = client;
  doc.getText('t').insert(0, text);
  return Y.encodeStateAsUpdate(doc);
}

function journalOf(store: LogStore): EventJournal {
  const journal = store.events;
  if (journal === undefined) throw new Error('the store journals no events');
  return journal;
}

describe('document-event journal of the LogStore', () => {
  it('writes the change mark and document.created in the same batch as the update (nothing without its event)', async () => {
    const kv = new CrashableKv(new MemoryKv());
    kv.auto = true;
    const store = await openLevelStore({ kv, logger, events: true });
    kv.auto = false;
    const appended = store.append('doc', update('a'), { change: { user: 'alice' } });
    await settle();
    expect(kv.inflight).toHaveLength(1);
    const spaces = new Set(kv.inflight[0]?.ops.map((op) => op.key[0]));
    // Update (03), metadata (02), name index (01), change mark (08), document.created (09): one batch.
    expect([...spaces].sort()).toEqual([Space.Name, Space.Meta, Space.Doc, Space.Mark, Space.Event].sort());
    expect(kv.inflight[0]?.sync).toBe(true);
    kv.complete(0);
    await appended;
    // Power loss right after the acknowledgement: the event and the mark are there on reopen.
    const survivor = new CrashableKv(kv.crash({ landed: () => false, journalKept: 0 }));
    survivor.auto = true;
    const reopened = await openLevelStore({ kv: survivor, logger, events: true });
    const journal = journalOf(reopened);
    expect(journal.size).toBe(1);
    const [created] = await journal.peek(10);
    expect(created?.event).toEqual({ type: 'document.created', name: 'doc' });
    expect(await journal.pendingChanges()).toEqual([expect.objectContaining({ name: 'doc' })]);
    await reopened.close();
  });

  it('a batch lost in a crash takes its mark with it; a landed one keeps both (all or nothing)', async () => {
    for (const landed of [false, true]) {
      const kv = new CrashableKv(new MemoryKv());
      kv.auto = true;
      const store = await openLevelStore({ kv, logger, events: true });
      kv.auto = false;
      void store.append('d', update('x'), { change: { user: 'u' } }).catch(() => undefined);
      await settle();
      const survivor = new CrashableKv(kv.crash({ landed: () => landed, journalKept: 0 }));
      survivor.auto = true;
      const reopened = await openLevelStore({ kv: survivor, logger, events: true });
      const stored = (await reopened.load('d')).length > 0;
      expect(stored).toBe(landed);
      expect((await journalOf(reopened).pendingChanges()).length > 0).toBe(landed);
      expect(journalOf(reopened).size).toBe(landed ? 1 : 0);
      await reopened.close();
    }
  });

  it('seals marks into one document.changed (merged users, stored state vector and size) and continues seqs after reopen', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      let store = await openLevelStore({ dir, logger, events: true });
      await store.append('n', update('a', 1), { change: { user: 'bob' } });
      await store.append('n', update('b', 2), { change: { user: 'alice' } });
      await store.append('n', update('c', 3), { change: { user: 'bob' } });
      await store.append('n', update('z', 4)); // another node's change: no mark, no user
      await store.close();
      store = await openLevelStore({ dir, logger, events: true });
      const journal = journalOf(store);
      expect(await journal.pendingChanges()).toHaveLength(1);
      const sealed = await journal.seal('n');
      expect(sealed?.event).toMatchObject({ type: 'document.changed', name: 'n', users: ['alice', 'bob'] });
      const doc = new Y.Doc();
      for (const u of await store.load('n')) Y.applyUpdate(doc, u);
      if (sealed?.event.type !== 'document.changed') throw new Error('not a changed event');
      expect(Buffer.from(sealed.event.stateVector, 'base64')).toEqual(Buffer.from(Y.encodeStateVector(doc)));
      expect(sealed.event.size).toBeGreaterThan(0);
      expect(await journal.pendingChanges()).toEqual([]);
      expect(await journal.seal('n')).toBeUndefined();
      const events = await journal.peek(10);
      expect(events.map((e) => e.event.type)).toEqual(['document.created', 'document.changed']);
      expect(events[1]?.seq).toBeGreaterThan(events[0]?.seq ?? Infinity);
      const ids = new Set(events.map((e) => e.id));
      await store.close();
      // Reopen: the same ids (stable), the next seq above the last.
      store = await openLevelStore({ dir, logger, events: true });
      const again = await journalOf(store).peek(10);
      expect(new Set(again.map((e) => e.id))).toEqual(ids);
      const next = await journalOf(store).record({ type: 'document.deleted', name: 'n' });
      expect(next.seq).toBeGreaterThan(Math.max(...again.map((e) => e.seq)));
      await store.close();
    } finally {
      await cleanup();
    }
  });

  it('settles progress, dead-letters and revives with the same id; quarantines a damaged event record', async () => {
    const kv = new MemoryKv();
    const store = await openLevelStore({ kv, logger, events: true });
    const journal = journalOf(store);
    const a = await journal.record({ type: 'version.created', name: 'v', version: '1' });
    const b = await journal.record({ type: 'document.deleted', name: 'gone' });
    await journal.settle(a, { done: ['http://x/'], finished: false });
    expect((await journal.peek(10))[0]?.done).toEqual(['http://x/']);
    await journal.settle(a, { done: ['http://x/', 'http://y/'], finished: true, deadLetter: { target: 'http://y/', attempts: 3, error: 'http 500', deadAt: 5 } });
    expect(journal.size).toBe(1);
    expect(journal.deadLetterCount).toBe(1);
    const [letter] = await journal.deadLetters(10);
    expect(letter).toMatchObject({ target: 'http://y/', attempts: 3, event: { id: a.id, event: { type: 'version.created' } } });
    expect(await journal.revive([999])).toBe(0);
    expect(await journal.revive(letter === undefined ? [] : [letter.id])).toBe(1);
    const revived = (await journal.peek(10)).find((e) => e.id === a.id);
    expect(revived).toMatchObject({ targets: ['http://y/'], done: [] });
    expect(journal.deadLetterCount).toBe(0);
    // Damage b's record: peek quarantines it instead of failing.
    const key = eventKey(Space.Event, b.seq);
    const raw = await kv.get(key);
    if (raw === undefined) throw new Error('missing record');
    const bad = raw.slice();
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0xff;
    await kv.batch([{ type: 'put', key, value: bad }], { sync: true });
    const left = await journal.peek(10);
    expect(left.map((e) => e.id)).not.toContain(b.id);
    expect(await kv.get(key)).toBeUndefined();
    await store.close();
  });

  it('without the events option nothing is journaled', async () => {
    const kv = new MemoryKv();
    const store = await openLevelStore({ kv, logger });
    expect(store.events).toBeUndefined();
    await store.append('p', update('q'), { change: { user: 'u' } });
    const spaces = new Set<number>();
    for await (const { key } of kv.iterate({})) spaces.add(key[0] ?? 0);
    expect(spaces.has(Space.Doc)).toBe(true);
    expect([...spaces].filter((k) => k === Space.Mark || k === Space.Event || k === Space.DeadLetter)).toEqual([]);
    await store.close();
  });
});
