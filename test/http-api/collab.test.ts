import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';
import type { SkeinServer } from '@skein/server';
import { startTestServer } from '../helpers/server.js';
import { connectProvider, destroyAll, synced } from '../helpers/clients.js';
import { waitFor } from '../helpers/wait.js';
import { call, errorCode } from '../helpers/api.js';
import { canonicalJson } from '../helpers/docs.js';

const json = (doc: Y.Doc): unknown => doc.getMap('shapes').toJSON();

describe('HTTP API with live WebSocket clients', () => {
  let server: SkeinServer | undefined;
  const providers: WebsocketProvider[] = [];
  afterEach(async () => {
    destroyAll(providers.splice(0));
    await server?.close();
    server = undefined;
  });

  async function clients(n: number, name: string): Promise<WebsocketProvider[]> {
    const started = Array.from({ length: n }, () => connectProvider(server!.url, name));
    providers.push(...started);
    await Promise.all(started.map(synced));
    return started;
  }

  async function content(base: string, name: string): Promise<unknown> {
    const answer = await call(base, 'GET', `/api/v1/docs/${encodeURIComponent(name)}/content?type=shapes:map`);
    return (answer.json as { content: { shapes?: unknown } }).content.shapes ?? {};
  }

  it('a POST while 10 y-websocket clients edit: everyone converges, the POST included', async () => {
    server = await startTestServer({ historyInterval: '0' });
    const base = `http://127.0.0.1:${server.port}`;
    const peers = await clients(10, 'live');
    // Every client edits its own keys while the API writes.
    const edits = Promise.all(peers.map(async (p, i) => {
      for (let k = 0; k < 20; k++) {
        p.doc.getMap('shapes').set(`c${i}-${k}`, k);
        await new Promise((resolve) => setImmediate(resolve));
      }
    }));
    const seed = new Y.Doc();
    seed.getMap('shapes').set('from-api', { via: 'POST' });
    const posted = await call(base, 'POST', '/api/v1/docs/live/update', { body: Y.encodeStateAsUpdate(seed) });
    expect(posted.status).toBe(200);
    await edits;
    const expectedKeys = 10 * 20 + 1;
    await waitFor(() => peers.every((p) => p.doc.getMap('shapes').size === expectedKeys), { what: 'every client has every edit' });
    const serverState = await content(base, 'live');
    for (const p of peers) expect(json(p.doc)).toEqual(serverState);
    expect(serverState).toMatchObject({ 'from-api': { via: 'POST' } });
  });

  it('restore while clients edit: everyone equals the version plus later edits (an offline client merges on top)', async () => {
    server = await startTestServer({ historyInterval: '0' });
    const base = `http://127.0.0.1:${server.port}`;
    const [a, b, offline] = await clients(3, 'board');
    a!.doc.getMap('shapes').set('x', 1);
    a!.doc.getMap('shapes').set('y', { w: 2 });
    a!.doc.getText('title').insert(0, 'Version one');
    await waitFor(() => b!.doc.getMap('shapes').size === 2 && offline!.doc.getText('title').length > 0);
    await waitFor(async () => canonicalJson(await content(base, 'board')) === canonicalJson({ x: 1, y: { w: 2 } }));
    const created = await call(base, 'POST', '/api/v1/docs/board/versions', { body: { label: 'v1' } });
    expect(created.status).toBe(201);
    const v1 = (created.json as { id: number }).id;

    // Edits after the version; one client goes offline and keeps editing.
    b!.doc.getMap('shapes').set('z', 3);
    b!.doc.getMap('shapes').delete('x');
    b!.doc.getText('title').insert(0, 'Not ');
    await waitFor(() => !a!.doc.getMap('shapes').has('x') && offline!.doc.getMap('shapes').has('z'));
    offline!.disconnect();
    offline!.doc.getMap('shapes').set('offline', true);

    // Restore, with an edit racing it.
    const racing = Promise.resolve().then(() => a!.doc.getMap('shapes').set('racing', 1));
    const restored = await call(base, 'POST', `/api/v1/docs/board/versions/${v1}/restore`);
    await racing;
    expect(restored.status).toBe(200);
    expect(restored.json).toMatchObject({ name: 'board', restored: { id: v1 }, before: { kind: 'before-restore' }, changed: true });

    // Later edits, and the offline client comes back.
    a!.doc.getMap('shapes').set('later', 4);
    offline!.connect();
    const all = [a!, b!, offline!];
    await waitFor(() => all.every((p) => p.doc.getMap('shapes').get('later') === 4 && p.doc.getMap('shapes').get('offline') === true), { what: 'later edits everywhere' });
    await waitFor(async () => {
      const server = canonicalJson(await content(base, 'board'));
      return all.every((p) => canonicalJson(json(p.doc)) === server);
    }, { what: 'every replica equals the server' });
    const final = json(a!.doc) as Record<string, unknown>;
    // The version's content, plus what came later; what was deleted since is back, what was added since is gone.
    expect(final).toMatchObject({ x: 1, y: { w: 2 }, later: 4, offline: true });
    expect(final).not.toHaveProperty('z');
    for (const p of all) expect(p.doc.getText('title').toJSON()).toBe('Version one');
    const versions = (await call(base, 'GET', '/api/v1/docs/board/versions')).json as { versions: { kind: string }[] };
    expect(versions.versions.map((v) => v.kind)).toEqual(['named', 'before-restore']);
  });

  it('a restore that fails leaves the document and the version list as they were (saga)', async () => {
    server = await startTestServer({ historyInterval: '0', maxDocBytes: 80_000 });
    const base = `http://127.0.0.1:${server.port}`;
    const doc = new Y.Doc();
    const post = async (change: () => void): Promise<void> => {
      const sv = Y.encodeStateVector(doc);
      change();
      const answer = await call(base, 'POST', '/api/v1/docs/big/update', { body: Y.encodeStateAsUpdate(doc, sv) });
      expect(answer.status).toBe(200);
    };
    const text = doc.getText('t');
    await post(() => text.insert(0, 'a'.repeat(40_000)));
    const v1 = ((await call(base, 'POST', '/api/v1/docs/big/versions', { body: {} })).json as { id: number }).id;
    await post(() => text.delete(0, text.length));
    await post(() => text.insert(0, 'b'.repeat(50_000)));
    const before = await call(base, 'GET', '/api/v1/docs/big/update');
    const failed = await call(base, 'POST', `/api/v1/docs/big/versions/${v1}/restore`);
    expect([failed.status, errorCode(failed)]).toEqual([413, 'SKEIN_ERR_DOC_TOO_LARGE']);
    expect((await call(base, 'GET', '/api/v1/docs/big/update')).bytes).toEqual(before.bytes);
    const versions = (await call(base, 'GET', '/api/v1/docs/big/versions')).json as { versions: { id: number }[] };
    expect(versions.versions.map((v) => v.id)).toEqual([v1]);
  });

  it('DELETE closes open sockets with 4410, drops log and versions, and the name opens a new empty document', async () => {
    server = await startTestServer({ historyInterval: '0' });
    const base = `http://127.0.0.1:${server.port}`;
    const [p] = await clients(1, 'doomed');
    const codes: number[] = [];
    p!.on('connection-close', (event: { code: number } | null) => {
      if (event !== null) codes.push(event.code);
    });
    p!.doc.getMap('shapes').set('k', 'v');
    await waitFor(async () => JSON.stringify(await content(base, 'doomed')) === '{"k":"v"}');
    expect((await call(base, 'POST', '/api/v1/docs/doomed/versions', { body: {} })).status).toBe(201);
    const deleted = await call(base, 'DELETE', '/api/v1/docs/doomed');
    expect(deleted.json).toEqual({ name: 'doomed', deleted: true });
    await waitFor(() => codes.includes(4410), { what: 'close code 4410' });
    const gone = await call(base, 'GET', '/api/v1/docs/doomed');
    expect([gone.status, errorCode(gone)]).toEqual([404, 'SKEIN_ERR_DOC_NOT_FOUND']);
    // Reuse the name: a new document, no old content, no old versions.
    const fresh = new Y.Doc();
    fresh.getMap('shapes').set('new', 1);
    expect((await call(base, 'POST', '/api/v1/docs/doomed/update', { body: Y.encodeStateAsUpdate(fresh) })).status).toBe(200);
    expect(await content(base, 'doomed')).toEqual({ new: 1 });
    expect((await call(base, 'GET', '/api/v1/docs/doomed/versions')).json).toEqual({ name: 'doomed', versions: [] });
  });
});
