import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { LogStore } from '@skein/server';
import { startTestServer } from '../helpers/server.js';
import { ServerProcess, freePort, readStore, tempDataDir } from '../helpers/chaos.js';
import { call } from '../helpers/api.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { waitFor } from '../helpers/wait.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function setKey(doc: Y.Doc, key: string, value: unknown): Uint8Array {
  const sv = Y.encodeStateVector(doc);
  doc.getMap('m').set(key, value);
  return Y.encodeStateAsUpdate(doc, sv);
}

describe('HTTP API durability', () => {
  for (const rules of ['*=immediate', '*=debounced:5000:10000']) {
    it(`a POST's 200 and a version's 201 survive kill -9 (${rules})`, async () => {
      const { dir, cleanup } = await tempDataDir('skein-api-kill9-');
      cleanups.push(cleanup);
      const server = new ServerProcess(await freePort(), dir, ['--persistence-rules', rules, '--history-interval', '0']);
      cleanups.push(() => server.kill());
      await server.start();
      const base = `http://127.0.0.1:${server.port}`;
      const doc = new Y.Doc();
      expect((await call(base, 'POST', '/api/v1/docs/durable/update', { body: setKey(doc, 'a', 1) })).status).toBe(200);
      expect((await call(base, 'POST', '/api/v1/docs/durable/versions', { body: { label: 'first' } })).status).toBe(201);
      expect((await call(base, 'POST', '/api/v1/docs/durable/update', { body: setKey(doc, 'b', 2) })).status).toBe(200);
      await server.kill();

      const stored = await readStore(dir, ['durable']);
      expect(stored.docs.get('durable')?.getMap('m').toJSON()).toEqual({ a: 1, b: 2 });
      expect(stored.problems.filter((p) => p.code !== null)).toEqual([]);

      await server.start();
      const content = await call(base, 'GET', '/api/v1/docs/durable/content');
      expect(content.json).toEqual({ name: 'durable', content: { m: { a: 1, b: 2 } } });
      const versions = await call(base, 'GET', '/api/v1/docs/durable/versions');
      expect(versions.json).toMatchObject({ versions: [{ id: 1, kind: 'named', label: 'first' }] });
      const v1 = await call(base, 'GET', '/api/v1/docs/durable/versions/1/content');
      expect(v1.json).toMatchObject({ content: { m: { a: 1 } } });
      await server.stop();
    });
  }

  it('versions survive compaction and restarts (LevelDB, gc on), and verify finds them intact', async () => {
    const { dir, cleanup } = await tempDataDir('skein-api-versions-');
    cleanups.push(cleanup);
    const options = { storage: 'leveldb' as const, dataDir: dir, historyInterval: '0' };
    let server = await startTestServer(options);
    cleanups.push(async () => void (await server.close()));
    let base = `http://127.0.0.1:${server.port}`;
    const doc = new Y.Doc();
    for (let i = 0; i < 50; i++) await call(base, 'POST', '/api/v1/docs/kept/update', { body: setKey(doc, 'k', i) });
    const v = (await call(base, 'POST', '/api/v1/docs/kept/versions', { body: { label: 'at 49' } })).json as { id: number };
    for (let i = 50; i < 100; i++) await call(base, 'POST', '/api/v1/docs/kept/update', { body: setKey(doc, 'k', i) });
    const report = await (server.store as LogStore).compact('kept');
    expect(report.compacted).toBe(1);
    expect(((await call(base, 'GET', '/api/v1/docs/kept')).json as { updatesSinceSnapshot: number }).updatesSinceSnapshot).toBe(0);
    await server.close();

    server = await startTestServer(options);
    base = `http://127.0.0.1:${server.port}`;
    expect((await call(base, 'GET', `/api/v1/docs/kept/versions/${v.id}/content`)).json).toMatchObject({ version: { label: 'at 49' }, content: { m: { k: 49 } } });
    const state = (await call(base, 'GET', `/api/v1/docs/kept/versions/${v.id}/update`)).bytes;
    const copy = new Y.Doc();
    Y.applyUpdate(copy, state);
    expect(copy.getMap('m').get('k')).toBe(49);
    // Restore after the restart: a forward update over a compacted, garbage-collected log.
    expect((await call(base, 'POST', `/api/v1/docs/kept/versions/${v.id}/restore`)).status).toBe(200);
    expect((await call(base, 'GET', '/api/v1/docs/kept/content')).json).toEqual({ name: 'kept', content: { m: { k: 49 } } });
    await server.close();
    const stored = await readStore(dir, ['kept']);
    expect(stored.problems.filter((p) => p.code !== null)).toEqual([]);
    expect(stored.docs.get('kept')?.getMap('m').get('k')).toBe(49);
  });

  it('automatic versions: one per --history-interval of editing, kept by --history-keep', async () => {
    const clock = new ManualClock();
    const server = await startTestServer({ historyInterval: '1m', historyKeep: '2' }, { clock });
    cleanups.push(async () => void (await server.close()));
    const base = `http://127.0.0.1:${server.port}`;
    const doc = new Y.Doc();
    const versions = async (): Promise<{ id: number; kind: string }[]> =>
      ((await call(base, 'GET', '/api/v1/docs/auto/versions')).json as { versions: { id: number; kind: string }[] }).versions;
    for (let round = 1; round <= 3; round++) {
      await call(base, 'POST', '/api/v1/docs/auto/update', { body: setKey(doc, 'round', round) });
      clock.advance(60_000);
      await server.history?.sweep();
      await waitFor(async () => (await versions()).at(-1)?.id === round, { what: `automatic version ${round}` });
    }
    // No edit during a period: no version.
    clock.advance(60_000);
    await server.history?.sweep();
    expect((await versions()).map((v) => [v.id, v.kind])).toEqual([[2, 'auto'], [3, 'auto']]);
  });
});
