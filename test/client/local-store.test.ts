import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { IndexedDbStore, MemoryLocalStore, type LocalStore, type StoredEntry } from '@skein/client';

let nextDb = 0;
const implementations: [string, () => LocalStore][] = [
  ['MemoryLocalStore', () => new MemoryLocalStore()],
  ['IndexedDbStore', () => new IndexedDbStore({ dbName: `conformance-${nextDb++}` })],
];

const entry = (key: string, kind: StoredEntry['kind'], ...bytes: number[]): StoredEntry => ({
  key,
  kind,
  bytes: Uint8Array.from(bytes),
});
const plain = (entries: StoredEntry[]): [string, string, number[]][] => entries.map((e) => [e.key, e.kind, [...e.bytes]]);

describe.each(implementations)('LocalStore conformance: %s', (_name, create) => {
  const stores: LocalStore[] = [];
  const open = (): LocalStore => {
    const s = create();
    stores.push(s);
    return s;
  };
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  it('an unknown document is empty', async () => {
    expect(await open().load('nothing')).toEqual([]);
  });

  it('puts and loads entries in key order, per document', async () => {
    const s = open();
    await s.write('a', { put: [entry('k2', 'pending', 2), entry('k1', 'replica', 1)] });
    await s.write('b', { put: [entry('k1', 'pending', 9)] });
    expect(plain(await s.load('a'))).toEqual([
      ['k1', 'replica', [1]],
      ['k2', 'pending', [2]],
    ]);
    expect(plain(await s.load('b'))).toEqual([['k1', 'pending', [9]]]);
  });

  it('a batch deletes and puts together; deleting a missing key is a no-op', async () => {
    const s = open();
    await s.write('d', { put: [entry('p1', 'pending', 1), entry('p2', 'pending', 2)] });
    await s.write('d', { delete: ['p1', 'p2', 'missing'], put: [entry('r1', 'replica', 1, 2)] });
    expect(plain(await s.load('d'))).toEqual([['r1', 'replica', [1, 2]]]);
    await s.write('d', { delete: ['r1'] });
    expect(await s.load('d')).toEqual([]);
  });

  it('a put replaces an entry with the same key', async () => {
    const s = open();
    await s.write('d', { put: [entry('k', 'pending', 1)] });
    await s.write('d', { put: [entry('k', 'replica', 2)] });
    expect(plain(await s.load('d'))).toEqual([['k', 'replica', [2]]]);
  });

  it('stored bytes do not alias the caller buffers', async () => {
    const s = open();
    const e = entry('k', 'pending', 1, 2, 3);
    await s.write('d', { put: [e] });
    e.bytes[0] = 99;
    const [loaded] = await s.load('d');
    expect([...(loaded?.bytes ?? [])]).toEqual([1, 2, 3]);
  });

  it('rejects after close', async () => {
    const s = open();
    await s.close();
    await expect(s.load('d')).rejects.toThrow();
    await expect(s.write('d', { put: [entry('k', 'pending', 1)] })).rejects.toThrow();
  });
});

describe('IndexedDbStore specifics', () => {
  it('a failing batch applies nothing (one transaction)', async () => {
    const s = new IndexedDbStore({ dbName: 'atomic' });
    await s.write('d', { put: [entry('keep', 'pending', 1)] });
    const unclonable = { key: 'bad', kind: 'pending', bytes: (() => undefined) as unknown as Uint8Array } as StoredEntry;
    await expect(s.write('d', { delete: ['keep'], put: [unclonable] })).rejects.toThrow();
    expect(plain(await s.load('d'))).toEqual([['keep', 'pending', [1]]]);
    await s.close();
  });

  it('two handles on one database (two tabs) see each other', async () => {
    const a = new IndexedDbStore({ dbName: 'tabs' });
    const b = new IndexedDbStore({ dbName: 'tabs' });
    await a.write('d', { put: [entry('a1', 'pending', 1)] });
    await b.write('d', { put: [entry('b1', 'pending', 2)] });
    expect((await a.load('d')).map((e) => e.key)).toEqual(['a1', 'b1']);
    expect(a.channelName).toBe(b.channelName);
    await Promise.all([a.close(), b.close()]);
  });
});
