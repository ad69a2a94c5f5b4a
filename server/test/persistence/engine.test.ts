import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { SkeinError } from '../../src/errors/skein-error.js';
import { FORMAT_KEY } from '../../src/persistence/key-layout.js';
import { LevelKv } from '../../src/persistence/level-kv.js';
import { openLevelStore, type LogStore, type LogStoreOptions } from '../../src/persistence/log-store.js';
import { RecordType, encodeRecord, encodeVarUint } from '../../src/persistence/record-codec.js';
import {
  CountingKv, Editor, GateKv, docFrom, logger, sameDoc, settle, tempDir, track, updatePuts, waitFor,
} from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
const open: LogStore[] = [];

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});

afterEach(async () => {
  for (const store of open.splice(0)) await store.closeWithReport({ timeoutMs: 1_000 });
  await cleanup();
});

async function openStore(options: Partial<LogStoreOptions> = {}): Promise<LogStore> {
  const store = await openLevelStore({ logger, ...(options.kv === undefined ? { dir } : {}), ...options });
  open.push(store);
  return store;
}

async function closeStore(store: LogStore): Promise<void> {
  open.splice(open.indexOf(store), 1);
  await store.close();
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return err instanceof SkeinError ? err.code : `not a SkeinError: ${String(err)}`;
  }
  return 'resolved';
}

