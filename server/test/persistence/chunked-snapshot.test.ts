import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DocKind, Space, docKey, parseDocKey, snapshotPartKey, spaceRange, type DocKeyParts } from '../../src/persistence/key-layout.js';
import type { KvStore } from '../../src/persistence/kv-store.js';
import { LevelKv } from '../../src/persistence/level-kv.js';
import { openLevelStore, type LogStore, type LogStoreOptions } from '../../src/persistence/log-store.js';
import { verifyStore, type VerifyProblem } from '../../src/persistence/maintenance.js';
import { RecordType, encodeRecord } from '../../src/persistence/record-codec.js';
import { CountingKv, Editor, FailingKv, docFrom, logger, sameDoc, tempDir } from './helpers.js';

// Chunked snapshots (format version 2, docs/storage.md "Chunked snapshots"): a snapshot larger
// than `compaction.snapshotPartBytes` is stored as parts written in batches of their own, then
// a manifest under the snapshot's key in the compaction's atomic batch. A small part size here
// makes a few-KB document chunked.
const PART = 256;

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
  store = await openLevelStore({ kv, logger, ...options, compaction: { enabled: false, snapshotPartBytes: PART, ...options.compaction } });
  return store;
}

/** Every record of space 03 by kind: snapshot keys (with their record type) and part keys. */
async function docRecords(kv: KvStore): Promise<{ snapshots: { seq: number; type: number | undefined }[]; parts: DocKeyParts[] }> {
  const snapshots: { seq: number; type: number | undefined }[] = [];
  const parts: DocKeyParts[] = [];
  for await (const { key, value } of kv.iterate(spaceRange(Space.Doc))) {
    const p = parseDocKey(key);
    if (p?.kind === DocKind.Snapshot) snapshots.push({ seq: p.seq, type: value[0] });
    if (p?.kind === DocKind.SnapshotPart) parts.push(p);
  }
  return { snapshots, parts };
}

async function problems(kv: KvStore): Promise<VerifyProblem[]> {
  const found: VerifyProblem[] = [];
  for await (const p of verifyStore(kv)) found.push(p);
  return found;
}

/** Parts that belong to a stored manifest: numbered 0..n-1 per manifest, nothing else. */
function partsMatch(records: Awaited<ReturnType<typeof docRecords>>, bytesBySeq: ReadonlyMap<number, number>): boolean {
  for (const s of records.snapshots) {
    const expected = Math.ceil((bytesBySeq.get(s.seq) ?? 0) / PART);
    const mine = records.parts.filter((p) => p.seq === s.seq).map((p) => p.part);
    if (s.type === RecordType.SnapshotManifest && mine.join() !== Array.from({ length: expected }, (_, i) => i).join()) return false;
  }
  return records.parts.every((p) => records.snapshots.some((s) => s.seq === p.seq && s.type === RecordType.SnapshotManifest));
}

/** 30 edits, then a compaction whose parts are written and whose own (synced) batch fails. */
async function failedCompaction(): Promise<{ kv: FailingKv; s: LogStore; editor: Editor }> {
  const kv = new FailingKv(await LevelKv.open(dir));
  const s = await openWith(kv);
  const editor = new Editor();
  for (let i = 0; i < 30; i++) await s.append('doc', editor.edit(`shape ${i} `.repeat(8)));
  kv.failNextSynced = 1;
  await expect(s.compact('doc')).rejects.toMatchObject({ code: 'SKEIN_ERR_STORAGE_WRITE' });
  return { kv, s, editor };
}

