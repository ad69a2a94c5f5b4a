import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { compactUpdates, shouldCompact } from '../../src/persistence/compaction.js';
import { DEFAULT_COMPACTION } from '../../src/persistence/engine-context.js';
import { DocKind, Space, parseDocKey, spaceRange } from '../../src/persistence/key-layout.js';
import type { KvStore } from '../../src/persistence/kv-store.js';
import { LevelKv } from '../../src/persistence/level-kv.js';
import { openLevelStore, type LogStore, type LogStoreOptions } from '../../src/persistence/log-store.js';
import type { DocMeta } from '../../src/persistence/record-codec.js';
import { CountingKv, Editor, GateKv, ManualTimers, docFrom, logger, sameDoc, tempDir, track, updatePuts, waitFor } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let store: LogStore | undefined;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});

afterEach(async () => {
  await store?.closeWithReport({ timeoutMs: 1_000 });
  store = undefined;
  await cleanup();
});

async function openWith(kv: KvStore, options: Partial<LogStoreOptions> = {}): Promise<LogStore> {
  store = await openLevelStore({ kv, logger, ...options });
  return store;
}

/** Count stored update and snapshot records across all documents. */
async function recordCounts(kv: KvStore): Promise<{ updates: number; snapshots: number }> {
  let updates = 0;
  let snapshots = 0;
  for await (const { key } of kv.iterate(spaceRange(Space.Doc))) {
    const kind = parseDocKey(key)?.kind;
    if (kind === DocKind.Update) updates++;
    if (kind === DocKind.Snapshot) snapshots++;
  }
  return { updates, snapshots };
}

