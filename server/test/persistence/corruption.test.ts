import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { SkeinError } from '../../src/errors/skein-error.js';
import { DocKind, Space, docKey, keyHex, metaKey, nameKey, parseDocKey, spaceRange } from '../../src/persistence/key-layout.js';
import type { KvEntry, KvRange, KvStore } from '../../src/persistence/kv-store.js';
import { LevelKv } from '../../src/persistence/level-kv.js';
import { openLevelStore, type LogStore } from '../../src/persistence/log-store.js';
import type { VerifyProblem } from '../../src/persistence/maintenance.js';
import { RecordType, decodeQuarantine, encodeRecord, readRecord } from '../../src/persistence/record-codec.js';
import { Editor, docFrom, logger, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let raw: LevelKv;
let store: LogStore;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  raw = await LevelKv.open(dir);
  store = await openLevelStore({ kv: raw, logger, compaction: { enabled: false } });
});

afterEach(async () => {
  await store.closeWithReport({ timeoutMs: 1_000 });
  await cleanup();
});

/** Append `n` independent updates (one client each) to `name`; returns the map keys written. */
async function seed(name: string, n: number, clientBase: number): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; i < n; i++) {
    const editor = new Editor(clientBase + i);
    await store.append(name, editor.edit(`${name}-${i}`));
    keys.push(`${name}-${i}`);
  }
  return keys;
}

async function docIdOf(name: string): Promise<number> {
  for await (const info of store.documents()) if (info.name === name && info.docId !== null) return info.docId;
  throw new Error(`no document ${name}`);
}

async function flipByte(key: Uint8Array, offsetFromEnd = 1): Promise<Uint8Array> {
  const value = await raw.get(key);
  if (value === undefined) throw new Error('no such record');
  const damaged = value.slice();
  const i = damaged.length - offsetFromEnd;
  damaged[i] = (damaged[i] ?? 0) ^ 0x5a;
  await raw.batch([{ type: 'put', key, value: damaged }], { sync: true });
  return damaged;
}

function values(doc: Y.Doc): string[] {
  return [...doc.getMap('m').values()].map(String).sort();
}

async function problems(s: LogStore): Promise<VerifyProblem[]> {
  const out: VerifyProblem[] = [];
  for await (const p of s.verify()) out.push(p);
  return out;
}

async function quarantined(): Promise<{ key: Uint8Array; originalKey: Uint8Array; originalValue: Uint8Array; reason: string }[]> {
  const out = [];
  for await (const { key, value } of raw.iterate(spaceRange(Space.Quarantine))) {
    const rec = readRecord(key, value, RecordType.Quarantine, decodeQuarantine);
    if (!rec.ok) throw new Error('damaged quarantine record');
    out.push({ key, ...rec.value });
  }
  return out;
}

