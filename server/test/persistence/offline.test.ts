import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { Space, keyHex } from '../../src/persistence/key-layout.js';
import { LevelKv } from '../../src/persistence/level-kv.js';
import { openLevelStore, type LogStore } from '../../src/persistence/log-store.js';
import type { DocumentInfo, VerifyProblem } from '../../src/persistence/maintenance.js';
import { Editor, ManualTimers, docFrom, logger, sameDoc, tempDir } from './helpers.js';

let dirs: { dir: string; cleanup: () => Promise<void> }[];
const stores: LogStore[] = [];

beforeEach(async () => {
  dirs = [await tempDir(), await tempDir()];
});

afterEach(async () => {
  for (const s of stores.splice(0)) await s.closeWithReport({ timeoutMs: 1_000 });
  for (const d of dirs) await d.cleanup();
});

async function openAt(i: number, timers?: ManualTimers): Promise<LogStore> {
  const s = await openLevelStore({ dir: dirs[i]?.dir ?? '', logger, compaction: { enabled: false }, ...(timers ? { timers } : {}) });
  stores.push(s);
  return s;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('offline helpers', () => {
  it('lists documents with metadata in name order, streaming', async () => {
    const timers = new ManualTimers();
    const s = await openAt(0, timers);
    const t0 = timers.now();
    const editor = new Editor();
    const updates = [editor.edit(), editor.edit(), editor.edit()];
    for (const u of updates) await s.append('b', u);
    timers.advance(5_000);
    await s.append('a', new Editor().edit());
    await s.append('a', new Editor().edit());
    const docs = await collect(s.documents());
    expect(docs.map((d) => d.name)).toEqual(['a', 'b']);
    const b = docs[1] as DocumentInfo;
    expect(b.problem).toBeNull();
    expect(b.meta).toMatchObject({
      name: 'b', createdAt: t0, updatedAt: t0, lastSeq: 3, logCount: 3, totalUpdates: 3, snapshotSeq: 0,
      logBytes: updates.reduce((n, u) => n + u.length, 0),
    });
    expect(Y.decodeStateVector(b.meta?.stateVector ?? new Uint8Array())).toEqual(Y.decodeStateVector(Y.encodeStateVector(editor.doc)));
    expect(docs[0]?.meta?.createdAt).toBe(t0 + 5_000);

    // Streaming: stop after the first without reading the rest.
    for await (const d of s.documents()) {
      expect(d.name).toBe('a');
      break;
    }
    await s.compact('b');
    const after = (await collect(s.documents()))[1];
    expect(after?.meta).toMatchObject({ snapshotSeq: 3, logCount: 0, logBytes: 0, totalUpdates: 3 });
    expect(after?.meta?.stateVector).toEqual(Y.encodeStateVector(editor.doc));
  });

  it('verify finds nothing wrong in a healthy store, and reports unknown keys', async () => {
    const s = await openAt(0);
    for (const name of ['x', 'x/y', 'z']) await s.append(name, new Editor().edit());
    await s.compact('x');
    expect(await collect(s.verify())).toEqual([]);
    await s.closeWithReport();
    const raw = await LevelKv.open(dirs[0]?.dir ?? '');
    const stray = Uint8Array.of(0x7f, 1, 2);
    await raw.batch([{ type: 'put', key: stray, value: Uint8Array.of(0) }], { sync: true });
    await raw.close();
    const again = await openAt(0);
    const problems: VerifyProblem[] = await collect(again.verify());
    expect(problems).toEqual([expect.objectContaining({ kind: 'unknown-key', key: keyHex(stray) })]);
    expect(Object.values(Space)).not.toContain(0x7f);
  });

  it('exports a document as one merged update and imports it into another store', async () => {
    const source = await openAt(0);
    const target = await openAt(1);
    const editor = new Editor();
    for (let i = 0; i < 8; i++) await source.append('doc', editor.edit());
    expect(await source.exportDocument('missing')).toBeUndefined();
    const exported = await source.exportDocument('doc');
    expect(exported).toBeInstanceOf(Uint8Array);
    await target.importUpdate('copied', exported ?? new Uint8Array());
    expect(sameDoc(editor.doc, docFrom(await target.load('copied')))).toBe(true);
    // Import merges: importing a concurrent edit keeps both.
    const other = new Editor();
    await target.importUpdate('copied', other.edit('other'));
    const merged = docFrom(await target.load('copied'));
    expect([...merged.getMap('m').values()]).toContain('other');
    expect(merged.getMap('m').size).toBe(editor.doc.getMap('m').size + 1);
  });

  it('compact() without a name compacts every document and reports totals', async () => {
    const s = await openAt(0);
    for (const name of ['a', 'b', 'c']) for (let i = 0; i < 4; i++) await s.append(name, new Editor().edit());
    const report = await s.compact();
    expect(report).toEqual({ documents: 3, compacted: 3, mergedUpdates: 12, quarantined: 0, failed: [] });
    for (const name of ['a', 'b', 'c']) expect(await s.load(name)).toHaveLength(1);
  });

  it('imports durably even under a debounced rule', async () => {
    const s = await openLevelStore({ dir: dirs[0]?.dir ?? '', logger, rules: '*=debounced:3600000:3600000' });
    stores.push(s);
    const editor = new Editor();
    await s.importUpdate('doc', editor.edit());
    await s.closeWithReport();
    const again = await openAt(0);
    expect(sameDoc(editor.doc, docFrom(await again.load('doc')))).toBe(true);
  });
});