describe('compaction', () => {
  it('triggers by update count or by bytes relative to the snapshot', () => {
    const meta = (logCount: number, logBytes: number, snapshotBytes: number): DocMeta => ({
      name: 'd', createdAt: 0, updatedAt: 0, lastSeq: logCount, snapshotSeq: 0, snapshotBytes,
      logCount, logBytes, totalUpdates: logCount, stateVector: Uint8Array.of(0),
    });
    const policy = { ...DEFAULT_COMPACTION, maxUpdates: 100, minLogBytes: 1_000, maxLogRatio: 2 };
    expect(shouldCompact(policy, meta(99, 10, 0))).toBe(false);
    expect(shouldCompact(policy, meta(100, 10, 0))).toBe(true);
    expect(shouldCompact(policy, meta(5, 999, 0))).toBe(false); // below minLogBytes
    expect(shouldCompact(policy, meta(5, 1_000, 0))).toBe(true);
    expect(shouldCompact(policy, meta(5, 1_500, 1_000))).toBe(false); // log < 2 × snapshot
    expect(shouldCompact(policy, meta(5, 2_000, 1_000))).toBe(true);
    expect(shouldCompact({ ...policy, enabled: false }, meta(1_000, 10_000, 0))).toBe(false);
    // The count trigger waits for the log to reach minCountRatio (0.1) × the snapshot: a 5 MB
    // document is not re-encoded for every 100 small updates.
    expect(shouldCompact(policy, meta(100, 400_000, 5_000_000))).toBe(false);
    expect(shouldCompact(policy, meta(100, 500_000, 5_000_000))).toBe(true);
    expect(shouldCompact({ ...policy, minCountRatio: 0 }, meta(100, 400_000, 5_000_000))).toBe(true);
  });

  it('compacts in the background and loads the same document, before and after reopen', async () => {
    const counting = new CountingKv(await LevelKv.open(dir));
    const s = await openWith(counting, { compaction: { maxUpdates: 10 } });
    const editor = new Editor();
    for (let i = 0; i < 35; i++) await s.append('doc', editor.edit());
    await waitFor(() => s.stats().compactions >= 3);
    await s.flush('doc');
    const parts = await s.load('doc');
    expect(parts.length).toBeLessThan(10);
    expect(sameDoc(editor.doc, docFrom(parts))).toBe(true);
    // Two generations: the newest snapshot, the one before it and the updates after that one.
    const counts = await recordCounts(counting);
    expect(counts.snapshots).toBe(2);
    expect(counts.updates).toBeLessThan(20);
    await s.close();
    const again = await openWith(await LevelKv.open(dir));
    expect(sameDoc(editor.doc, docFrom(await again.load('doc')))).toBe(true);
  });

  it('a log a load finds over the threshold is compacted a second after the load, not beside it', async () => {
    const editor = new Editor();
    const first = await openWith(await LevelKv.open(dir), { compaction: { enabled: false } });
    for (let i = 0; i < 30; i++) await first.append('doc', editor.edit());
    await first.close();
    store = undefined;
    // Reopened with a threshold the stored log is over, on manual time.
    const timers = new ManualTimers();
    const counting = new CountingKv(await LevelKv.open(dir));
    const s = await openWith(counting, { compaction: { maxUpdates: 10 }, timers });
    const parts = await s.load('doc');
    expect(parts).toHaveLength(30);
    expect(sameDoc(editor.doc, docFrom(parts))).toBe(true);
    // A load runs in the document's queue after every task queued before it: a compaction
    // queued by the first load would have run by the time the second one reads.
    expect(await s.load('doc')).toHaveLength(30);
    expect(s.stats().compactions).toBe(0);
    expect(await recordCounts(counting)).toEqual({ updates: 30, snapshots: 0 });
    timers.advance(999);
    expect(await s.load('doc')).toHaveLength(30);
    expect(s.stats().compactions).toBe(0);
    timers.advance(1);
    await waitFor(() => s.stats().compactions === 1);
    expect(await recordCounts(counting)).toMatchObject({ snapshots: 1 });
    const after = await s.load('doc');
    expect(after).toHaveLength(1);
    expect(sameDoc(editor.doc, docFrom(after))).toBe(true);
  });

  it('a compaction a load scheduled does not outlive close', async () => {
    const editor = new Editor();
    const first = await openWith(await LevelKv.open(dir), { compaction: { enabled: false } });
    for (let i = 0; i < 12; i++) await first.append('doc', editor.edit());
    await first.close();
    const timers = new ManualTimers();
    const s = await openWith(await LevelKv.open(dir), { compaction: { maxUpdates: 10 }, timers });
    await s.load('doc');
    expect(timers.scheduled).toBe(1);
    await s.close();
    store = undefined;
    expect(timers.scheduled).toBe(0);
  });

  it('a log at rest is compacted once nothing was written for idleMs, below every threshold; a write restarts the quiet period', async () => {
    const timers = new ManualTimers();
    const counting = new CountingKv(await LevelKv.open(dir));
    const s = await openWith(counting, { compaction: { maxUpdates: 1_000, idleMs: 10_000 }, timers });
    const editor = new Editor();
    for (let i = 0; i < 5; i++) await s.append('doc', editor.edit());
    timers.advance(9_999);
    await s.append('doc', editor.edit()); // the quiet period starts again
    timers.advance(9_999);
    // A load runs after every task queued before it (a compaction included).
    expect(await s.load('doc')).toHaveLength(6);
    expect(s.stats().compactions).toBe(0);
    timers.advance(1);
    await waitFor(() => s.stats().compactions === 1);
    const parts = await s.load('doc');
    expect(parts).toHaveLength(1);
    expect(sameDoc(editor.doc, docFrom(parts))).toBe(true);
    // Compacted, nothing after the snapshot: no further timer, nothing more to do.
    expect(timers.scheduled).toBe(0);
    // One more update after the snapshot is worth it again (a cold load would merge it).
    await s.append('doc', editor.edit());
    timers.advance(10_000);
    await waitFor(() => s.stats().compactions === 2);
    expect(await s.load('doc')).toHaveLength(1);
  });

  it('a single stored update without a snapshot is left as it is; idleMs 0 turns compaction at rest off', async () => {
    const timers = new ManualTimers();
    const s = await openWith(await LevelKv.open(dir), { compaction: { maxUpdates: 1_000, idleMs: 10_000 }, timers });
    const editor = new Editor();
    await s.append('one', editor.edit());
    expect(timers.scheduled).toBe(0);
    await s.close();
    const timers2 = new ManualTimers();
    const off = await openWith(await LevelKv.open(dir), { compaction: { maxUpdates: 1_000, idleMs: 0 }, timers: timers2 });
    for (let i = 0; i < 5; i++) await off.append('many', editor.edit());
    expect(timers2.scheduled).toBe(0);
    timers2.advance(60_000);
    expect(await off.load('many')).toHaveLength(5);
    expect(off.stats().compactions).toBe(0);
  });

  it('a load that finds updates after the snapshot starts the quiet period: a document only read is compacted at rest too', async () => {
    const editor = new Editor();
    const first = await openWith(await LevelKv.open(dir), { compaction: { enabled: false } });
    for (let i = 0; i < 3; i++) await first.append('doc', editor.edit());
    await first.compact('doc');
    for (let i = 0; i < 4; i++) await first.append('doc', editor.edit());
    await first.close();
    const timers = new ManualTimers();
    const s = await openWith(await LevelKv.open(dir), { compaction: { maxUpdates: 1_000, idleMs: 10_000 }, timers });
    expect(await s.load('doc')).toHaveLength(5); // the snapshot and the 4 updates after it
    timers.advance(10_000);
    await waitFor(() => s.stats().compactions === 1);
    const parts = await s.load('doc');
    expect(parts).toHaveLength(1);
    expect(sameDoc(editor.doc, docFrom(parts))).toBe(true);
  });

  it('compact(name) merges everything into one snapshot in ONE atomic batch, keeping one generation back', async () => {
    const counting = new CountingKv(await LevelKv.open(dir));
    const s = await openWith(counting, { compaction: { enabled: false } });
    const editor = new Editor();
    for (let i = 0; i < 12; i++) await s.append('doc', editor.edit());
    const before = counting.batches;
    const report = await s.compact('doc');
    expect(report).toMatchObject({ documents: 1, compacted: 1, mergedUpdates: 12, failed: [] });
    expect(counting.batches - before).toBe(1);
    // First generation: snapshot put + meta put; the 12 updates stay (the only other copy).
    expect(counting.sizes.at(-1)).toBe(2);
    expect(await recordCounts(counting)).toEqual({ updates: 12, snapshots: 1 });
    const parts = await s.load('doc');
    expect(parts).toHaveLength(1);
    expect(sameDoc(editor.doc, docFrom(parts))).toBe(true);
    await s.append('doc', editor.edit());
    expect(await s.load('doc')).toHaveLength(2);
    expect((await s.compact('doc')).mergedUpdates).toBe(1);
    // Second: the 12 updates are now in two snapshots and go (12 deletes + snapshot + meta).
    expect(counting.sizes.at(-1)).toBe(12 + 2);
    // The snapshot is the batch's last op: LevelDB's batch buffer then grows once for a large
    // value instead of copying it again when a later op outgrows it (docs/storage.md).
    const last = counting.lastOps.at(-1);
    expect(last?.type).toBe('put');
    expect(last && parseDocKey(last.key)).toMatchObject({ kind: DocKind.Snapshot, seq: 13 });
    expect(sameDoc(editor.doc, docFrom(await s.load('doc')))).toBe(true);
    expect((await s.compact('doc')).compacted).toBe(0); // nothing new
    expect(await recordCounts(counting)).toEqual({ updates: 1, snapshots: 2 });
  });

  it('never touches appends that arrive while it runs (they get seq > S)', async () => {
    const gate = new GateKv(await LevelKv.open(dir));
    const s = await openWith(gate, { compaction: { enabled: false } });
    const editor = new Editor();
    for (let i = 0; i < 5; i++) await s.append('doc', editor.edit());
    gate.holding = true;
    const compaction = s.compact('doc');
    await waitFor(() => gate.held.length === 1);
    const compactOps = gate.held[0]?.ops ?? [];
    const arriving = Array.from({ length: 10 }, () => track(s.append('doc', editor.edit())));
    gate.releaseNext();
    await compaction;
    await waitFor(() => gate.held.length === 1);
    const appendOps = gate.held[0]?.ops ?? [];
    gate.releaseNext();
    await Promise.all(arriving.map((t) => t.promise));
    const deleted = compactOps.filter((op) => op.type === 'del').map((op) => parseDocKey(op.key)?.seq ?? -1);
    const written = appendOps.filter((op) => op.type === 'put' && op.key[0] === Space.Doc).map((op) => parseDocKey(op.key)?.seq ?? -1);
    expect(Math.max(...deleted)).toBeLessThanOrEqual(5);
    expect(Math.min(...written)).toBeGreaterThan(5);
    expect(updatePuts(appendOps)).toBe(10);
    expect(sameDoc(editor.doc, docFrom(await s.load('doc')))).toBe(true);
  });

  it('loses nothing when background and on-demand compactions race many concurrent appends', async () => {
    const s = await openWith(await LevelKv.open(dir), { compaction: { maxUpdates: 3 } });
    const editors = [new Editor(1), new Editor(2), new Editor(3)];
    const acks: Promise<void>[] = [];
    for (let wave = 0; wave < 40; wave++) {
      for (const e of editors) acks.push(s.append('doc', e.edit()));
      if (wave % 7 === 0) acks.push(s.compact('doc').then(() => undefined));
      if (wave % 5 === 0) await acks[acks.length - 1];
    }
    await Promise.all(acks);
    expect(s.stats().compactions).toBeGreaterThan(3);
    const reference = docFrom(editors.map((e) => Y.encodeStateAsUpdate(e.doc)));
    expect(sameDoc(reference, docFrom(await s.load('doc')))).toBe(true);
    await s.close();
    const again = await openWith(await LevelKv.open(dir));
    expect(sameDoc(reference, docFrom(await again.load('doc')))).toBe(true);
  });
});

