import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { SkeinServer } from '@skein/server';
import { startTestServer } from '../helpers/server.js';
import { ADMIN_TOKEN, call, errorCode } from '../helpers/api.js';
import { ManualClock } from '../helpers/manual-clock.js';

function update(): Uint8Array {
  const doc = new Y.Doc();
  doc.getText('t').insert(0, 'hi');
  return Y.encodeStateAsUpdate(doc);
}

describe('HTTP API access modes (--auth none, --http-api, --admin-token, rate)', () => {
  let server: SkeinServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('--auth none beyond loopback: reads on, writes and admin off (403) unless --http-api open', async () => {
    server = await startTestServer({ host: '0.0.0.0' });
    const base = `http://127.0.0.1:${server.port}`;
    const post = await call(base, 'POST', '/api/v1/docs/x/update', { body: update() });
    expect([post.status, errorCode(post)]).toEqual([403, 'SKEIN_ERR_API_WRITE_DISABLED']);
    const del = await call(base, 'DELETE', '/api/v1/docs/x');
    expect([del.status, errorCode(del)]).toEqual([403, 'SKEIN_ERR_API_WRITE_DISABLED']);
    expect((await call(base, 'GET', '/api/v1/docs')).status).toBe(200);
    await server.close();

    server = await startTestServer({ host: '0.0.0.0', httpApi: 'open' });
    const open = `http://127.0.0.1:${server.port}`;
    expect((await call(open, 'POST', '/api/v1/docs/x/update', { body: update() })).status).toBe(200);
    expect((await call(open, 'DELETE', '/api/v1/docs/x')).status).toBe(200);
  });

  it('--auth none on loopback: everyone may write; with --admin-token, DELETE needs it', async () => {
    server = await startTestServer({ adminToken: ADMIN_TOKEN });
    const base = `http://127.0.0.1:${server.port}`;
    expect((await call(base, 'POST', '/api/v1/docs/y/update', { body: update() })).status).toBe(200);
    const refused = await call(base, 'DELETE', '/api/v1/docs/y');
    expect([refused.status, errorCode(refused)]).toEqual([403, 'SKEIN_ERR_ADMIN_REQUIRED']);
    expect((await call(base, 'DELETE', '/api/v1/docs/y', { token: ADMIN_TOKEN })).status).toBe(200);
    const gone = await call(base, 'DELETE', '/api/v1/docs/y', { token: ADMIN_TOKEN });
    expect([gone.status, errorCode(gone)]).toEqual([404, 'SKEIN_ERR_DOC_NOT_FOUND']);
  });

  it('--http-api read-only and off', async () => {
    server = await startTestServer({ httpApi: 'read-only' });
    const ro = `http://127.0.0.1:${server.port}`;
    const post = await call(ro, 'POST', '/api/v1/docs/z/update', { body: update() });
    expect([post.status, errorCode(post)]).toEqual([403, 'SKEIN_ERR_API_WRITE_DISABLED']);
    await server.close();
    server = await startTestServer({ httpApi: 'off' });
    const off = await call(`http://127.0.0.1:${server.port}`, 'GET', '/api/v1/docs');
    expect([off.status, errorCode(off)]).toEqual([404, 'SKEIN_ERR_NOT_FOUND']);
  });

  it('per-token rate: past the burst, 429 with Retry-After; another token is not affected', async () => {
    // Manual time: the bucket cannot refill between the calls however slow the machine is.
    const clock = new ManualClock();
    server = await startTestServer({ apiRatePerToken: 1, apiBurstPerToken: 2 }, { clock });
    const base = `http://127.0.0.1:${server.port}`;
    const a = 'token-a-0123456789';
    expect((await call(base, 'GET', '/api/v1/docs', { token: a })).status).toBe(200);
    expect((await call(base, 'GET', '/api/v1/docs', { token: a })).status).toBe(200);
    const limited = await call(base, 'GET', '/api/v1/docs', { token: a });
    expect([limited.status, errorCode(limited)]).toEqual([429, 'SKEIN_ERR_API_RATE_LIMITED']);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await call(base, 'GET', '/api/v1/docs', { token: 'token-b-0123456789' })).status).toBe(200);
    clock.advance(1_000);
    expect((await call(base, 'GET', '/api/v1/docs', { token: a })).status).toBe(200);
  });
});
