import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { COMMANDS } from '../src/cli/commands.js';
import { runCli } from '../src/cli/run.js';
import { DocKind, FORMAT_KEY, docKey } from '../src/persistence/key-layout.js';
import { RecordType, decodeVarUint, encodeRecord, encodeVarUint } from '../src/persistence/record-codec.js';
import { LevelKv } from '../src/persistence/level-kv.js';
import { openLevelStore, type LogStore } from '../src/persistence/log-store.js';
import { Editor, docFrom, logger, sameDoc, tempDir } from './persistence/helpers.js';
import { runSkein } from './cli-process.js';

// Runs the built executable, as users do: `npx tsc -b` must have run (pnpm test does).
const SERVER = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(SERVER, 'dist', 'cli', 'main.js');

const skein = runSkein;

let dir: string;
const cleanups: (() => Promise<void>)[] = [];

async function newDir(): Promise<string> {
  const t = await tempDir('skein-cli-offline-');
  cleanups.push(t.cleanup);
  return t.dir;
}

/** Open the store in this process, run `work`, close it (the CLI needs exclusive access). */
async function withStore<T>(at: string, work: (store: LogStore) => Promise<T>, rules?: string): Promise<T> {
  const store = await openLevelStore({ dir: at, logger, compaction: { enabled: false }, ...(rules === undefined ? {} : { rules }) });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/** `n` updates to `name`, one client each (so each update stands on its own); returns the merged doc. */
async function seed(store: LogStore, name: string, n: number, clientBase: number): Promise<Y.Doc> {
  const all: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const update = new Editor(clientBase + i).edit(`${name}-${i}`);
    all.push(update);
    await store.append(name, update);
  }
  return docFrom(all);
}

async function flipUpdateByte(at: string, name: string, seq: number): Promise<void> {
  const docId = await withStore(at, async (store) => {
    for await (const info of store.documents()) if (info.name === name && info.docId !== null) return info.docId;
    throw new Error(`no document ${name}`);
  });
  const raw = await LevelKv.open(at);
  try {
    const key = docKey(docId, DocKind.Update, seq);
    const value = await raw.get(key);
    if (value === undefined) throw new Error('no such record');
    const damaged = value.slice();
    damaged[damaged.length - 1] = (damaged[damaged.length - 1] ?? 0) ^ 0x5a;
    await raw.batch([{ type: 'put', key, value: damaged }], { sync: true });
  } finally {
    await raw.close();
  }
}