describe("compaction from a loaded document's own state (offerState)", () => {
  it('takes the offered state as the snapshot when it covers exactly the durable log: same document, nothing merged', async () => {
    const s = await openWith(await LevelKv.open(dir), { compaction: { maxUpdates: 10 } });
    const editor = new Editor();
    let asked = 0;
    s.offerState('doc', () => {
      asked++;
      return Y.encodeStateAsUpdate(editor.doc);
    });
    for (let i = 0; i < 35; i++) await s.append('doc', editor.edit());
    await waitFor(() => s.stats().compactions >= 3);
    await s.flush('doc');
    expect(asked).toBeGreaterThanOrEqual(3);
    expect(s.stats().compactionsFromLive).toBe(s.stats().compactions);
    expect(s.stats().compactionsOffThread).toBe(0);
    expect(sameDoc(editor.doc, docFrom(await s.load('doc')))).toBe(true);
    expect((await s.compact('doc')).compacted).toBe(1);
    expect(await s.load('doc')).toHaveLength(1);
    await s.close();
    const again = await openWith(await LevelKv.open(dir));
    expect(sameDoc(editor.doc, docFrom(await again.load('doc')))).toBe(true);
  });

  it('merges the records instead when the offered state is ahead of the log, undecodable, or withdrawn', async () => {
    const s = await openWith(await LevelKv.open(dir), { compaction: { enabled: false } });
    const editor = new Editor();
    for (let i = 0; i < 6; i++) await s.append('doc', editor.edit());
    // Ahead: an edit applied in memory but never appended (e.g. still in flight) is not stored by a compaction.
    const ahead = new Editor();
    Y.applyUpdate(ahead.doc, Y.encodeStateAsUpdate(editor.doc));
    ahead.edit('never appended');
    const withdraw = s.offerState('doc', () => Y.encodeStateAsUpdate(ahead.doc));
    expect((await s.compact('doc')).compacted).toBe(1);
    expect(s.stats().compactionsFromLive).toBe(0);
    expect(sameDoc(editor.doc, docFrom(await s.load('doc')))).toBe(true);
    // Bytes that do not decode.
    s.offerState('doc', () => Uint8Array.of(1, 2, 3));
    await s.append('doc', editor.edit());
    expect((await s.compact('doc')).compacted).toBe(1);
    expect(s.stats().compactionsFromLive).toBe(0);
    // A stale withdraw (another offer replaced it) leaves the newer offer in place; a current one removes it.
    withdraw();
    let asked = 0;
    const withdrawCurrent = s.offerState('doc', () => {
      asked++;
      return Y.encodeStateAsUpdate(editor.doc);
    });
    await s.append('doc', editor.edit());
    expect((await s.compact('doc')).compacted).toBe(1);
    expect([asked, s.stats().compactionsFromLive]).toEqual([1, 1]);
    withdrawCurrent();
    await s.append('doc', editor.edit());
    expect((await s.compact('doc')).compacted).toBe(1);
    expect([asked, s.stats().compactionsFromLive]).toEqual([1, 1]);
    expect(sameDoc(editor.doc, docFrom(await s.load('doc')))).toBe(true);
  });

  it('a large document is not asked for its state (encoding it would block the event loop): its log is merged in the worker', async () => {
    const s = await openWith(await LevelKv.open(dir), { compaction: { enabled: false } });
    const editor = new Editor();
    let asked = 0;
    s.offerState('doc', () => {
      asked++;
      return Y.encodeStateAsUpdate(editor.doc);
    });
    for (let i = 0; i < 12; i++) await s.append('doc', editor.edit('x'.repeat(100_000)));
    expect((await s.compact('doc')).compacted).toBe(1);
    expect([asked, s.stats().compactionsFromLive, s.stats().compactionsOffThread]).toEqual([0, 0, 1]);
    expect(sameDoc(editor.doc, docFrom(await s.load('doc')))).toBe(true);
  });
});

