/**
 * A damaged snapshot never loses the document: compaction keeps one generation back (the
 * snapshot it built from, with every update after that one), and a load falls back to it.
 * Real LevelDB stores in temp dirs; the oracle is a Y.Doc holding every update ever written.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { metaPut } from '../../src/persistence/doc-reader.js';
import { nameIndexPut } from '../../src/persistence/doc-state.js';
import { DocKind, Space, docKey, docRange, keyHex, parseDocKey, spaceRange } from '../../src/persistence/key-layout.js';
import type { KvOp, KvStore } from '../../src/persistence/kv-store.js';
import { LevelKv } from '../../src/persistence/level-kv.js';
import { openLevelStore, type LogStore } from '../../src/persistence/log-store.js';
import type { VerifyProblem } from '../../src/persistence/maintenance.js';
import { RecordType, decodeQuarantine, encodeRecord, readRecord } from '../../src/persistence/record-codec.js';
import { capturingLogger } from '../../../test/helpers/logs.js';
import type { SkeinServer } from '@skein/server';
import { DurableClient } from '../../../test/helpers/durable-client.js';
import { startTestServer } from '../../../test/helpers/server.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { Editor, docFrom, logger, sameDoc, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let store: LogStore | undefined;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('skein-snapshot-'));
});

afterEach(async () => {
  await store?.closeWithReport({ timeoutMs: 1_000 });
  store = undefined;
  await cleanup();
});

async function open(log = logger): Promise<LogStore> {
  store = await openLevelStore({ dir, logger: log, compaction: { enabled: false } });
  return store;
}

async function reopen(log = logger): Promise<LogStore> {
  await store?.close();
  store = undefined;
  return open(log);
}

/** Everything written, as one Y.Doc. */
class Oracle {
  readonly updates: Uint8Array[] = [];
  readonly #editors = new Map<number, Editor>();

  async write(s: LogStore, name: string, clients: readonly number[]): Promise<void> {
    for (const c of clients) {
      let editor = this.#editors.get(c);
      if (editor === undefined) {
        editor = new Editor(c);
        this.#editors.set(c, editor);
      }
      const u = editor.edit();
      this.updates.push(u);
      await s.append(name, u);
    }
  }

  get doc(): Y.Doc {
    return docFrom(this.updates);
  }
}

/** Write a few updates, compact, `generations` times, then write a tail after the last snapshot. */
async function history(s: LogStore, name: string, generations: number): Promise<Oracle> {
  const oracle = new Oracle();
  for (let g = 0; g < generations; g++) {
    await oracle.write(s, name, [100 + g, 200, 300 + g]);
    expect((await s.compact(name)).compacted).toBe(1);
  }
  await oracle.write(s, name, [200, 900]);
  return oracle;
}

/** The document's records on disk, by kind (raw KV, store closed). */
async function records(kv: LevelKv): Promise<{ key: Uint8Array; kind: number; seq: number }[]> {
  const out = [];
  for await (const { key } of kv.iterate(spaceRange(Space.Doc))) {
    const parts = parseDocKey(key);
    if (parts !== undefined) out.push({ key, kind: parts.kind, seq: parts.seq });
  }
  return out;
}

/** With the store closed: flip bytes in the middle of the record under `key`. */
async function damage(key: Uint8Array): Promise<void> {
  const kv = await LevelKv.open(dir);
  try {
    const value = await kv.get(key);
    if (value === undefined) throw new Error(`no record ${keyHex(key)}`);
    const bad = value.slice();
    const at = Math.max(5, bad.length >> 1);
    for (let i = at; i < Math.min(bad.length, at + 4); i++) bad[i] = (bad[i] ?? 0) ^ 0xa5;
    await kv.batch([{ type: 'put', key, value: bad }], { sync: true });
  } finally {
    await kv.close();
  }
}

async function snapshotKeys(): Promise<Uint8Array[]> {
  const kv = await LevelKv.open(dir);
  try {
    return (await records(kv)).filter((r) => r.kind === DocKind.Snapshot).map((r) => r.key);
  } finally {
    await kv.close();
  }
}

async function quarantinedKeys(s: LogStore): Promise<string[]> {
  const out: string[] = [];
  for await (const p of s.verify()) {
    expect(p.kind).toBe('quarantined');
    out.push(p.detail);
  }
  return out;
}

