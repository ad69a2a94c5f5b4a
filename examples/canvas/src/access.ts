/**
 * What the page's access token (`?token=`) says about this board, read from the token itself
 * so the page is in the right mode from its first paint — before the server's Welcome, and
 * also offline. This is only a hint for the UI: the browser cannot check the signature, and
 * the server decides (it drops a read-only session's updates whatever the page does). When
 * the server says "read only", that wins.
 */

import { accessFor, compileGlob, type DocAccess, type DocGrant } from '@skein/protocol';

export type Access = DocAccess;

export interface TokenInfo {
  /** The access the token's `docs` claim grants to the document (the server's rule). */
  readonly access: Access;
  /** The user id (`sub`), when present. */
  readonly sub: string | undefined;
  /** `exp` has passed. */
  readonly expired: boolean;
}

/**
 * Decode a JWT's payload (no verification) and work out its access to `docName` with the
 * server's rule: the most specific matching `docs` pattern wins (most literal characters,
 * then fewer `*`, then `read`); `*` matches any run of characters. `undefined` when the
 * token is not a readable JWT.
 */
export function tokenInfo(token: string, docName: string, nowMs = Date.now()): TokenInfo | undefined {
  const payload = decodePayload(token);
  if (payload === undefined) return undefined;
  const docs = payload.docs;
  const grants: DocGrant[] = [];
  if (typeof docs === 'object' && docs !== null && !Array.isArray(docs)) {
    for (const [pattern, access] of Object.entries(docs as Record<string, unknown>)) {
      if (access === 'read' || access === 'write') grants.push({ glob: compileGlob(pattern), access });
    }
  }
  const exp = payload.exp;
  return {
    access: accessFor(grants, docName),
    sub: typeof payload.sub === 'string' ? payload.sub : undefined,
    expired: typeof exp === 'number' && exp * 1000 <= nowMs,
  };
}

function decodePayload(token: string): Record<string, unknown> | undefined {
  const part = token.split('.')[1];
  if (part === undefined || part === '') return undefined;
  try {
    const base64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Single quotes for a POSIX shell. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command that mints a viewer link to this board (the page cannot: the signing secret
 * stays on the server). `page` is this page's URL without its token.
 */
export function viewerLinkCommand(docName: string, page: string): string {
  return `skein token --sub guest --docs ${shellQuote(`${docName}=read`)} --url ${shellQuote(page)}`;
}

/** The command that mints an editor link to this board only (write access to `docName`). */
export function editorLinkCommand(docName: string, page: string): string {
  return `skein token --sub editor --docs ${shellQuote(`${docName}=write`)} --url ${shellQuote(page)}`;
}
