import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { HistoryEvent, SkeinServer } from '@skein/server';
import { startTestServer } from '../helpers/server.js';
import { ADMIN_TOKEN, JWT_SECRET, OpenApiChecker, call, errorCode, token, type ApiAnswer, type ApiCall } from '../helpers/api.js';

/** A Yjs update that sets `shapes[key] = value` on top of `base` (or a fresh doc). */
function mapUpdate(key: string, value: unknown, base?: Y.Doc): { doc: Y.Doc; update: Uint8Array } {
  const doc = base ?? new Y.Doc();
  const sv = Y.encodeStateVector(doc);
  doc.getMap('shapes').set(key, value);
  return { doc, update: Y.encodeStateAsUpdate(doc, sv) };
}

const enc = encodeURIComponent;

describe('HTTP API /api/v1 (jwt auth, memory store)', () => {
  let server: SkeinServer;
  let base: string;
  let openapi: OpenApiChecker;
  let writer: string;
  let reader: string;
  const events: HistoryEvent[] = [];

  beforeAll(async () => {
    server = await startTestServer(
      { auth: 'jwt', authJwtSecret: JWT_SECRET, adminToken: ADMIN_TOKEN, apiMaxBodyBytes: 4096, historyInterval: '0' },
      { events: { emit: (event) => events.push(event) } },
    );
    base = `http://127.0.0.1:${server.port}`;
    writer = await token({ 'board/*': 'write', 'other/*': 'write' });
    reader = await token({ 'board/*': 'read' }, 'bob');
    const doc = await call(base, 'GET', '/api/v1/openapi.json');
    expect(doc.status).toBe(200);
    openapi = new OpenApiChecker(doc.json);
  });
  afterAll(async () => {
    await server.close();
  });

  /** A call whose answer is checked against the OpenAPI document. */
  async function api(method: string, path: string, template: string, options: ApiCall = {}): Promise<ApiAnswer> {
    const answer = await call(base, method, path, options);
    openapi.check(method, template, answer, path, options);
    return answer;
  }

  it('serves an OpenAPI 3.1 document listing every route', async () => {
    const doc = (await call(base, 'GET', '/api/v1/openapi.json')).json as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    const ops = Object.entries(doc.paths).flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`));
    expect(ops.sort()).toEqual([
      'DELETE /api/v1/docs/{name}', 'GET /api/v1/docs', 'GET /api/v1/docs/{name}', 'GET /api/v1/docs/{name}/content',
      'GET /api/v1/docs/{name}/update', 'GET /api/v1/docs/{name}/versions', 'GET /api/v1/docs/{name}/versions/{id}',
      'GET /api/v1/docs/{name}/versions/{id}/content', 'GET /api/v1/docs/{name}/versions/{id}/update',
      'POST /api/v1/docs/{name}/update', 'POST /api/v1/docs/{name}/versions', 'POST /api/v1/docs/{name}/versions/{id}/restore',
      'GET /api/v1/connections', 'DELETE /api/v1/connections/{id}', 'GET /api/v1/docs/{name}/awareness',
    ].sort());
  });

  it('POST an update, then read it back as metadata, JSON, binary, diff, and in the listing', async () => {
    const name = 'board/one';
    const { doc, update } = mapUpdate('a', { x: 1 });
    const posted = await api('POST', `/api/v1/docs/${enc(name)}/update`, '/docs/{name}/update', { token: writer, body: update });
    expect(posted.status).toBe(200);
    expect(posted.json).toMatchObject({ name, durable: true });

    const meta = await api('GET', `/api/v1/docs/${enc(name)}`, '/docs/{name}', { token: reader });
    expect(meta.json).toMatchObject({ name, strategy: 'immediate', loaded: true, updatesSinceSnapshot: 1 });
    expect((meta.json as { bytes: number }).bytes).toBeGreaterThan(0);
    expect((meta.json as { stateVector: string }).stateVector).toBe(Buffer.from(Y.encodeStateVector(doc)).toString('base64'));

    const content = await api('GET', `/api/v1/docs/${enc(name)}/content`, '/docs/{name}/content', { token: reader });
    expect(content.json).toEqual({ name, content: { shapes: { a: { x: 1 } } } });

    const full = await api('GET', `/api/v1/docs/${enc(name)}/update`, '/docs/{name}/update', { token: reader });
    expect(full.headers.get('content-type')).toBe('application/octet-stream');
    const copy = new Y.Doc();
    Y.applyUpdate(copy, full.bytes);
    expect(copy.getMap('shapes').toJSON()).toEqual({ a: { x: 1 } });

    // The diff against a state vector holds only what it lacks.
    const { update: second } = mapUpdate('b', 2, doc);
    await api('POST', `/api/v1/docs/${enc(name)}/update`, '/docs/{name}/update', { token: writer, body: second });
    const sv = Buffer.from(Y.encodeStateVector(copy)).toString('base64url');
    const diff = await api('GET', `/api/v1/docs/${enc(name)}/update?sv=${sv}`, '/docs/{name}/update', { token: reader });
    Y.applyUpdate(copy, diff.bytes);
    expect(copy.getMap('shapes').toJSON()).toEqual({ a: { x: 1 }, b: 2 });
    expect(diff.bytes.byteLength).toBeLessThan(full.bytes.byteLength + second.byteLength);

    const list = await api('GET', '/api/v1/docs?prefix=board/', '/docs', { token: reader });
    expect((list.json as { docs: { name: string; loaded: boolean }[] }).docs).toEqual([expect.objectContaining({ name, loaded: true })]);
  });

  it('ETag follows the state, deletions included; If-None-Match answers 304', async () => {
    const name = 'board/etag';
    const { doc, update } = mapUpdate('k', 'v');
    await api('POST', `/api/v1/docs/${enc(name)}/update`, '/docs/{name}/update', { token: writer, body: update });
    const first = await api('GET', `/api/v1/docs/${enc(name)}/update`, '/docs/{name}/update', { token: reader });
    const etag = first.headers.get('etag') ?? '';
    expect(etag).toMatch(/^".+"$/);
    const same = await api('GET', `/api/v1/docs/${enc(name)}/update`, '/docs/{name}/update', { token: reader, headers: { 'if-none-match': etag } });
    expect(same.status).toBe(304);
    // A delete adds no item (the state vector stays), yet the ETag must change.
    const sv = Y.encodeStateVector(doc);
    doc.getMap('shapes').delete('k');
    expect(Y.encodeStateVector(doc)).toEqual(sv);
    await api('POST', `/api/v1/docs/${enc(name)}/update`, '/docs/{name}/update', { token: writer, body: Y.encodeStateAsUpdate(doc, sv) });
    const after = await api('GET', `/api/v1/docs/${enc(name)}/update`, '/docs/{name}/update', { token: reader, headers: { 'if-none-match': etag } });
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(etag);
  });

  it('pages the listing with a cursor', async () => {
    for (const n of ['p/a', 'p/b', 'p/c']) {
      await call(base, 'POST', `/api/v1/docs/${enc(`other/${n}`)}/update`, { token: writer, body: mapUpdate('x', n).update });
    }
    const admin = ADMIN_TOKEN;
    const one = await api('GET', '/api/v1/docs?prefix=other/p/&limit=2', '/docs', { token: admin });
    const page1 = one.json as { docs: { name: string }[]; nextCursor: string | null };
    expect(page1.docs.map((d) => d.name)).toEqual(['other/p/a', 'other/p/b']);
    const two = await api('GET', `/api/v1/docs?prefix=other/p/&limit=2&cursor=${page1.nextCursor}`, '/docs', { token: admin });
    expect(two.json).toMatchObject({ docs: [{ name: 'other/p/c' }], nextCursor: null });
    // A token sees only what it may read.
    const filtered = await api('GET', '/api/v1/docs?prefix=other/', '/docs', { token: reader });
    expect((filtered.json as { docs: unknown[] }).docs).toEqual([]);
  });

  it('refuses bad input with a code and leaves the stored document unchanged', async () => {
    const name = 'board/guarded';
    const { update } = mapUpdate('keep', true);
    await api('POST', `/api/v1/docs/${enc(name)}/update`, '/docs/{name}/update', { token: writer, body: update });
    const before = (await call(base, 'GET', `/api/v1/docs/${enc(name)}/update`, { token: reader })).bytes;
    const post = (body: Uint8Array, type?: string) =>
      api('POST', `/api/v1/docs/${enc(name)}/update`, '/docs/{name}/update', { token: writer, body, ...(type === undefined ? {} : { type }) });

    const other = mapUpdate('first', 1);
    const dependent = mapUpdate('second', 2, other.doc).update; // builds on `other`, which this document never had
    const cases: [string, Promise<ApiAnswer>, number, string][] = [
      ['truncated update', post(update.subarray(0, update.byteLength - 3)), 400, 'SKEIN_ERR_INVALID_UPDATE'],
      ['garbage', post(Uint8Array.of(9, 9, 9, 9, 9)), 400, 'SKEIN_ERR_INVALID_UPDATE'],
      ['an update for another document', post(dependent), 400, 'SKEIN_ERR_UPDATE_DEPENDENCIES_MISSING'],
      ['wrong content type', post(update, 'text/plain'), 415, 'SKEIN_ERR_UNSUPPORTED_MEDIA_TYPE'],
      ['too large a body', post(new Uint8Array(5000)), 413, 'SKEIN_ERR_BODY_TOO_LARGE'],
      ['bad base64 sv', api('GET', `/api/v1/docs/${enc(name)}/update?sv=***`, '/docs/{name}/update', { token: reader }), 400, 'SKEIN_ERR_BAD_BASE64'],
      ['sv that is no state vector', api('GET', `/api/v1/docs/${enc(name)}/update?sv=BQE`, '/docs/{name}/update', { token: reader }), 400, 'SKEIN_ERR_BAD_BASE64'],
      ['unknown query parameter', api('GET', `/api/v1/docs/${enc(name)}?x=1`, '/docs/{name}', { token: reader }), 400, 'SKEIN_ERR_BAD_REQUEST'],
      ['limit out of range', api('GET', '/api/v1/docs?limit=0', '/docs', { token: reader }), 400, 'SKEIN_ERR_BAD_REQUEST'],
      ['bad type hint', api('GET', `/api/v1/docs/${enc(name)}/content?type=shapes:tree`, '/docs/{name}/content', { token: reader }), 400, 'SKEIN_ERR_BAD_REQUEST'],
      ['bad percent-encoding', api('GET', '/api/v1/docs/%E0%A4%A', '/docs/{name}', { token: reader }), 400, 'SKEIN_ERR_BAD_DOC_NAME'],
      ['control character in the name', api('GET', '/api/v1/docs/a%00b', '/docs/{name}', { token: reader }), 400, 'SKEIN_ERR_BAD_DOC_NAME'],
      ['unknown document', api('GET', `/api/v1/docs/${enc('board/nope')}`, '/docs/{name}', { token: reader }), 404, 'SKEIN_ERR_DOC_NOT_FOUND'],
      ['unknown document content', api('GET', `/api/v1/docs/${enc('board/nope')}/content`, '/docs/{name}/content', { token: reader }), 404, 'SKEIN_ERR_DOC_NOT_FOUND'],
      ['no token', api('GET', `/api/v1/docs/${enc(name)}`, '/docs/{name}'), 401, 'SKEIN_ERR_AUTH_MISSING'],
      ['a malformed token', api('GET', `/api/v1/docs/${enc(name)}`, '/docs/{name}', { token: 'not.a.jwt' }), 401, 'SKEIN_ERR_AUTH_MALFORMED'],
      ['no grant for the document', api('GET', `/api/v1/docs/${enc('secret/x')}`, '/docs/{name}', { token: reader }), 403, 'SKEIN_ERR_FORBIDDEN'],
      ['a read-only token writing', api('POST', `/api/v1/docs/${enc(name)}/update`, '/docs/{name}/update', { token: reader, body: update }), 403, 'SKEIN_ERR_FORBIDDEN'],
      ['delete without the admin token', api('DELETE', `/api/v1/docs/${enc(name)}`, '/docs/{name}', { token: writer }), 403, 'SKEIN_ERR_ADMIN_REQUIRED'],
    ];
    for (const [what, answer, status, code] of cases) {
      const a = await answer;
      expect([what, a.status, errorCode(a)]).toEqual([what, status, code]);
    }
    expect((await call(base, 'GET', `/api/v1/docs/${enc(name)}/update`, { token: reader })).bytes).toEqual(before);
    expect(server.registry.get(name)?.doc.store.pendingStructs ?? null).toBeNull();
    // Routes and methods outside the table.
    const none = await call(base, 'GET', '/api/v1/nothing', { token: reader });
    expect([none.status, errorCode(none)]).toEqual([404, 'SKEIN_ERR_NOT_FOUND']);
    const method = await call(base, 'PUT', `/api/v1/docs/${enc(name)}`, { token: writer });
    expect([method.status, errorCode(method), method.headers.get('allow')]).toEqual([405, 'SKEIN_ERR_METHOD_NOT_ALLOWED', 'GET, DELETE']);
  });

  it('versions: create, list, read, content, binary, restore — and the events for webhooks', async () => {
    const name = 'board/versions';
    const path = `/api/v1/docs/${enc(name)}`;
    const { doc, update } = mapUpdate('a', 1);
    await api('POST', `${path}/update`, '/docs/{name}/update', { token: writer, body: update });
    const created = await api('POST', `${path}/versions`, '/docs/{name}/versions', { token: writer, body: { label: 'first' } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ id: 1, kind: 'named', label: 'first', user: 'alice' });
    await api('POST', `${path}/update`, '/docs/{name}/update', { token: writer, body: mapUpdate('a', 2, doc).update });

    expect((await api('GET', `${path}/versions`, '/docs/{name}/versions', { token: reader })).json).toMatchObject({ name, versions: [{ id: 1 }] });
    expect((await api('GET', `${path}/versions/1`, '/docs/{name}/versions/{id}', { token: reader })).json).toMatchObject({ id: 1, label: 'first' });
    const content = await api('GET', `${path}/versions/1/content?type=shapes:map`, '/docs/{name}/versions/{id}/content', { token: reader });
    expect(content.json).toMatchObject({ content: { shapes: { a: 1 } } });
    const binary = await api('GET', `${path}/versions/1/update`, '/docs/{name}/versions/{id}/update', { token: reader });
    const copy = new Y.Doc();
    Y.applyUpdate(copy, binary.bytes);
    expect(copy.getMap('shapes').get('a')).toBe(1);
    const restored = await api('POST', `${path}/versions/1/restore`, '/docs/{name}/versions/{id}/restore', { token: writer });
    expect(restored.json).toMatchObject({ restored: { id: 1 }, before: { id: 2, kind: 'before-restore' }, changed: true });
    expect((await api('GET', `${path}/content`, '/docs/{name}/content', { token: reader })).json).toEqual({ name, content: { shapes: { a: 1 } } });
    // Restoring a version the document already equals changes nothing.
    expect((await api('POST', `${path}/versions/1/restore`, '/docs/{name}/versions/{id}/restore', { token: writer })).json).toMatchObject({ changed: false });

    const refused: [string, Promise<ApiAnswer>, number, string][] = [
      ['unknown version', api('GET', `${path}/versions/99`, '/docs/{name}/versions/{id}', { token: reader }), 404, 'SKEIN_ERR_VERSION_NOT_FOUND'],
      ['restore an unknown version', api('POST', `${path}/versions/99/restore`, '/docs/{name}/versions/{id}/restore', { token: writer }), 404, 'SKEIN_ERR_VERSION_NOT_FOUND'],
      ['not a version id', api('GET', `${path}/versions/abc`, '/docs/{name}/versions/{id}', { token: reader }), 400, 'SKEIN_ERR_BAD_REQUEST'],
      ['a label too long', api('POST', `${path}/versions`, '/docs/{name}/versions', { token: writer, body: { label: 'x'.repeat(201) } }), 400, 'SKEIN_ERR_BAD_REQUEST'],
      ['an unknown field', api('POST', `${path}/versions`, '/docs/{name}/versions', { token: writer, body: { name: 'x' } }), 400, 'SKEIN_ERR_BAD_REQUEST'],
      ['not JSON', api('POST', `${path}/versions`, '/docs/{name}/versions', { token: writer, body: '{', type: 'application/json' }), 400, 'SKEIN_ERR_BAD_REQUEST'],
      ['a read-only token restoring', api('POST', `${path}/versions/1/restore`, '/docs/{name}/versions/{id}/restore', { token: reader }), 403, 'SKEIN_ERR_FORBIDDEN'],
      ['versions of an unknown document', api('GET', `/api/v1/docs/${enc('board/none')}/versions`, '/docs/{name}/versions', { token: reader }), 404, 'SKEIN_ERR_DOC_NOT_FOUND'],
    ];
    for (const [what, answer, status, code] of refused) {
      const a = await answer;
      expect([what, a.status, errorCode(a)]).toEqual([what, status, code]);
    }

    const deleted = await api('DELETE', path, '/docs/{name}', { token: ADMIN_TOKEN });
    expect(deleted.json).toEqual({ name, deleted: true });
    const mine = events.filter((e) => e.doc === name).map((e) => [e.type, e.versionId ?? null]);
    expect(mine).toEqual([
      ['version.created', 1], ['version.created', 2], ['version.restored', 1], ['version.created', 3], ['version.restored', 1], ['document.deleted', null],
    ]);
  });

  it('every route and status the tests met is in the OpenAPI document', () => {
    // The checks above assert it call by call; this one keeps the coverage honest.
    for (const op of ['GET /docs 200', 'POST /docs/{name}/update 200', 'POST /docs/{name}/update 400', 'GET /docs/{name}/update 304', 'DELETE /docs/{name} 200', 'POST /docs/{name}/versions/{id}/restore 200']) {
      expect(openapi.checked, op).toContain(op);
    }
  });
});
