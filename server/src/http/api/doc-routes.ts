import * as Y from 'yjs';
import { stateToJson, type TypeKind } from '../../crdt/doc-json.js';
import { missingDependencies, stateTag } from '../../crdt/update-deps.js';
import type { StoredDocumentInfo } from '../../documents/ports.js';
import { SkeinError, toSkeinError } from '../../errors/skein-error.js';
import type { ApiDeps, Route } from './route.js';
import { fromBase64, iso, stateVectorParam, toBase64 } from './encoding.js';
import {
  ContentQuery, Deleted, DocContent, DocList, DocMetadata, ListQuery, NoQuery, UpdateAccepted, UpdateQuery,
} from './schemas.js';

/** The document routes of `/api/v1` (docs/http-api.md). */
export const DOC_ROUTES: readonly Route[] = [
  {
    method: 'GET', path: '/docs', level: 'read', summary: 'List stored documents (paged, in name order).',
    query: ListQuery, responses: { 200: DocList }, errors: [],
    async handle(deps, { query, caller }) {
      const { prefix, limit, cursor } = query as { prefix: string; limit: number; cursor?: string };
      const after = cursor === undefined ? undefined : decodeCursor(cursor);
      const list = deps.store.list?.bind(deps.store);
      if (list === undefined) return { status: 200, json: { docs: [], nextCursor: null } };
      const page = await list({ prefix, limit: limit + 1, ...(after === undefined ? {} : { after }) });
      const more = page.length > limit;
      const shown = page.slice(0, limit);
      const last = shown.at(-1);
      return {
        status: 200,
        json: {
          // With tokens: only what the caller may read (a page may then be shorter than `limit`).
          docs: shown.filter((d) => caller.principal.access(d.name) !== 'none').map((d) => ({
            name: d.name,
            bytes: d.bytes,
            updatesSinceSnapshot: d.updatesSinceSnapshot,
            lastModified: iso(d.updatedAt),
            loaded: deps.registry.get(d.name) !== undefined,
          })),
          nextCursor: more && last !== undefined ? Buffer.from(last.name).toString('base64url') : null,
        },
      };
    },
  },
  {
    method: 'GET', path: '/docs/{name}', level: 'read', summary: 'Metadata of one document.',
    query: NoQuery, responses: { 200: DocMetadata }, errors: ['SKEIN_ERR_DOC_NOT_FOUND'],
    async handle(deps, { name }) {
      const stored = await describe(deps, name);
      const handle = live(deps, name);
      if (stored === undefined && handle === undefined) throw notFound(name);
      return {
        status: 200,
        json: {
          name,
          bytes: stored?.bytes ?? 0,
          updatesSinceSnapshot: stored?.updatesSinceSnapshot ?? 0,
          strategy: stored?.strategy ?? 'immediate',
          stateVector: toBase64(handle?.stateVector() ?? stored?.stateVector ?? Uint8Array.of(0)),
          createdAt: stored === undefined ? null : iso(stored.createdAt),
          lastModified: stored === undefined ? null : iso(stored.updatedAt),
          loaded: handle !== undefined,
          connections: handle?.peerCount ?? 0,
        },
      };
    },
  },
  {
    method: 'GET', path: '/docs/{name}/content', level: 'read', summary: 'The document as JSON, by top-level type.',
    query: ContentQuery, responses: { 200: DocContent }, errors: ['SKEIN_ERR_DOC_NOT_FOUND'],
    async handle(deps, { name, query }) {
      await expectExists(deps, name);
      const hints = (query.type ?? {}) as Record<string, TypeKind>;
      const state = await deps.registry.use(name, (handle) => handle.encodedState());
      return { status: 200, json: { name, content: stateToJson(state, hints) } };
    },
  },
  {
    method: 'GET', path: '/docs/{name}/update', level: 'read',
    summary: 'The document as one binary Yjs update (or the diff against ?sv=). ETag: the document state; If-None-Match answers 304.',
    query: UpdateQuery, responses: { 200: 'binary', 304: 'empty' }, errors: ['SKEIN_ERR_DOC_NOT_FOUND', 'SKEIN_ERR_BAD_BASE64'],
    async handle(deps, { name, query, request }) {
      const sv = typeof query.sv === 'string' ? stateVectorParam(query.sv) : undefined;
      await expectExists(deps, name);
      return deps.registry.use(name, (handle) => {
        const etag = `"${stateTag(handle.doc)}"`;
        const headers = { ETag: etag, 'Cache-Control': 'no-cache' };
        if (matches(request.headers['if-none-match'], etag)) return { status: 304 as const, headers };
        return { status: 200, bytes: handle.diffFor(sv ?? Uint8Array.of(0)), headers };
      });
    },
  },
  {
    method: 'POST', path: '/docs/{name}/update', level: 'write',
    summary: 'Apply a binary Yjs update; 200 once it is durable (the document\'s strategy and the cluster ack policy). Connected clients receive it.',
    query: NoQuery, body: { kind: 'binary' }, responses: { 200: UpdateAccepted },
    errors: ['SKEIN_ERR_INVALID_UPDATE', 'SKEIN_ERR_UPDATE_DEPENDENCIES_MISSING', 'SKEIN_ERR_BODY_TOO_LARGE', 'SKEIN_ERR_UNSUPPORTED_MEDIA_TYPE', 'SKEIN_ERR_DOC_TOO_LARGE', 'SKEIN_ERR_UNPERSISTED_LIMIT'],
    async handle(deps, { name, body, caller }) {
      const update = body as Uint8Array;
      return deps.registry.use(name, async (handle) => {
        let missing: boolean;
        try {
          missing = missingDependencies(update, Y.decodeStateVector(handle.stateVector()));
        } catch (cause) {
          throw new SkeinError('SKEIN_ERR_INVALID_UPDATE', 'the body is not a Yjs update (v1 encoding)', { cause });
        }
        if (missing) throw new SkeinError('SKEIN_ERR_UPDATE_DEPENDENCIES_MISSING', 'the update builds on changes this document does not have; nothing was applied');
        await handle.submit(update, { source: 'api', user: caller.principal.user });
        return { status: 200, json: { name, stateVector: toBase64(handle.stateVector()), durable: true } };
      });
    },
  },
  {
    method: 'DELETE', path: '/docs/{name}', level: 'admin',
    summary: 'Delete a document: its log, snapshots and versions. Open sockets close with 4410; the name can be used again.',
    query: NoQuery, responses: { 200: Deleted }, errors: ['SKEIN_ERR_DOC_NOT_FOUND', 'SKEIN_ERR_ADMIN_REQUIRED'],
    async handle(deps, { name }) {
      if (!(await deps.registry.delete(name))) throw notFound(name);
      deps.logger.info({ doc: name }, 'document deleted');
      try {
        deps.events?.emit({ type: 'document.deleted', doc: name, at: deps.clock.now() });
      } catch (err) {
        deps.logger.error({ code: toSkeinError(err).code, doc: name }, 'event sink threw');
      }
      return { status: 200, json: { name, deleted: true } };
    },
  },
];