describe('LogStore: append and load', () => {
  it('round-trips updates: a fresh Y.Doc built from load equals the source', async () => {
    const store = await openStore();
    const editor = new Editor();
    await Promise.all(Array.from({ length: 25 }, () => store.append('doc', editor.edit())));
    const loaded = docFrom(await store.load('doc'));
    expect(sameDoc(editor.doc, loaded)).toBe(true);
    expect(await store.load('never-stored')).toEqual([]);
  });

  it('keeps everything across close and reopen', async () => {
    const editor = new Editor();
    const first = await openStore();
    for (let i = 0; i < 10; i++) await first.append('doc', editor.edit());
    await closeStore(first);
    const second = await openStore();
    expect(sameDoc(editor.doc, docFrom(await second.load('doc')))).toBe(true);
    await second.append('doc', editor.edit());
    await closeStore(second);
    const third = await openStore();
    expect(sameDoc(editor.doc, docFrom(await third.load('doc')))).toBe(true);
  });

  it('settles appends of one document in call order', async () => {
    const store = await openStore();
    const editor = new Editor();
    const order: number[] = [];
    await Promise.all(Array.from({ length: 30 }, (_, i) => store.append('doc', editor.edit()).then(() => order.push(i))));
    expect(order).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it('copies the caller buffer: mutating it after append changes nothing', async () => {
    const store = await openStore();
    const editor = new Editor();
    const update = editor.edit();
    const pending = store.append('doc', update);
    update.fill(0);
    await pending;
    expect(sameDoc(editor.doc, docFrom(await store.load('doc')))).toBe(true);
  });

  it('rejects bad names and non-updates with codes, storing nothing', async () => {
    const store = await openStore();
    const update = new Editor().edit();
    expect(await codeOf(store.append('', update))).toBe('SKEIN_ERR_BAD_DOC_NAME');
    expect(await codeOf(store.append('é'.repeat(128), update))).toBe('SKEIN_ERR_BAD_DOC_NAME'); // 256 bytes
    expect(await codeOf(store.append('bad\uD800', update))).toBe('SKEIN_ERR_BAD_DOC_NAME');
    expect(await codeOf(store.load(''))).toBe('SKEIN_ERR_BAD_DOC_NAME');
    expect(await codeOf(store.append('doc', Uint8Array.of(1, 2, 3)))).toBe('SKEIN_ERR_INVALID_UPDATE');
    await store.append('x'.repeat(255), update);
    expect(await store.load('x'.repeat(255))).toHaveLength(1);
    expect(await store.load('doc')).toEqual([]);
  });

  it('includes accepted-but-not-yet-durable updates in load', async () => {
    const store = await openStore({ rules: '*=debounced:3600000:3600000' });
    const editor = new Editor();
    const pending = [store.append('doc', editor.edit()), store.append('doc', editor.edit())];
    expect(sameDoc(editor.doc, docFrom(await store.load('doc')))).toBe(true);
    expect(store.stats().pending.debounced.updates).toBe(2);
    await store.flush('doc');
    await Promise.all(pending);
    expect(store.stats().pending.debounced.updates).toBe(0);
  });
});

describe('LogStore: immediate strategy and group commit', () => {
  it('writes every append batch with sync: true, and N concurrent appends share few batches', async () => {
    const counting = new CountingKv(await LevelKv.open(dir));
    const store = await openStore({ kv: counting });
    const before = counting.batches;
    const editor = new Editor();
    const n = 200;
    await Promise.all(Array.from({ length: n }, () => store.append('doc', editor.edit())));
    const batches = counting.batches - before;
    expect(batches).toBeLessThanOrEqual(3);
    expect(counting.options.every((o) => o.sync)).toBe(true);
    expect(sameDoc(editor.doc, docFrom(await store.load('doc')))).toBe(true);
  });

  it('appends arriving while a synced batch is in flight all go into the next batch', async () => {
    const gate = new GateKv(await LevelKv.open(dir));
    const store = await openStore({ kv: gate });
    gate.holding = true;
    const editor = new Editor();
    const first = track(store.append('doc', editor.edit()));
    await waitFor(() => gate.held.length === 1);
    expect(updatePuts(gate.held[0]?.ops ?? [])).toBe(1);
    const rest = Array.from({ length: 50 }, () => track(store.append('doc', editor.edit())));
    await settle();
    expect(gate.held).toHaveLength(1); // nothing else starts while one batch is in flight
    gate.releaseNext();
    await first.promise;
    expect(rest.every((t) => t.state === 'pending')).toBe(true); // not acknowledged before their own batch
    await waitFor(() => gate.held.length === 1);
    expect(updatePuts(gate.held[0]?.ops ?? [])).toBe(50);
    gate.releaseNext();
    await Promise.all(rest.map((t) => t.promise));
    expect(gate.held).toHaveLength(0);
  });

  it('groups node-wide: batches of other documents asked for during a write go together in the next one', async () => {
    const gate = new GateKv(await LevelKv.open(dir));
    const store = await openStore({ kv: gate });
    gate.holding = true;
    const a = track(store.append('a', new Editor().edit()));
    await waitFor(() => gate.held.length === 1);
    const others = ['b', 'c', 'd'].map((name) => track(store.append(name, new Editor().edit())));
    await settle();
    expect(gate.held).toHaveLength(1); // one write at a time for the whole node
    gate.releaseNext();
    await a.promise;
    await waitFor(() => gate.held.length === 1);
    // b, c and d: one batch, one fsync.
    expect(updatePuts(gate.held[0]?.ops ?? [])).toBe(3);
    expect(others.every((t) => t.state === 'pending')).toBe(true);
    gate.releaseNext();
    await Promise.all(others.map((t) => t.promise));
  });
});

describe('LogStore: names', () => {
  const names = [
    'a', 'ab', 'a/', 'a/b', 'a/b/c', 'a*', 'a=b', 'a,b', 'a:b', 'a\\b', 'a b', 'A',
    '\u0001', '\u0002x', '\u0003', 'é', 'e\u0301', '日本語', '🎨/canvas', 'x'.repeat(255), 'x'.repeat(254),
  ];

  it('keeps documents whose names share prefixes or contain separator bytes isolated', async () => {
    const store = await openStore({ compaction: { maxUpdates: 3 } });
    const editors = new Map(names.map((n, i) => [n, new Editor(1000 + i)]));
    for (let round = 0; round < 4; round++) {
      await Promise.all(names.map((n) => store.append(n, editors.get(n)?.edit(`${n}#${round}`) ?? new Uint8Array())));
    }
    await store.compact('a');
    await closeStore(store);
    const reopened = await openStore();
    for (const n of names) {
      const doc = docFrom(await reopened.load(n));
      expect(sameDoc(editors.get(n)?.doc ?? new Y.Doc(), doc), n).toBe(true);
    }
    const listed: string[] = [];
    for await (const info of reopened.documents()) listed.push(info.name);
    expect([...listed].sort()).toEqual([...names].sort());
  });
});

describe('LogStore: opening', () => {
  it('refuses a newer storage format version with SKEIN_ERR_STORAGE_FORMAT', async () => {
    const kv = await LevelKv.open(dir);
    await kv.batch([{ type: 'put', key: FORMAT_KEY, value: encodeRecord(FORMAT_KEY, RecordType.Format, encodeVarUint(3)) }], { sync: true });
    await kv.close();
    expect(await codeOf(openLevelStore({ dir, logger }))).toBe('SKEIN_ERR_STORAGE_FORMAT');
  });

  it('opens a version 1 store and marks it version 2 (the documents load as they were)', async () => {
    const editor = new Editor();
    const first = await openLevelStore({ dir, logger, compaction: { enabled: false } });
    for (let i = 0; i < 3; i++) await first.append('doc', editor.edit());
    await first.compact('doc');
    await first.append('doc', editor.edit());
    await first.close();
    const kv = await LevelKv.open(dir);
    await kv.batch([{ type: 'put', key: FORMAT_KEY, value: encodeRecord(FORMAT_KEY, RecordType.Format, encodeVarUint(1)) }], { sync: true });
    await kv.close();
    const again = await openLevelStore({ dir, logger });
    expect(sameDoc(editor.doc, docFrom(await again.load('doc')))).toBe(true);
    await again.close();
    const raw = await LevelKv.open(dir);
    const format = await raw.get(FORMAT_KEY);
    await raw.close();
    expect(format && Array.from(format)).toEqual(Array.from(encodeRecord(FORMAT_KEY, RecordType.Format, encodeVarUint(2))));
  });

  it('with upgradeFormat: false opens a version 1 store without writing its format record', async () => {
    const editor = new Editor();
    const first = await openLevelStore({ dir, logger });
    await first.append('doc', editor.edit());
    await first.close();
    const v1 = encodeRecord(FORMAT_KEY, RecordType.Format, encodeVarUint(1));
    const kv = await LevelKv.open(dir);
    await kv.batch([{ type: 'put', key: FORMAT_KEY, value: v1 }], { sync: true });
    await kv.close();
    const reader = await openLevelStore({ dir, logger, upgradeFormat: false, compaction: { enabled: false } });
    expect(sameDoc(editor.doc, docFrom(await reader.load('doc')))).toBe(true);
    await reader.close();
    const raw = await LevelKv.open(dir);
    const format = await raw.get(FORMAT_KEY);
    await raw.close();
    expect(format && Array.from(format)).toEqual(Array.from(v1));
  });

  it('refuses a directory that holds data but no format record', async () => {
    const kv = await LevelKv.open(dir);
    await kv.batch([{ type: 'put', key: Uint8Array.of(0x42), value: Uint8Array.of(1) }], { sync: true });
    await kv.close();
    expect(await codeOf(openLevelStore({ dir, logger }))).toBe('SKEIN_ERR_STORAGE_FORMAT');
  });

  it('reports a directory locked by another store as SKEIN_ERR_STORAGE_OPEN', async () => {
    await openStore();
    expect(await codeOf(openLevelStore({ dir, logger }))).toBe('SKEIN_ERR_STORAGE_OPEN');
  });

  it('rejects invalid rules and options with SKEIN_ERR_CONFIG_INVALID', async () => {
    expect(await codeOf(openLevelStore({ dir, logger, rules: 'x=nope' }))).toBe('SKEIN_ERR_CONFIG_INVALID');
    expect(await codeOf(openLevelStore({ dir, logger, retry: { initialDelayMs: 0 } }))).toBe('SKEIN_ERR_CONFIG_INVALID');
    expect(await codeOf(openLevelStore({ logger }))).toBe('SKEIN_ERR_CONFIG_INVALID');
  });
});

describe('LogStore: close', () => {
  it('flushes pending debounced updates, then rejects further calls with SKEIN_ERR_STORAGE_CLOSED', async () => {
    const editor = new Editor();
    const store = await openStore({ rules: '*=debounced:3600000:3600000' });
    const appended = Promise.all([store.append('doc', editor.edit()), store.append('doc', editor.edit())]);
    await closeStore(store);
    await appended;
    expect(await codeOf(store.append('doc', new Editor().edit()))).toBe('SKEIN_ERR_STORAGE_CLOSED');
    expect(await codeOf(store.load('doc'))).toBe('SKEIN_ERR_STORAGE_CLOSED');
    expect(await codeOf(store.flush('doc'))).toBe('SKEIN_ERR_STORAGE_CLOSED');
    expect(store.health().status).toBe('closed');
    const reopened = await openStore();
    expect(sameDoc(editor.doc, docFrom(await reopened.load('doc')))).toBe(true);
  });

  it('is idempotent', async () => {
    const store = await openStore();
    const a = store.closeWithReport();
    const b = store.closeWithReport();
    expect(await a).toEqual(await b);
    expect((await a).unflushed).toEqual([]);
  });
});