describe('compaction when a loaded document is released (its offer withdrawn)', () => {
  it('folds the tail into a snapshot from the last state, also while the store closes; the next start reads one record', async () => {
    const s = await openWith(await LevelKv.open(dir));
    const editor = new Editor();
    const withdraw = s.offerState('doc', () => Y.encodeStateAsUpdate(editor.doc));
    for (let i = 0; i < 5; i++) await s.append('doc', editor.edit()); // below every threshold
    expect(await s.load('doc')).toHaveLength(5);
    withdraw();
    const closing = s.close(); // a shutdown: the documents are released, then the store closes
    await closing;
    expect([s.stats().compactions, s.stats().compactionsFromLive]).toEqual([1, 1]);
    const again = await openWith(await LevelKv.open(dir));
    const parts = await again.load('doc');
    expect(parts).toHaveLength(1);
    expect(sameDoc(editor.doc, docFrom(parts))).toBe(true);
  });

  it('does nothing without a tail, with a state that does not match the log (no merge either), for a large document, or with idleMs 0', async () => {
    const s = await openWith(await LevelKv.open(dir), { compaction: { maxUpdates: 1e9, minLogBytes: 1e12 } });
    const editor = new Editor();
    let asked = 0;
    const offer = (name: string, state: () => Uint8Array): (() => void) => s.offerState(name, () => {
      asked++;
      return state();
    });
    // One update and no snapshot: nothing to fold (a cold load sends it as it is).
    await s.append('single', editor.edit());
    offer('single', () => Y.encodeStateAsUpdate(editor.doc))();
    // A state ahead of the log.
    const other = new Editor();
    for (let i = 0; i < 3; i++) await s.append('ahead', other.edit());
    const ahead = new Editor();
    Y.applyUpdate(ahead.doc, Y.encodeStateAsUpdate(other.doc));
    ahead.edit('not appended');
    offer('ahead', () => Y.encodeStateAsUpdate(ahead.doc))();
    // Large.
    const big = new Editor();
    for (let i = 0; i < 12; i++) await s.append('big', big.edit('x'.repeat(100_000)));
    offer('big', () => Y.encodeStateAsUpdate(big.doc))();
    await Promise.all(['single', 'ahead', 'big'].map((name) => s.flush(name)));
    await s.close();
    expect([asked, s.stats().compactions]).toEqual([1, 0]);
    const again = await openWith(await LevelKv.open(dir), { compaction: { idleMs: 0 } });
    expect(await again.load('ahead')).toHaveLength(3);
    const more = new Editor();
    for (let i = 0; i < 3; i++) await again.append('off', more.edit());
    again.offerState('off', () => Y.encodeStateAsUpdate(more.doc))();
    await again.close();
    expect(again.stats().compactions).toBe(0);
  });

  it('a closing store starts them only within its budget (min(1 s, a quarter of the close timeout)): a shutdown that releases many documents stays bounded', async () => {
    for (const late of [false, true]) {
      const timers = new ManualTimers();
      const gate = new GateKv(await LevelKv.open(join(dir, late ? 'late' : 'early')));
      const s = await openLevelStore({ kv: gate, logger, timers });
      const editors = [new Editor(), new Editor(), new Editor()];
      for (const [i, e] of editors.entries()) for (let k = 0; k < 3; k++) await s.append(`d${i}`, e.edit());
      const withdraws = editors.map((e, i) => s.offerState(`d${i}`, () => Y.encodeStateAsUpdate(e.doc)));
      // One more write per document, held: each release compaction waits behind its document's write.
      gate.holding = true;
      const writes = editors.map((e, i) => s.append(`d${i}`, e.edit()));
      await waitFor(() => gate.held.length === 1);
      for (const withdraw of withdraws) withdraw();
      const closing = s.closeWithReport({ timeoutMs: 10_000 });
      if (late) timers.advance(1_500); // past the budget (1 s), well within the close timeout
      gate.holding = false;
      gate.releaseNext();
      await Promise.all(writes);
      expect((await closing).unflushed).toEqual([]);
      expect([late, s.stats().compactionsFromLive]).toEqual([late, late ? 0 : 3]);
    }
  });
});

