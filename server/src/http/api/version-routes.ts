import { stateToJson, type TypeKind } from '../../crdt/doc-json.js';
import type { VersionInfo } from '../../documents/ports.js';
import { SkeinError } from '../../errors/skein-error.js';
import type { History } from '../../history/history.js';
import { expectExists } from './doc-routes.js';
import { iso } from './encoding.js';
import type { ApiDeps, Route } from './route.js';
import { ContentQuery, CreateVersionBody, NoQuery, Restored, Version, VersionContent, VersionList } from './schemas.js';

/** The version-history routes of `/api/v1` (docs/http-api.md, "Versions"). */
export const VERSION_ROUTES: readonly Route[] = [
  {
    method: 'POST', path: '/docs/{name}/versions', level: 'write', summary: 'Take a named version (a snapshot of the document now).',
    query: NoQuery, body: { kind: 'json', schema: CreateVersionBody }, responses: { 201: Version },
    errors: ['SKEIN_ERR_DOC_NOT_FOUND', 'SKEIN_ERR_UNSUPPORTED_MEDIA_TYPE'],
    async handle(deps, { name, body, caller }) {
      await expectExists(deps, name);
      const { label } = body as { label?: string };
      const info = await history(deps).create(name, { kind: 'named', label: label ?? '', user: caller.principal.user });
      return { status: 201, json: versionJson(info) };
    },
  },
  {
    method: 'GET', path: '/docs/{name}/versions', level: 'read', summary: 'The versions of a document, oldest first.',
    query: NoQuery, responses: { 200: VersionList }, errors: ['SKEIN_ERR_DOC_NOT_FOUND'],
    async handle(deps, { name }) {
      await expectExists(deps, name);
      return { status: 200, json: { name, versions: (await history(deps).list(name)).map(versionJson) } };
    },
  },
  {
    method: 'GET', path: '/docs/{name}/versions/{id}', level: 'read', summary: 'Metadata of one version.',
    query: NoQuery, responses: { 200: Version }, errors: ['SKEIN_ERR_VERSION_NOT_FOUND'],
    async handle(deps, { name, id }) {
      return { status: 200, json: versionJson((await history(deps).read(name, id)).info) };
    },
  },
  {
    method: 'GET', path: '/docs/{name}/versions/{id}/content', level: 'read', summary: 'The document as it was at the version, as JSON.',
    query: ContentQuery, responses: { 200: VersionContent }, errors: ['SKEIN_ERR_VERSION_NOT_FOUND'],
    async handle(deps, { name, id, query }) {
      const { info, state } = await history(deps).read(name, id);
      return { status: 200, json: { name, version: versionJson(info), content: stateToJson(state, (query.type ?? {}) as Record<string, TypeKind>) } };
    },
  },
  {
    method: 'GET', path: '/docs/{name}/versions/{id}/update', level: 'read', summary: 'The document state at the version, as one binary Yjs update.',
    query: NoQuery, responses: { 200: 'binary' }, errors: ['SKEIN_ERR_VERSION_NOT_FOUND'],
    async handle(deps, { name, id }) {
      const { state } = await history(deps).read(name, id);
      // A version never changes: its bytes may be cached.
      return { status: 200, bytes: state, headers: { ETag: `"v${id}"`, 'Cache-Control': 'private, max-age=31536000, immutable' } };
    },
  },
  {
    method: 'POST', path: '/docs/{name}/versions/{id}/restore', level: 'write',
    summary: 'Make the document equal to the version with a forward update (connected clients converge; offline edits merge on top), after taking a "before restore" version.',
    query: ContentQuery, responses: { 200: Restored }, errors: ['SKEIN_ERR_VERSION_NOT_FOUND', 'SKEIN_ERR_DOC_TOO_LARGE', 'SKEIN_ERR_UNPERSISTED_LIMIT'],
    async handle(deps, { name, id, caller, query }) {
      const result = await history(deps).restore(name, id, caller.principal.user, (query.type ?? {}) as Record<string, TypeKind>);
      return { status: 200, json: { name, restored: versionJson(result.restored), before: versionJson(result.before), changed: result.changed } };
    },
  },
];

function history(deps: ApiDeps): History {
  if (deps.history === undefined) throw new SkeinError('SKEIN_ERR_NOT_FOUND', 'this server keeps no version history');
  return deps.history;
}

export function versionJson(info: VersionInfo): Record<string, unknown> {
  return { id: info.id, kind: info.kind, label: info.label, createdAt: iso(info.createdAt), user: info.user, bytes: info.bytes };
}