const ESC = String.fromCharCode(0x1b);
const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npx tsc -b)`);
  for (const file of readdirSync(join(SERVER, 'src', 'cli')).filter((f) => f.endsWith('.ts'))) {
    const built = join(SERVER, 'dist', 'cli', file.replace(/\.ts$/, '.js'));
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(join(SERVER, 'src', 'cli', file)).mtimeMs) {
      throw new Error(`${built} is older than its source: build first (npx tsc -b)`);
    }
  }
});

beforeEach(async () => {
  dir = await newDir();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('skein inspect', () => {
  it('lists every document (text and JSON), honouring --data-dir and SKEIN_DATA_DIR', async () => {
    await withStore(dir, async (store) => {
      await seed(store, 'notes/a', 3, 100);
      await seed(store, 'b', 2, 200);
      await seed(store, 'notes/a/b', 1, 300);
    });
    const text = await skein(['inspect', '--data-dir', dir]);
    expect(text.status, text.stderr).toBe(0);
    const rows = lines(text.stdout);
    expect(rows[0]).toMatch(/LOG +TOTAL +BYTES +LAST MODIFIED +NAME/);
    expect(rows.slice(1, 4).map((r) => r.split(/\s+/).pop())).toEqual(['b', 'notes/a', 'notes/a/b']);
    expect(rows[4]).toMatch(/^3 documents, 6 updates in logs, \d+ bytes$/);

    const json = await skein(['inspect', '--json'], { SKEIN_DATA_DIR: dir });
    expect(json.status, json.stderr).toBe(0);
    const docs = JSON.parse(json.stdout) as { name: string; logUpdates: number; totalUpdates: number; bytes: number; updatedAt: string }[];
    expect(docs.map((d) => [d.name, d.logUpdates, d.totalUpdates])).toEqual([['b', 2, 2], ['notes/a', 3, 3], ['notes/a/b', 1, 1]]);
    expect(docs.every((d) => d.bytes > 0 && !Number.isNaN(Date.parse(d.updatedAt)))).toBe(true);
  });

  it('lists more documents than one iterator chunk, in name order', async () => {
    const names = Array.from({ length: 300 }, (_, i) => `doc-${String(i).padStart(3, '0')}`);
    await withStore(dir, (store) => Promise.all(names.map((name, i) => store.append(name, new Editor(1000 + i).edit()))), '*=debounced:5:20');
    const run = await skein(['inspect', '--json', '--data-dir', dir]);
    expect(run.status, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as { name: string }[]).map((d) => d.name)).toEqual(names);
  });

  it('shows one document: metadata, records, state vector and the strategy its rules give it', async () => {
    const doc = await withStore(dir, async (store) => {
      const d = await seed(store, 'scratch/x', 4, 500);
      await store.compact('scratch/x');
      await store.append('scratch/x', new Editor(600).edit());
      return d;
    });
    const rules = ['--persistence-rules', 'scratch/*=debounced:5000:30000'];
    const run = await skein(['inspect', 'scratch/x', '--json', '--data-dir', dir, ...rules]);
    expect(run.status, run.stderr).toBe(0);
    const info = JSON.parse(run.stdout) as {
      name: string; strategy: unknown; stateVector: { client: number; clock: number }[];
      meta: { snapshotSeq: number; logUpdates: number; totalUpdates: number };
      records: { snapshots: number; updates: number; damaged: number };
    };
    expect(info.name).toBe('scratch/x');
    expect(info.strategy).toEqual({ kind: 'debounced', waitMs: 5000, maxWaitMs: 30000 });
    expect(info.meta).toMatchObject({ snapshotSeq: 4, logUpdates: 1, totalUpdates: 5 });
    expect(info.records).toMatchObject({ snapshots: 1, updates: 1, damaged: 0 });
    expect(info.stateVector.map((c) => c.client)).toEqual([...Y.decodeStateVector(Y.encodeStateVector(doc)).keys(), 600].sort((a, b) => a - b));

    // The same rules from the environment and from a config file; a flag beats both.
    const file = join(await newDir(), 'skein.json');
    await writeFile(file, JSON.stringify({ dataDir: dir, persistenceRules: 'scratch/*=debounced:7:70' }));
    const fromFile = await skein(['inspect', 'scratch/x', '--config', file]);
    expect(fromFile.stdout).toContain('debounced (written 7 ms after the last update, at most 70 ms after the first)');
    const fromEnv = await skein(['inspect', 'scratch/x', '--config', file], { SKEIN_PERSISTENCE_RULES: 'scratch/*=debounced:8:80' });
    expect(fromEnv.stdout).toContain('written 8 ms');
    const fromFlag = await skein(['inspect', 'scratch/x', '--config', file, ...rules], { SKEIN_PERSISTENCE_RULES: 'scratch/*=debounced:8:80' });
    expect(fromFlag.stdout).toContain('written 5000 ms');
    expect(fromFlag.stdout).toMatch(/^on disk +1 snapshot\(s\) \d+ bytes, 1 update\(s\)/m);
  });

  it('fails with one line and a code: unknown document, no store, bad arguments', async () => {
    await withStore(dir, (store) => seed(store, 'a', 1, 1));
    const missing = await skein(['inspect', 'nope', '--data-dir', dir]);
    expect([missing.status, lines(missing.stderr)]).toEqual([1, [expect.stringMatching(/^skein: SKEIN_ERR_DOC_NOT_FOUND: .*"nope"/)]]);
    const noStore = await skein(['inspect', '--data-dir', join(dir, 'elsewhere')]);
    expect([noStore.status, lines(noStore.stderr)]).toEqual([1, [expect.stringMatching(/^skein: SKEIN_ERR_STORAGE_OPEN: no Skein store at /)]]);
    expect(existsSync(join(dir, 'elsewhere'))).toBe(false);
    const extra = await skein(['inspect', 'a', 'b', '--data-dir', dir]);
    expect([extra.status, extra.stderr]).toEqual([2, expect.stringMatching(/^skein: SKEIN_ERR_USAGE: unexpected argument "b"/)]);
  });

  it('refuses a store locked by a running skein serve, in one line', async () => {
    await withStore(dir, (store) => seed(store, 'a', 1, 1));
    const server = spawn(process.execPath, [MAIN, 'serve', '--port', '0', '--data-dir', dir], { env: { PATH: process.env['PATH'] ?? '' }, stdio: ['ignore', 'pipe', 'ignore'] });
    const exited = new Promise((resolve) => server.once('exit', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('exit', () => reject(new Error('serve exited early')));
        createInterface({ input: server.stdout }).on('line', (line) => {
          if (line.includes('"msg":"listening"')) resolve();
        });
      });
      const update = join(await newDir(), 'u.ydoc');
      await writeFile(update, new Editor(5).edit());
      for (const args of [['inspect'], ['verify'], ['compact'], ['export', 'a', '--format', 'json'], ['import', 'a', update]]) {
        const run = await skein([...args, '--data-dir', dir]);
        expect(run.status, args.join(' ')).toBe(1);
        expect(lines(run.stderr)).toEqual([expect.stringMatching(/^skein: SKEIN_ERR_STORAGE_OPEN: the store at .* is in use by another process \(is skein serve running\? stop it first\)$/)]);
      }
    } finally {
      server.kill('SIGTERM');
      await exited;
    }
  });
});

describe('skein verify', () => {
  it('exits 0 on a clean store and 1 after a record is damaged, listing the problem with its code', async () => {
    await withStore(dir, async (store) => {
      await seed(store, 'victim', 4, 100);
      await seed(store, 'bystander', 2, 200);
    });
    const clean = await skein(['verify', '--data-dir', dir]);
    expect(clean.status, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(/^verify: \d+ records checked: OK\n$/);

    await flipUpdateByte(dir, 'victim', 2);
    const damaged = await skein(['verify', '--data-dir', dir]);
    expect(damaged.status).toBe(1);
    const out = lines(damaged.stdout);
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(/^SKEIN_ERR_STORAGE_CORRUPT_RECORD damaged doc="victim" seq=2 key=03[0-9a-f]+: update checksum$/);
    expect(out[1]).toMatch(/^verify: \d+ records checked: DAMAGED \(1 problem\); 1 damaged$/);
    const json = await skein(['verify', '--json', '--data-dir', dir]);
    expect(json.status).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false, counts: { damaged: 1 },
      problems: [{ kind: 'damaged', code: 'SKEIN_ERR_STORAGE_CORRUPT_RECORD', doc: 'victim', seq: 2 }],
    });

    // Export is read-only: it skips the damaged record (with a warning) and quarantines nothing.
    const exported = await skein(['export', 'victim', '--format', 'json', '--data-dir', dir]);
    expect(exported.status, exported.stderr).toBe(0);
    expect(exported.stderr).toMatch(/warning: 1 damaged record\(s\) of "victim" skipped/);
    expect(Object.values((JSON.parse(exported.stdout) as { m: Record<string, string> }).m).sort()).toEqual(['victim-0', 'victim-2', 'victim-3']);
    expect((await skein(['verify', '--data-dir', dir])).status).toBe(1);

    // Compaction quarantines it: the live records are intact again (verify lists the quarantine, exit 0).
    const compacted = await skein(['compact', 'victim', '--data-dir', dir]);
    expect(compacted.status, compacted.stderr).toBe(0);
    expect(compacted.stdout).toMatch(/1 damaged records quarantined/);
    const after = await skein(['verify', '--data-dir', dir]);
    expect(after.status, after.stdout).toBe(0);
    expect(after.stdout).toMatch(/^SKEIN_ERR_STORAGE_CORRUPT_RECORD quarantined doc=- seq=- key=05[0-9a-f]+: quarantined \(checksum\)/m);
  });
});

describe('format versions', () => {
  /** The store's format version (the varuint payload of its format record). */
  async function formatVersion(at: string): Promise<number | undefined> {
    const raw = await LevelKv.open(at);
    try {
      const value = await raw.get(FORMAT_KEY);
      return value === undefined ? undefined : decodeVarUint(value.subarray(5));
    } finally {
      await raw.close();
    }
  }

  it('verify, inspect and export leave a version 1 store as it is; compact marks it version 2', async () => {
    const doc = await withStore(dir, (store) => seed(store, 'a', 3, 100));
    const raw = await LevelKv.open(dir);
    await raw.batch([{ type: 'put', key: FORMAT_KEY, value: encodeRecord(FORMAT_KEY, RecordType.Format, encodeVarUint(1)) }], { sync: true });
    await raw.close();
    for (const args of [['verify'], ['inspect'], ['inspect', 'a'], ['export', 'a', '--format', 'json']]) {
      const run = await skein([...args, '--data-dir', dir]);
      expect(run.status, `${args.join(' ')}: ${run.stderr}`).toBe(0);
      expect(await formatVersion(dir), args.join(' ')).toBe(1);
    }
    const compacted = await skein(['compact', '--data-dir', dir]);
    expect(compacted.status, compacted.stderr).toBe(0);
    expect(await formatVersion(dir)).toBe(2);
    await withStore(dir, async (store) => {
      expect(sameDoc(doc, docFrom(await store.load('a')))).toBe(true);
    });
  });
});

describe('skein compact', () => {
  it('compacts every document (or one) without changing any content', async () => {
    const docs = await withStore(dir, async (store) => [await seed(store, 'a', 5, 100), await seed(store, 'b', 3, 200), await seed(store, 'c', 1, 300)]);
    const single = await skein(['compact', 'b', '--json', '--data-dir', dir]);
    expect(single.status, single.stderr).toBe(0);
    expect(JSON.parse(single.stdout)).toMatchObject({ documents: 1, compacted: 1, mergedUpdates: 3, failed: [] });
    const all = await skein(['compact', '--data-dir', dir]);
    expect(all.status, all.stderr).toBe(0);
    // b is compacted already; a and c are merged now (c has a single update, still one record).
    expect(all.stdout).toMatch(/^compact: 2 of 3 documents compacted, 6 updates merged, \d+ -> \d+ bytes, 0 damaged records quarantined\n$/);
    expect((await skein(['verify', '--data-dir', dir])).status).toBe(0);
    await withStore(dir, async (store) => {
      for (const [i, name] of ['a', 'b', 'c'].entries()) {
        const parts = await store.load(name);
        expect(parts).toHaveLength(1);
        expect(sameDoc(docs[i] ?? new Y.Doc(), docFrom(parts))).toBe(true);
      }
    });
    const missing = await skein(['compact', 'zzz', '--data-dir', dir]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^skein: SKEIN_ERR_DOC_NOT_FOUND/);
  });
});

describe('skein export and import', () => {
  it('round-trips a document through an update file into another store, and importing again changes nothing', async () => {
    const source = await withStore(dir, async (store) => {
      const d = await seed(store, 'doc', 6, 100);
      await store.compact('doc');
      const more = new Editor(700);
      const u = more.edit('after-snapshot');
      await store.append('doc', u);
      Y.applyUpdate(d, u);
      return d;
    });
    const file = join(await newDir(), 'doc.ydoc');
    const exported = await skein(['export', 'doc', '--out', file, '--data-dir', dir]);
    expect(exported.status, exported.stderr).toBe(0);
    expect(exported.stdout).toBe('');
    expect(sameDoc(source, docFrom([new Uint8Array(await readFile(file))]))).toBe(true);
    // stdout gives the same bytes.
    const piped = await skein(['export', 'doc', '--data-dir', dir]);
    expect(piped.bytes.equals(await readFile(file))).toBe(true);

    const target = join(await newDir(), 'data');
    const imported = await skein(['import', 'copy', file, '--data-dir', target]);
    expect(imported.status, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(/^import: merged \d+ bytes into new document "copy" in /);
    const again = await skein(['import', 'copy', file, '--json', '--data-dir', target]);
    expect(JSON.parse(again.stdout)).toMatchObject({ document: 'copy', created: false, clients: 7 });
    await withStore(target, async (store) => expect(sameDoc(source, docFrom(await store.load('copy')))).toBe(true));

    // Import merges: a concurrent edit already in the target survives, the file's content is added.
    const concurrent = new Editor(900);
    await withStore(dir, (store) => store.append('doc', concurrent.edit('only-in-source-later')));
    const second = join(await newDir(), 'doc2.ydoc');
    expect((await skein(['export', 'doc', '--out', second, '--data-dir', dir])).status).toBe(0);
    expect((await skein(['import', 'copy', second, '--data-dir', target])).status).toBe(0);
    const [left, right] = await Promise.all([
      skein(['export', 'doc', '--format', 'json', '--data-dir', dir]),
      skein(['export', 'copy', '--format', 'json', '--data-dir', target]),
    ]);
    expect(right.stdout).toBe(left.stdout);
    expect(left.stdout).toContain('only-in-source-later');
  });

  it('renders every top-level shared type as JSON', async () => {
    const doc = new Y.Doc();
    doc.transact(() => {
      const map = doc.getMap('settings');
      map.set('title', 'Hello');
      map.set('count', 3);
      const nested = new Y.Map<unknown>();
      nested.set('deep', true);
      map.set('nested', nested);
      doc.getArray<unknown>('list').push([1, 'two', { three: 3 }]);
      const text = doc.getText('body');
      text.insert(0, 'plain and bold');
      text.format(10, 4, { bold: true });
      const paragraph = new Y.XmlElement('p');
      paragraph.insert(0, [new Y.XmlText('xml text')]);
      doc.getXmlFragment('prosemirror').insert(0, [paragraph]);
      doc.getArray('emptied').push(['gone']);
    });
    doc.getArray('emptied').delete(0, 1);
    const file = join(await newDir(), 'rich.ydoc');
    await writeFile(file, Y.encodeStateAsUpdate(doc));
    expect((await skein(['import', 'rich', file, '--data-dir', dir])).status).toBe(0);
    const run = await skein(['export', 'rich', '--format', 'json', '--data-dir', dir]);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      body: 'plain and bold',
      emptied: null,
      list: [1, 'two', { three: 3 }],
      prosemirror: '<p>xml text</p>',
      settings: { title: 'Hello', count: 3, nested: { deep: true } },
    });
    const out = join(await newDir(), 'rich.json');
    expect((await skein(['export', 'rich', '--format', 'json', '--out', out, '--data-dir', dir])).status).toBe(0);
    expect(await readFile(out, 'utf8')).toBe(run.stdout);
  });

  it('refuses bad input without writing anything', async () => {
    const garbage = join(await newDir(), 'garbage.bin');
    await writeFile(garbage, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x01));
    const target = join(await newDir(), 'data');
    const bad = await skein(['import', 'doc', garbage, '--data-dir', target]);
    expect([bad.status, lines(bad.stderr)]).toEqual([1, [expect.stringMatching(/^skein: SKEIN_ERR_INVALID_UPDATE: /)]]);
    expect(existsSync(target)).toBe(false);
    const missingFile = await skein(['import', 'doc', join(target, 'nope.bin'), '--data-dir', target]);
    expect([missingFile.status, missingFile.stderr]).toEqual([1, expect.stringMatching(/^skein: SKEIN_ERR_CLI_FILE: cannot read .*ENOENT/)]);
    for (const args of [['export'], ['import', 'doc'], ['export', 'doc', '--format', 'xml']]) {
      const run = await skein([...args, '--data-dir', dir]);
      expect([run.status, lines(run.stderr)], args.join(' ')).toEqual([2, [expect.stringMatching(/^skein: SKEIN_ERR_USAGE: /)]]);
    }
  });
});

describe('output on a terminal (in process, fake TTY streams)', () => {
  function fakeStream(tty: boolean): PassThrough & { isTTY?: boolean; text(): string } {
    const stream = new PassThrough() as PassThrough & { isTTY?: boolean; text(): string };
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    if (tty) stream.isTTY = true;
    stream.text = () => Buffer.concat(chunks).toString('utf8');
    return stream;
  }

  it('draws progress on stderr only when it is a TTY; stdout stays clean', async () => {
    await withStore(dir, (store) => Promise.all(Array.from({ length: 20 }, (_, i) => store.append(`d${i}`, new Editor(10 + i).edit()))));
    for (const command of ['verify', 'inspect', 'compact']) {
      const [stdout, ttyErr] = [fakeStream(false), fakeStream(true)];
      expect(await runCli([command, '--data-dir', dir, '--log-level', 'silent'], { stdout, stderr: ttyErr, env: {} }, COMMANDS)).toBe(0);
      const drawn = ttyErr.text();
      expect(drawn.startsWith('\r'), command).toBe(true);
      expect(drawn, command).toMatch(/\d+/);
      expect(drawn.includes(`${ESC}[K`), command).toBe(true);
      expect(stdout.text().includes('\r') || stdout.text().includes(ESC), command).toBe(false);
      const pipedErr = fakeStream(false);
      expect(await runCli([command, '--data-dir', dir], { stdout: fakeStream(false), stderr: pipedErr, env: {} }, COMMANDS)).toBe(0);
      expect(pipedErr.text(), command).toBe('');
    }
  });

  it('refuses to write a binary update to a terminal', async () => {
    await withStore(dir, (store) => seed(store, 'doc', 1, 1));
    const stderr = fakeStream(false);
    const status = await runCli(['export', 'doc', '--data-dir', dir], { stdout: fakeStream(true), stderr, env: {} }, COMMANDS);
    expect(status).toBe(2);
    expect(stderr.text()).toMatch(/^skein: SKEIN_ERR_USAGE: refusing to write a binary Yjs update to a terminal/);
  });
});
