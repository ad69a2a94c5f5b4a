import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { startTestServer } from '../helpers/server.js';
import { readStore, tempDataDir } from '../helpers/chaos.js';
import { call } from '../helpers/api.js';
import { runSkein } from '../../server/test/cli-process.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('skein versions list|show|restore (stopped data dir)', () => {
  it('lists, shows and restores the versions the API took', async () => {
    const { dir, cleanup } = await tempDataDir('skein-cli-versions-');
    cleanups.push(cleanup);
    const server = await startTestServer({ storage: 'leveldb', dataDir: dir, historyInterval: '0' });
    const base = `http://127.0.0.1:${server.port}`;
    const doc = new Y.Doc();
    const set = async (value: number): Promise<void> => {
      const sv = Y.encodeStateVector(doc);
      doc.getMap('m').set('v', value);
      expect((await call(base, 'POST', '/api/v1/docs/board%2F1/update', { body: Y.encodeStateAsUpdate(doc, sv) })).status).toBe(200);
    };
    await set(1);
    expect((await call(base, 'POST', '/api/v1/docs/board%2F1/versions', { body: { label: 'one' } })).status).toBe(201);
    await set(2);
    await server.close();

    const env = { SKEIN_DATA_DIR: dir };
    const list = await runSkein(['versions', 'list', 'board/1', '--json'], env);
    expect(list.status, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toMatchObject({ document: 'board/1', versions: [{ id: 1, kind: 'named', label: 'one' }] });
    const show = await runSkein(['versions', 'show', 'board/1', '1', '--json'], env);
    expect(JSON.parse(show.stdout)).toMatchObject({ version: { id: 1 }, content: { m: { v: 1 } } });
    const restore = await runSkein(['versions', 'restore', 'board/1', '1', '--json'], env);
    expect(restore.status, restore.stderr).toBe(0);
    expect(JSON.parse(restore.stdout)).toMatchObject({ restored: { id: 1 }, before: { id: 2, kind: 'before-restore' }, changed: true });
    const stored = await readStore(dir, ['board/1']);
    expect(stored.docs.get('board/1')?.getMap('m').get('v')).toBe(1);

    const missing = await runSkein(['versions', 'show', 'board/1', '9'], env);
    expect([missing.status, missing.stderr]).toEqual([1, expect.stringContaining('SKEIN_ERR_VERSION_NOT_FOUND')]);
    const usage = await runSkein(['versions', 'drop', 'board/1'], env);
    expect([usage.status, usage.stderr]).toEqual([2, expect.stringContaining('SKEIN_ERR_USAGE')]);
    const nodoc = await runSkein(['versions', 'list', 'nope'], env);
    expect([nodoc.status, nodoc.stderr]).toEqual([1, expect.stringContaining('SKEIN_ERR_DOC_NOT_FOUND')]);
  });
});