describe('compactUpdates (how a snapshot is built)', () => {
  const history = (): { doc: Y.Doc; updates: Uint8Array[] } => {
    const doc = new Y.Doc();
    const updates: Uint8Array[] = [];
    doc.on('update', (u: Uint8Array) => updates.push(u));
    for (let i = 0; i < 2000; i++) doc.getMap('shapes').set(`s${i % 20}`, { x: i, label: 'x'.repeat(40) });
    doc.getText('title').insert(0, 'hello world');
    doc.getText('title').delete(0, 6);
    return { doc, updates };
  };

  it('drops the content of deleted items: much smaller than Y.mergeUpdates, same document', () => {
    const { doc, updates } = history();
    const compacted = compactUpdates(updates);
    const merged = Y.mergeUpdates(updates);
    expect(compacted.length).toBeLessThan(merged.length / 5);
    const restored = new Y.Doc();
    Y.applyUpdate(restored, compacted);
    expect(restored.getMap('shapes').toJSON()).toEqual(doc.getMap('shapes').toJSON());
    expect(restored.getText('title').toJSON()).toBe('world');
    expect(Y.encodeStateVector(restored)).toEqual(Y.encodeStateVector(doc));
  });

  it('keeps pending updates (dependencies not stored) losslessly', () => {
    const { doc, updates } = history();
    // Drop an early update: every later one from the same client is pending without it.
    const withGap = [updates[0]!, ...updates.slice(2)];
    const compacted = compactUpdates(withGap);
    const restored = new Y.Doc();
    Y.applyUpdate(restored, compacted);
    // The missing update arrives later (e.g. from another replica): everything integrates.
    Y.applyUpdate(restored, updates[1]!);
    expect(restored.store.pendingStructs).toBeNull();
    expect(restored.getMap('shapes').toJSON()).toEqual(doc.getMap('shapes').toJSON());
  });
});
