import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WebsocketProvider } from 'y-websocket';
import type { Config, SkeinServer } from '@skein/server';
import { startTestServer } from '../helpers/server.js';
import { connectProvider, destroyAll, synced } from '../helpers/clients.js';
import { waitFor } from '../helpers/wait.js';
import { ADMIN_TOKEN, JWT_SECRET, OpenApiChecker, call, errorCode, token, type ApiAnswer, type ApiCall } from '../helpers/api.js';

/**
 * The routes the inspector uses beyond the document and version routes (docs/inspector.md):
 * GET /connections, DELETE /connections/{id}, GET /docs/{name}/awareness — their access under
 * `--inspector admin|open`, their answers checked against the OpenAPI document — and the
 * `/_skein/` files themselves (`--inspector off` removes them).
 */
const BUILD = fileURLToPath(new URL('../../examples/inspector/scripts/build-if-needed.mjs', import.meta.url));

describe('inspector routes', () => {
  beforeAll(() => {
    const built = spawnSync(process.execPath, [BUILD, '--quiet'], { encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`inspector build failed:\n${built.stdout}${built.stderr}`);
  });
  let server: SkeinServer | undefined;
  const providers: WebsocketProvider[] = [];
  afterEach(async () => {
    destroyAll(providers.splice(0));
    await server?.close();
    server = undefined;
  });

  async function start(overrides: Partial<Config>): Promise<{ base: string; api: (m: string, p: string, t: string, o?: ApiCall) => Promise<ApiAnswer> }> {
    server = await startTestServer({ auth: 'jwt', authJwtSecret: JWT_SECRET, adminToken: ADMIN_TOKEN, historyInterval: '0', ...overrides });
    const base = `http://127.0.0.1:${server.port}`;
    const openapi = new OpenApiChecker((await call(base, 'GET', '/api/v1/openapi.json')).json);
    const api = async (method: string, path: string, template: string, options: ApiCall = {}): Promise<ApiAnswer> => {
      const answer = await call(base, method, path, options);
      openapi.check(method, template, answer, path, options);
      return answer;
    };
    return { base, api };
  }

  async function client(name: string, sub: string): Promise<WebsocketProvider> {
    const p = connectProvider(server!.url, name, undefined, { params: { token: await token({ 'board/*': 'write' }, sub) } });
    providers.push(p);
    await synced(p);
    return p;
  }

  it('admin mode: the admin token lists connections and presence and closes a socket with 4403; others are refused', async () => {
    const { api } = await start({});
    const writer = await token({ 'board/*': 'write' });
    const alice = await client('board/1', 'alice');
    alice.awareness.setLocalStateField('user', { name: 'Alice', color: '#1971c2' });
    alice.doc.getMap('shapes').set('a', 1);

    let conn: Record<string, unknown> | undefined;
    await waitFor(async () => {
      const a = await api('GET', '/api/v1/connections', '/connections', { token: ADMIN_TOKEN });
      [conn] = (a.json as { connections: Record<string, unknown>[] }).connections;
      return conn !== undefined && (conn.bytesIn as number) > 0;
    }, { what: 'the connection has received bytes', intervalMs: 50 });
    expect(conn).toMatchObject({ doc: 'board/1', user: 'alice', readOnly: false, ip: '127.0.0.1' });
    expect(conn!.bytesOut as number).toBeGreaterThan(0);

    let presence: unknown;
    await waitFor(async () => {
      presence = (await api('GET', `/api/v1/docs/${encodeURIComponent('board/1')}/awareness`, '/docs/{name}/awareness', { token: ADMIN_TOKEN })).json;
      return (presence as { clients: unknown[] }).clients.length === 1;
    }, { what: 'the awareness state reached the server', intervalMs: 50 });
    expect(presence).toEqual({ name: 'board/1', clients: [{ clientId: alice.doc.clientID, state: { user: { name: 'Alice', color: '#1971c2' } } }] });

    // A document token is not enough for the inspector's routes in admin mode.
    expect(errorCode(await api('GET', '/api/v1/connections', '/connections', { token: writer }))).toBe('SKEIN_ERR_ADMIN_REQUIRED');
    expect(errorCode(await api('GET', '/api/v1/docs/board%2F1/awareness', '/docs/{name}/awareness', { token: writer }))).toBe('SKEIN_ERR_ADMIN_REQUIRED');
    expect(errorCode(await api('DELETE', `/api/v1/connections/${conn!.id as number}`, '/connections/{id}', { token: writer }))).toBe('SKEIN_ERR_ADMIN_REQUIRED');
    expect(errorCode(await api('GET', '/api/v1/connections', '/connections'))).toBe('SKEIN_ERR_AUTH_MISSING');

    const closedWith = new Promise<number>((resolve) => alice.once('connection-close', (event: { code: number } | null) => resolve(event?.code ?? 0)));
    const closed = await api('DELETE', `/api/v1/connections/${conn!.id as number}`, '/connections/{id}', { token: ADMIN_TOKEN });
    expect(closed.json).toEqual({ id: conn!.id, closed: true });
    expect(await closedWith).toBe(4403);
    const again = await api('DELETE', `/api/v1/connections/${conn!.id as number}`, '/connections/{id}', { token: ADMIN_TOKEN });
    expect([again.status, errorCode(again)]).toEqual([404, 'SKEIN_ERR_CONNECTION_NOT_FOUND']);
    expect(errorCode(await api('DELETE', '/api/v1/connections/0', '/connections/{id}', { token: ADMIN_TOKEN }))).toBe('SKEIN_ERR_BAD_REQUEST');
    expect(errorCode(await api('GET', '/api/v1/docs/nothing/awareness', '/docs/{name}/awareness', { token: ADMIN_TOKEN }))).toBe('SKEIN_ERR_DOC_NOT_FOUND');
  });

  it('open mode: readers may list connections and the presence of documents they can read; closing stays admin-only', async () => {
    const { api } = await start({ inspector: 'open' });
    const reader = await token({ 'board/*': 'read' }, 'bob');
    const stranger = await token({ 'other/*': 'read' }, 'eve');
    await client('board/2', 'alice');
    const list = await api('GET', '/api/v1/connections', '/connections', { token: reader });
    const [conn] = (list.json as { connections: { id: number; user: string }[] }).connections;
    expect(conn?.user).toBe('alice');
    expect((await api('GET', '/api/v1/docs/board%2F2/awareness', '/docs/{name}/awareness', { token: reader })).status).toBe(200);
    expect(errorCode(await api('GET', '/api/v1/docs/board%2F2/awareness', '/docs/{name}/awareness', { token: stranger }))).toBe('SKEIN_ERR_FORBIDDEN');
    expect(errorCode(await api('DELETE', `/api/v1/connections/${conn!.id}`, '/connections/{id}', { token: reader }))).toBe('SKEIN_ERR_ADMIN_REQUIRED');
  });

  it('serves the built app at /_skein/ (and redirects /_skein); --inspector off removes it', async () => {
    const { base } = await start({});
    const page = await fetch(`${base}/_skein/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('Skein inspector');
    const bare = await fetch(`${base}/_skein`, { redirect: 'manual' });
    expect([bare.status, bare.headers.get('location')]).toEqual([308, '/_skein/']);
    await server!.close();

    const off = await start({ inspector: 'off' });
    for (const path of ['/_skein/', '/_skein', '/_skein/index.html']) {
      const answer = await call(off.base, 'GET', path);
      expect([path, answer.status, errorCode(answer)]).toEqual([path, 404, 'SKEIN_ERR_NOT_FOUND']);
    }
    await server!.close();
    // Without the API the inspector has nothing to read: it is off too.
    server = await startTestServer({ httpApi: 'off' });
    const noApi = await call(`http://127.0.0.1:${server.port}`, 'GET', '/_skein/');
    expect([noApi.status, errorCode(noApi)]).toEqual([404, 'SKEIN_ERR_NOT_FOUND']);
  });
});