describe('corruption', () => {
  it('quarantines a flipped update, serves the rest, leaves other documents alone; verify reports it', async () => {
    const aKeys = await seed('a', 5, 100);
    const bKeys = await seed('a/b', 3, 200);
    const victim = docKey(await docIdOf('a'), DocKind.Update, 3);
    const damagedValue = await flipByte(victim);

    const before = await problems(store);
    expect(before).toEqual([expect.objectContaining({ kind: 'damaged', code: 'SKEIN_ERR_STORAGE_CORRUPT_RECORD', doc: 'a', seq: 3, key: keyHex(victim) })]);

    const loaded = await store.load('a');
    expect(loaded).toHaveLength(4);
    expect(values(docFrom(loaded))).toEqual(aKeys.filter((k) => k !== 'a-2').sort());
    expect(values(docFrom(await store.load('a/b')))).toEqual(bKeys.sort());
    expect(store.stats().quarantinedRecords).toBe(1);

    // Moved, not dropped: gone from the log, kept verbatim in quarantine.
    expect(await raw.get(victim)).toBeUndefined();
    const q = await quarantined();
    expect(q).toHaveLength(1);
    expect(q[0]?.originalKey).toEqual(victim);
    expect(q[0]?.originalValue).toEqual(damagedValue);
    expect(q[0]?.reason).toBe('checksum');
    expect((await problems(store)).map((p) => p.kind)).toEqual(['quarantined']);

    // Still writable, and the quarantine count survives a reopen.
    await store.append('a', new Editor(999).edit('after'));
    await store.close();
    store = await openLevelStore({ dir, logger });
    expect(store.stats().quarantinedRecords).toBe(1);
    expect(values(docFrom(await store.load('a')))).toContain('after');
  });

  it("a compaction from the document's own state still quarantines a damaged record it reads (by checksum), and loses nothing", async () => {
    const editor = new Editor(400);
    for (let i = 0; i < 6; i++) await store.append('live', editor.edit(`live-${i}`));
    const victim = docKey(await docIdOf('live'), DocKind.Update, 4);
    await flipByte(victim);
    store.offerState('live', () => Y.encodeStateAsUpdate(editor.doc));
    expect(await store.compact('live')).toMatchObject({ compacted: 1, quarantined: 1 });
    expect(store.stats().compactionsFromLive).toBe(1);
    expect(await raw.get(victim)).toBeUndefined();
    expect((await quarantined()).map((q) => q.reason)).toEqual(['checksum']);
    // The snapshot is the document's state: the damaged update's edit is in it.
    expect(values(docFrom(await store.load('live')))).toEqual(Array.from({ length: 6 }, (_, i) => `live-${i}`).sort());
  });

  it('detects a valid record copied under another key (the checksum covers the key)', async () => {
    await seed('doc', 3, 300);
    const id = await docIdOf('doc');
    const value = await raw.get(docKey(id, DocKind.Update, 1));
    await raw.batch([{ type: 'put', key: docKey(id, DocKind.Update, 7), value: value ?? new Uint8Array() }], { sync: true });
    expect(await store.load('doc')).toHaveLength(3);
    expect(store.stats().quarantinedRecords).toBe(1);
  });

  it('quarantines a record whose checksum is fine but which is not a Yjs update', async () => {
    await seed('doc', 2, 400);
    const key = docKey(await docIdOf('doc'), DocKind.Update, 9);
    await raw.batch([{ type: 'put', key, value: encodeRecord(key, RecordType.Update, Uint8Array.of(0xff, 0xff, 0xff)) }], { sync: true });
    expect(await store.load('doc')).toHaveLength(2);
    expect((await quarantined())[0]?.reason).toBe('decode');
  });

  it('loads everything after a damaged first snapshot: its updates are retained (the snapshot is quarantined)', async () => {
    const first = await seed('doc', 3, 500);
    await store.compact('doc');
    const later = await seed('doc', 2, 600);
    const id = await docIdOf('doc');
    const snapshot = [] as Uint8Array[];
    for await (const { key } of raw.iterate(spaceRange(Space.Doc))) if (parseDocKey(key)?.kind === DocKind.Snapshot) snapshot.push(key);
    expect(snapshot).toHaveLength(1);
    await flipByte(snapshot[0] ?? docKey(id, DocKind.Snapshot, 0), 2);
    expect(values(docFrom(await store.load('doc')))).toEqual([...first, ...later].sort());
    expect(store.stats().quarantinedRecords).toBe(1);
  });

  it('rebuilds damaged metadata from the log and keeps working', async () => {
    const keys = await seed('doc', 4, 700);
    const id = await docIdOf('doc');
    await flipByte(metaKey(id));
    // Found when the document is next read from disk (a running store caches the state it wrote).
    await store.close();
    store = await openLevelStore({ dir, logger });
    expect(values(docFrom(await store.load('doc')))).toEqual(keys.sort());
    expect(store.stats().quarantinedRecords).toBe(1);
    await store.append('doc', new Editor(777).edit('more'));
    let meta = null;
    for await (const info of store.documents()) if (info.name === 'doc') meta = info.meta;
    expect(meta).toMatchObject({ name: 'doc', lastSeq: 5, logCount: 5 });
    expect(await problems(store)).toEqual([expect.objectContaining({ kind: 'quarantined' })]);
  });

  it('recovers a damaged name-index record from the metadata that names the document', async () => {
    const keys = await seed('doc', 2, 800);
    await flipByte(nameKey(new TextEncoder().encode('doc')));
    expect(values(docFrom(await store.load('doc')))).toEqual(keys.sort());
    await store.close();
    store = await openLevelStore({ dir, logger });
    expect(values(docFrom(await store.load('doc')))).toEqual(keys.sort());
    expect(store.stats().quarantinedRecords).toBe(1);
  });
});

describe('read errors', () => {
  /** A KvStore whose reads fail (writes still work). */
  class BrokenReads implements KvStore {
    readonly inner: KvStore;
    broken = false;
    constructor(inner: KvStore) {
      this.inner = inner;
    }
    get(key: Uint8Array): Promise<Uint8Array | undefined> {
      return this.broken ? Promise.reject(new Error('EIO')) : this.inner.get(key);
    }
    batch: KvStore['batch'] = (ops, options) => this.inner.batch(ops, options);
    iterate(range: KvRange): AsyncIterable<KvEntry> {
      if (!this.broken) return this.inner.iterate(range);
      return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('EIO')) }) };
    }
    close(): Promise<void> {
      return this.inner.close();
    }
  }

  it('rejects load with SKEIN_ERR_STORAGE_READ, never an empty result', async () => {
    await seed('doc', 2, 900);
    await store.close();
    const broken = new BrokenReads(await LevelKv.open(dir));
    store = await openLevelStore({ kv: broken, logger });
    broken.broken = true;
    const err = await store.load('doc').then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(SkeinError);
    expect((err as SkeinError).code).toBe('SKEIN_ERR_STORAGE_READ');
    // Only the index lookup can fail this way too: nothing is cached after a failed read.
    broken.broken = false;
    expect(await store.load('doc')).toHaveLength(2);
  });
});
