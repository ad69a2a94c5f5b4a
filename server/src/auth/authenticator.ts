import type { IncomingMessage } from 'node:http';
import type { Access } from './access.js';

/**
 * Who a request is and what they may do. Returned by the `authenticate` hook (the built-in
 * JWT verifier, or an embedder's own session check).
 */
export interface Principal {
  /** The user id (a token's `sub`): in logs and trace attributes; never a secret. */
  readonly user: string;
  /** Access to one document; decided before the document is loaded. */
  access(docName: string): Access;
  /** When the credentials stop being valid (ms since the epoch); a session is closed then. */
  readonly expiresAt?: number;
}

/**
 * The one authentication hook of the library API (no hook chains). It receives the HTTP
 * request of a WebSocket upgrade or an API call and resolves with a `Principal`, or throws a
 * `SkeinError` (e.g. SKEIN_ERR_AUTH_MISSING, 401) to refuse. It must not load documents.
 */
export type Authenticate = (request: IncomingMessage) => Principal | Promise<Principal>;

/** `--auth none`: everyone may read and write everything. */
export const ANONYMOUS: Principal = Object.freeze({ user: 'anonymous', access: (): Access => 'write' });

/**
 * The token of a request: the `token` query parameter (what y-websocket's `params: { token }`
 * and `@skein/client`'s `token` option send) or `Authorization: Bearer <token>`.
 */
export function requestToken(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match?.[1] !== undefined) return match[1];
  }
  const url = request.url ?? '';
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  const token = new URLSearchParams(url.slice(q + 1)).get('token');
  return token === null || token === '' ? undefined : token;
}