/** A loaded document's handle when it can be read (not loading, unloading or closed). */
function live(deps: ApiDeps, name: string): ReturnType<ApiDeps['registry']['get']> {
  const handle = deps.registry.get(name);
  return handle !== undefined && (handle.state === 'active' || handle.state === 'idle') ? handle : undefined;
}

function describe(deps: ApiDeps, name: string): Promise<StoredDocumentInfo | undefined> {
  return deps.store.describe?.(name) ?? Promise.resolve(undefined);
}

/** Reads never create a document: SKEIN_ERR_DOC_NOT_FOUND unless it is stored or loaded. */
export async function expectExists(deps: ApiDeps, name: string): Promise<void> {
  if (live(deps, name) !== undefined) return;
  if ((await describe(deps, name)) === undefined) throw notFound(name);
}

function notFound(name: string): SkeinError {
  return new SkeinError('SKEIN_ERR_DOC_NOT_FOUND', `no document "${name}"`);
}

function decodeCursor(cursor: string): string {
  const bytes = fromBase64(cursor, 'cursor');
  const name = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (name === '') throw new SkeinError('SKEIN_ERR_BAD_REQUEST', 'cursor: not a cursor of this API');
  return name;
}

/** `If-None-Match` holds `etag` (or `*`). */
function matches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}
