import { SkeinError } from '../../errors/skein-error.js';
import { expectExists } from './doc-routes.js';
import { iso } from './encoding.js';
import type { Route } from './route.js';
import { AwarenessList, ConnectionClosed, ConnectionList, NoQuery } from './schemas.js';

/**
 * The routes the inspector (`/_skein/`, docs/inspector.md) needs beyond the document and
 * version routes: the open connections of this node, closing one, and a document's presence.
 * Documented API routes like the others: the inspector has no back door.
 */
export const INSPECTOR_ROUTES: readonly Route[] = [
  {
    method: 'GET', path: '/connections', level: 'inspect',
    summary: 'The open WebSocket connections of the answering node (admin; anyone the API lets read with --inspector open).',
    query: NoQuery, responses: { 200: ConnectionList }, errors: ['SKEIN_ERR_ADMIN_REQUIRED'],
    handle(deps) {
      const list = deps.connections?.list() ?? [];
      return Promise.resolve({ status: 200, json: { connections: list.map((c) => ({ ...c, openedAt: iso(c.openedAt) })) } });
    },
  },
  {
    method: 'DELETE', path: '/connections/{id}', level: 'admin',
    summary: 'Close one WebSocket with 4403 (ClosedByAdmin; y-websocket does not reconnect).',
    query: NoQuery, responses: { 200: ConnectionClosed }, errors: ['SKEIN_ERR_ADMIN_REQUIRED', 'SKEIN_ERR_CONNECTION_NOT_FOUND'],
    handle(deps, { id }) {
      if (deps.connections?.close(id) !== true) throw new SkeinError('SKEIN_ERR_CONNECTION_NOT_FOUND', `no open connection ${id}`);
      return Promise.resolve({ status: 200, json: { id, closed: true } });
    },
  },
  {
    method: 'GET', path: '/docs/{name}/awareness', level: 'inspect',
    summary: 'Presence: the awareness state of every client of the document on the answering node.',
    query: NoQuery, responses: { 200: AwarenessList }, errors: ['SKEIN_ERR_DOC_NOT_FOUND', 'SKEIN_ERR_ADMIN_REQUIRED'],
    async handle(deps, { name }) {
      await expectExists(deps, name);
      const handle = deps.registry.get(name);
      const states = handle === undefined || handle.state === 'closed' ? new Map<number, unknown>() : handle.awareness.getStates();
      const clients = [...states].map(([clientId, state]) => ({ clientId, state: isRecord(state) ? state : {} }));
      return { status: 200, json: { name, clients } };
    },
  },
];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