describe('a damaged snapshot loses nothing', () => {
  it('flipped bytes in the newest snapshot: the document loads in full, the record is quarantined and logged', async () => {
    const s = await open();
    const oracle = await history(s, 'doc', 3);
    await s.close();
    store = undefined;
    const snaps = await snapshotKeys();
    const newest = snaps.at(-1) ?? new Uint8Array();
    await damage(newest);

    const { logger: log, lines: entries } = capturingLogger('info');
    const again = await open(log);
    expect(sameDoc(oracle.doc, docFrom(await again.load('doc')))).toBe(true);
    expect(snaps).toHaveLength(2); // the newest and the one before it
    expect(again.stats().quarantinedRecords).toBe(1);
    expect(entries.filter((e) => e['code'] === 'SKEIN_ERR_STORAGE_CORRUPT_RECORD')).toEqual([
      expect.objectContaining({ doc: 'doc', damage: 'checksum' }),
    ]);
    const q = await quarantinedKeys(again);
    expect(q).toEqual([expect.stringContaining(`original key ${keyHex(newest)}`)]);

    // Still a working document: more edits, a compaction (from the intact generation), a reopen.
    await oracle.write(again, 'doc', [1000]);
    expect((await again.compact('doc')).compacted).toBe(1);
    const third = await reopen();
    expect(sameDoc(oracle.doc, docFrom(await third.load('doc')))).toBe(true);
    expect(await quarantinedKeys(third)).toHaveLength(1);
  });

  it('after 1 to 4 compactions, any single damaged snapshot or already-merged update loses nothing', async () => {
    for (let generations = 1; generations <= 4; generations++) {
      const s = await open();
      const oracle = await history(s, `doc-${generations}`, generations);
      await s.close();
      store = undefined;
      const kv = await LevelKv.open(dir);
      const all = await records(kv);
      await kv.close();
      const newestSeq = Math.max(...all.filter((r) => r.kind === DocKind.Snapshot).map((r) => r.seq));
      // Every record but the updates after the newest snapshot (they exist nowhere else).
      const victims = all.filter((r) => r.kind === DocKind.Snapshot || r.seq <= newestSeq);
      expect(victims.length).toBeGreaterThan(generations);
      for (const victim of victims) {
        const backup = new Map<string, Uint8Array>();
        const kv2 = await LevelKv.open(dir);
        backup.set('v', (await kv2.get(victim.key)) ?? new Uint8Array());
        await kv2.close();
        await damage(victim.key);
        const s2 = await open();
        const loaded = docFrom(await s2.load(`doc-${generations}`));
        expect(sameDoc(oracle.doc, loaded), `generations=${generations} victim=${keyHex(victim.key)}`).toBe(true);
        await s2.close();
        store = undefined;
        // Put the record back (the load moved it to quarantine) for the next victim.
        const kv3 = await LevelKv.open(dir);
        await kv3.batch([{ type: 'put', key: victim.key, value: backup.get('v') ?? new Uint8Array() }], { sync: true });
        await kv3.close();
      }
    }
  });

  it('never keeps more than two generations, and verify calls only what lies below both stale', async () => {
    const s = await open();
    await history(s, 'doc', 5);
    await s.close();
    store = undefined;
    const kv = await LevelKv.open(dir);
    const all = await records(kv);
    await kv.close();
    const snaps = all.filter((r) => r.kind === DocKind.Snapshot).map((r) => r.seq);
    expect(snaps).toHaveLength(2);
    const updates = all.filter((r) => r.kind === DocKind.Update).map((r) => r.seq);
    expect(Math.min(...updates)).toBe((snaps[0] ?? 0) + 1); // exactly the updates after the previous snapshot
    const problems: VerifyProblem[] = [];
    for await (const p of (await open()).verify()) problems.push(p);
    expect(problems).toEqual([]);
  });

  it('a load reads only the newest snapshot and the updates after it; the previous generation only when needed', async () => {
    const s = await open();
    const oracle = await history(s, 'doc', 3);
    await s.close();
    store = undefined;
    const snaps = await snapshotKeys();
    const [previous, newest] = snaps.map((k) => parseDocKey(k)?.seq ?? -1);
    /** Records a load iterates over (by kind and seq). */
    const loadReads = async (): Promise<{ snapshots: number[]; updates: number[] }> => {
      const inner = await LevelKv.open(dir);
      const seen = { snapshots: [] as number[], updates: [] as number[] };
      const kv: KvStore = {
        get: (key) => inner.get(key),
        batch: (ops, options) => inner.batch(ops, options),
        close: () => inner.close(),
        iterate: (range) => ({
          async *[Symbol.asyncIterator]() {
            for await (const entry of inner.iterate(range)) {
              const parts = parseDocKey(entry.key);
              if (parts?.kind === DocKind.Snapshot) seen.snapshots.push(parts.seq);
              if (parts?.kind === DocKind.Update) seen.updates.push(parts.seq);
              yield entry;
            }
          },
        }),
      };
      store = await openLevelStore({ kv, logger, compaction: { enabled: false } });
      expect(sameDoc(oracle.doc, docFrom(await store.load('doc')))).toBe(true);
      await store.close();
      store = undefined;
      return seen;
    };
    const healthy = await loadReads();
    expect(new Set(healthy.snapshots)).toEqual(new Set([newest])); // (opening the document also reads the newest key: maxStoredSeq)
    expect(Math.min(...healthy.updates)).toBeGreaterThan(newest ?? 0);
    await damage(snaps[1] ?? new Uint8Array());
    const fallback = await loadReads();
    expect(new Set(fallback.snapshots)).toEqual(new Set([newest, previous]));
    expect(Math.min(...fallback.updates)).toBe((previous ?? 0) + 1);
  });

  it('reads a store written by the previous layout (one snapshot, merged updates deleted) and protects it from then on', async () => {
    // What compaction wrote before generations existed: snapshot at S, no update ≤ S, meta.
    const oracle = new Oracle();
    const editors = [new Editor(1), new Editor(2)];
    const folded = editors.flatMap((e) => [e.edit(), e.edit()]);
    oracle.updates.push(...folded);
    const tail = editors.map((e) => e.edit());
    oracle.updates.push(...tail);
    const kv = await LevelKv.open(dir);
    const s0 = await openLevelStore({ kv, logger, compaction: { enabled: false } }); // writes the format record
    await s0.close();
    const raw = await LevelKv.open(dir);
    const docId = 1;
    const snapshot = Y.mergeUpdates(folded);
    const ops: KvOp[] = [nameIndexPut(new TextEncoder().encode('old'), docId)];
    const snapKey = docKey(docId, DocKind.Snapshot, 4);
    ops.push({ type: 'put', key: snapKey, value: encodeRecord(snapKey, RecordType.Snapshot, snapshot) });
    tail.forEach((u, i) => {
      const key = docKey(docId, DocKind.Update, 5 + i);
      ops.push({ type: 'put', key, value: encodeRecord(key, RecordType.Update, u) });
    });
    ops.push(metaPut(docId, {
      name: 'old', createdAt: 1, updatedAt: 1, lastSeq: 6, snapshotSeq: 4, snapshotBytes: snapshot.length,
      logCount: 2, logBytes: tail[0]!.length + tail[1]!.length, totalUpdates: 6,
      stateVector: Y.encodeStateVectorFromUpdate(Y.mergeUpdates(oracle.updates)),
    }));
    await raw.batch(ops, { sync: true });
    await raw.close();

    const s = await open();
    expect(sameDoc(oracle.doc, docFrom(await s.load('old')))).toBe(true);
    expect((await s.compact('old')).mergedUpdates).toBe(2); // the old snapshot is now the previous generation
    await oracle.write(s, 'old', [3]);
    await s.close();
    store = undefined;
    const snaps = await snapshotKeys();
    expect(snaps.map((k) => parseDocKey(k)?.seq)).toEqual([4, 6]);
    await damage(snaps[1] ?? new Uint8Array());
    const again = await open();
    expect(sameDoc(oracle.doc, docFrom(await again.load('old')))).toBe(true);
    expect(again.stats().quarantinedRecords).toBe(1);
  });

  it('a compaction that finds the newest snapshot damaged builds from the previous one and quarantines it', async () => {
    const s = await open();
    const oracle = await history(s, 'doc', 2);
    await s.close();
    store = undefined;
    const snaps = await snapshotKeys();
    await damage(snaps[1] ?? new Uint8Array());
    const again = await open();
    const report = await again.compact('doc'); // before any load: compaction meets the damage first
    expect(report).toMatchObject({ compacted: 1, quarantined: 1 });
    expect(sameDoc(oracle.doc, docFrom(await again.load('doc')))).toBe(true);
    const kv = again; // the quarantine and the two generations are consistent for verify
    const found: VerifyProblem[] = [];
    for await (const p of kv.verify()) found.push(p);
    expect(found.map((p) => p.kind)).toEqual(['quarantined']);
  });
});