describe('chunked snapshots (format version 2)', () => {
  for (const where of ['in the worker', 'in place'] as const) {
    it(`stores a snapshot larger than snapshotPartBytes as a manifest and parts, and loads it as it was (${where})`, async () => {
      const kv = await LevelKv.open(dir);
      const s = await openWith(kv, { compaction: { offThreadMinBytes: where === 'in the worker' ? 0 : Number.POSITIVE_INFINITY } });
      const editor = new Editor();
      for (let i = 0; i < 60; i++) await s.append('doc', editor.edit(`shape ${i} `.repeat(8)));
      const report = await s.compact('doc');
      expect(report).toMatchObject({ compacted: 1, failed: [] });
      expect(s.stats().compactionsOffThread).toBe(where === 'in the worker' ? 1 : 0);
      const [only] = await s.load('doc');
      expect(only).toBeDefined();
      const bytes = only?.length ?? 0;
      expect(bytes).toBeGreaterThan(4 * PART);
      const records = await docRecords(kv);
      expect(records.snapshots).toEqual([{ seq: 60, type: RecordType.SnapshotManifest }]);
      expect(records.parts).toHaveLength(Math.ceil(bytes / PART));
      expect(partsMatch(records, new Map([[60, bytes]]))).toBe(true);
      expect(sameDoc(editor.doc, docFrom(await s.load('doc')))).toBe(true);
      expect(await problems(kv)).toEqual([]);
      await s.close();
      const again = await openWith(await LevelKv.open(dir));
      expect(sameDoc(editor.doc, docFrom(await again.load('doc')))).toBe(true);
    });
  }

  it('writes each part in an unsynced batch of its own before the compaction batch, which ends with the manifest', async () => {
    const counting = new CountingKv(await LevelKv.open(dir));
    const s = await openWith(counting);
    const editor = new Editor();
    for (let i = 0; i < 40; i++) await s.append('doc', editor.edit(`shape ${i} `.repeat(8)));
    const before = counting.batches;
    await s.compact('doc');
    const [snapshot] = await s.load('doc');
    const parts = Math.ceil((snapshot?.length ?? 0) / PART);
    expect(parts).toBeGreaterThan(2);
    expect(counting.options.slice(before).map((o) => o.sync)).toEqual([...Array.from({ length: parts }, () => false), true]);
    expect(counting.sizes.slice(before, before + parts)).toEqual(Array.from({ length: parts }, () => 1));
    const last = counting.lastOps.at(-1);
    expect(last?.type === 'put' && Buffer.from(last.key).equals(docKey(1, DocKind.Snapshot, 40)) && last.value[0]).toBe(RecordType.SnapshotManifest);
  });

  it('an older generation goes with its parts; the two kept have exactly theirs', async () => {
    const kv = await LevelKv.open(dir);
    const s = await openWith(kv, { compaction: { offThreadMinBytes: 0 } });
    const editor = new Editor();
    const bytesBySeq = new Map<number, number>();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20; i++) await s.append('doc', editor.edit(`round ${round} shape ${i} `.repeat(6)));
      const report = await s.compact('doc');
      expect(report.compacted).toBe(1);
      const [snapshot] = await s.load('doc');
      bytesBySeq.set(20 * (round + 1), snapshot?.length ?? 0);
    }
    const records = await docRecords(kv);
    expect(records.snapshots.map((r) => r.seq)).toEqual([40, 60]);
    expect(records.parts.some((p) => p.seq === 20)).toBe(false);
    expect(partsMatch(records, bytesBySeq)).toBe(true);
    expect(sameDoc(editor.doc, docFrom(await s.load('doc')))).toBe(true);
    expect(await problems(kv)).toEqual([]);
  });

  it('a compaction that fails after writing its parts changes nothing, and the next one deletes them', async () => {
    const { kv, s, editor } = await failedCompaction();
    expect(sameDoc(editor.doc, docFrom(await s.load('doc')))).toBe(true);
    const leftover = await docRecords(kv);
    expect(leftover.snapshots).toEqual([]);
    expect(leftover.parts.length).toBeGreaterThan(2);
    const found = await problems(kv);
    expect(found.length).toBe(leftover.parts.length);
    expect(found.every((p) => p.kind === 'stale' && p.code === null)).toBe(true);
    // The next compaction (one more update: a new seq) deletes what the failed one left.
    await s.append('doc', editor.edit());
    expect((await s.compact('doc')).compacted).toBe(1);
    const after = await docRecords(kv);
    expect(after.snapshots.map((r) => r.seq)).toEqual([31]);
    expect(after.parts.every((p) => p.seq === 31)).toBe(true);
    expect(await problems(kv)).toEqual([]);
    expect(sameDoc(editor.doc, docFrom(await s.load('doc')))).toBe(true);
  });

  it('a compaction at the seq of a failed one overwrites the parts it needs and deletes the rest', async () => {
    const { kv, s, editor } = await failedCompaction();
    const leftover = await docRecords(kv);
    // Same seq (no update since), fewer parts: a larger part size.
    await s.close();
    const kv2 = await LevelKv.open(dir);
    const s2 = await openWith(kv2, { compaction: { snapshotPartBytes: PART * 2 } });
    expect((await s2.compact('doc')).compacted).toBe(1);
    const after = await docRecords(kv2);
    expect(after.snapshots).toEqual([{ seq: 30, type: RecordType.SnapshotManifest }]);
    expect(after.parts.length).toBe(Math.ceil(leftover.parts.length / 2));
    expect(after.parts.map((p) => p.part)).toEqual(Array.from({ length: after.parts.length }, (_, i) => i));
    expect(await problems(kv2)).toEqual([]);
    expect(sameDoc(editor.doc, docFrom(await s2.load('doc')))).toBe(true);
  });

  it('a stray part numbered beyond the manifest is not the snapshot\'s: the load ignores it, the next compaction deletes it', async () => {
    const kv = await LevelKv.open(dir);
    const s = await openWith(kv);
    const editor = new Editor();
    for (let i = 0; i < 30; i++) await s.append('doc', editor.edit(`shape ${i} `.repeat(8)));
    await s.compact('doc');
    const { parts } = await docRecords(kv);
    const key = snapshotPartKey(1, 30, parts.length);
    await kv.batch([{ type: 'put', key, value: encodeRecord(key, RecordType.SnapshotPart, Uint8Array.of(1, 2, 3)) }], { sync: true });
    expect((await problems(kv)).map((p) => [p.kind, p.seq])).toEqual([['stale', 30]]);
    await s.close();
    const kv2 = await LevelKv.open(dir);
    const again = await openWith(kv2);
    expect(sameDoc(editor.doc, docFrom(await again.load('doc')))).toBe(true);
    expect(again.stats().quarantinedRecords).toBe(0);
    await again.append('doc', editor.edit());
    expect((await again.compact('doc')).compacted).toBe(1);
    expect((await docRecords(kv2)).parts.some((p) => p.seq === 30 && p.part === parts.length)).toBe(false);
    expect(await problems(kv2)).toEqual([]);
  });

  it('a damaged part: the load takes the previous generation and the updates after it; the next compaction cleans up', async () => {
    const kv = await LevelKv.open(dir);
    const s = await openWith(kv);
    const editor = new Editor();
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 20; i++) await s.append('doc', editor.edit(`round ${round} shape ${i} `.repeat(6)));
      expect((await s.compact('doc')).compacted).toBe(1);
    }
    await s.close();
    const raw = await LevelKv.open(dir);
    let damagedKey: Uint8Array | undefined;
    for await (const { key, value } of raw.iterate(spaceRange(Space.Doc))) {
      const p = parseDocKey(key);
      if (p?.kind === DocKind.SnapshotPart && p.seq === 40 && p.part === 1) {
        const flipped = value.slice();
        flipped[10] = (flipped[10] ?? 0) ^ 0xff;
        damagedKey = key;
        await raw.batch([{ type: 'put', key, value: flipped }], { sync: true });
      }
    }
    expect(damagedKey).toBeDefined();
    expect((await problems(raw)).map((p) => [p.kind, p.seq])).toContainEqual(['damaged', 40]);
    await raw.close();
    const kv2 = await LevelKv.open(dir);
    const again = await openWith(kv2);
    expect(sameDoc(editor.doc, docFrom(await again.load('doc')))).toBe(true);
    expect(again.stats().quarantinedRecords).toBe(1); // the manifest; its parts are left over
    await again.append('doc', editor.edit());
    expect((await again.compact('doc')).compacted).toBe(1);
    const after = await docRecords(kv2);
    expect(after.parts.some((p) => p.seq === 40)).toBe(false);
    expect((await problems(kv2)).map((p) => p.kind)).toEqual(['quarantined']);
    expect(sameDoc(editor.doc, docFrom(await again.load('doc')))).toBe(true);
  });
});
