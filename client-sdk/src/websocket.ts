/**
 * The part of the WebSocket API the provider uses: the browser's `WebSocket` and Node's `ws`
 * both fit without casts. Handlers take `never` so that implementations with their own event
 * types are assignable; the session narrows what it receives at run time.
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  /** Node's `ws` only: drop the connection without a closing handshake. */
  terminate?(): void;
}

/** A WebSocket class, e.g. `globalThis.WebSocket` or `import WebSocket from 'ws'`. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** `WebSocket.OPEN`. */
export const OPEN = 1;

/** The WebSocket class of the platform, if it has one. */
export function platformWebSocket(): WebSocketConstructor | undefined {
  const ctor = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  return typeof ctor === 'function' ? ctor : undefined;
}

/**
 * The connection URL: `url` + `/` + the percent-encoded document name, with `params` and
 * `token` as query parameters (`?token=…`; the server reads the document name from the path
 * and ignores the query string unless it authenticates).
 */
export function connectionUrl(
  url: string,
  name: string,
  params: Readonly<Record<string, string>> | undefined,
  token: string | undefined,
): string {
  const base = url.replace(/\/+$/, '');
  const query = new URLSearchParams(params);
  if (token !== undefined) query.set('token', token);
  const search = query.toString();
  return `${base}/${encodeURIComponent(name)}${search === '' ? '' : `?${search}`}`;
}

/** A received message's bytes (binary frames arrive as ArrayBuffer or a view); undefined for text frames. */
export function bytesOf(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

/**
 * The `token` option's value for the next connection: a function is called, and what it
 * throws becomes a rejection (so callers handle one failure path).
 */
export function fetchToken(token: string | (() => string | Promise<string>) | undefined): Promise<string | undefined> {
  try {
    return Promise.resolve(typeof token === 'function' ? token() : token);
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