describe('docRange records after damage', () => {
  it('the quarantined record keeps the original bytes', async () => {
    const s = await open();
    await history(s, 'doc', 2);
    await s.close();
    store = undefined;
    const newest = (await snapshotKeys())[1] ?? new Uint8Array();
    await damage(newest);
    const kv = await LevelKv.open(dir);
    const damagedValue = await kv.get(newest);
    await kv.close();
    const again = await open();
    await again.load('doc');
    await again.close();
    store = undefined;
    const raw = await LevelKv.open(dir);
    try {
      const q = [];
      for await (const { key, value } of raw.iterate(spaceRange(Space.Quarantine))) {
        const rec = readRecord(key, value, RecordType.Quarantine, decodeQuarantine);
        if (rec.ok) q.push(rec.value);
      }
      expect(q).toHaveLength(1);
      expect(q[0]?.originalKey).toEqual(newest);
      expect(q[0]?.originalValue).toEqual(damagedValue);
      const left = [];
      for await (const { key } of raw.iterate(docRange(1))) left.push(keyHex(key));
      expect(left).not.toContain(keyHex(newest));
    } finally {
      await raw.close();
    }
  });
});

describe('through a real server', () => {
  const clients: DurableClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) {
      await c.stop();
      c.destroy();
    }
  });

  function client(server: SkeinServer, name: string, clientId: number): DurableClient {
    const c = new DurableClient({ url: () => server.url, doc: name, clientId });
    clients.push(c);
    c.start();
    return c;
  }

  async function serve(): Promise<{ store: LogStore; server: SkeinServer; stop: () => Promise<void> }> {
    const s = await open();
    const server = await startTestServer({ unloadDelayMs: 5 }, { store: s });
    return {
      store: s,
      server,
      stop: async () => {
        await s.closeWithReport({ timeoutMs: 5_000 });
        await server.close();
        store = undefined;
      },
    };
  }

  it('keeps serving the full document after its newest snapshot is damaged', async () => {
    const name = 'canvas/board';
    const first = await serve();
    const writers = [client(first.server, name, 41), client(first.server, name, 42)];
    await waitFor(() => writers.every((w) => w.ready), { what: 'writers ready' });
    const keys: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (const w of writers) for (let i = 0; i < 3; i++) keys.push(w.key(w.edit()));
      await waitFor(() => writers.every((w) => w.unacked === 0), { what: `round ${round} acknowledged` });
      expect((await first.store.compact(name)).compacted).toBe(1);
    }
    for (const w of writers) keys.push(w.key(w.edit()));
    await waitFor(() => writers.every((w) => w.unacked === 0), { what: 'tail acknowledged' });
    // The writers leave for good: whatever a reader gets later comes from the store alone.
    for (const w of clients.splice(0)) {
      await w.stop();
      w.destroy();
    }
    await first.stop();
    const snaps = await snapshotKeys();
    await damage(snaps.at(-1) ?? new Uint8Array());

    const second = await serve();
    const reader = client(second.server, name, 43);
    await waitFor(() => reader.ready, { what: 'reader synced' });
    expect([...reader.doc.getMap('m').keys()].sort()).toEqual([...keys].sort());
    expect(second.store.stats().quarantinedRecords).toBe(1);
    // And it keeps working: a new edit is acknowledged (durable) and reaches another client.
    const late = client(second.server, name, 44);
    await waitFor(() => late.ready, { what: 'late writer ready' });
    const key = late.key(late.edit());
    await waitFor(() => late.unacked === 0 && reader.doc.getMap('m').has(key), { what: 'new edit acknowledged and delivered' });
    await second.stop();
  });
});
