/**
 * The documented HTTP API (docs/http-api.md) with the token the user logged in with. The
 * token lives in sessionStorage: gone when the tab closes, never in a URL.
 */
const KEY = 'skein-inspector-token';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export function token(): string {
  return sessionStorage.getItem(KEY) ?? '';
}

export function setToken(value: string): void {
  if (value === '') sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, value);
}

export async function request(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const t = token();
  if (t !== '') headers.set('Authorization', `Bearer ${t}`);
  const res = await fetch(path, { ...init, headers, cache: 'no-store' });
  if (res.status >= 400) {
    let code = `HTTP_${res.status}`;
    let message = res.statusText;
    try {
      const body = (await res.json()) as { error?: { code?: string; message?: string } };
      code = body.error?.code ?? code;
      message = body.error?.message ?? message;
    } catch {
      // not JSON: keep the status
    }
    throw new ApiError(res.status, code, message);
  }
  return res;
}

export async function json<T>(path: string, init: RequestInit = {}): Promise<T> {
  return (await (await request(path, init)).json()) as T;
}

export const doc = (name: string): string => `/api/v1/docs/${encodeURIComponent(name)}`;

export interface DocSummary {
  name: string;
  bytes: number;
  updatesSinceSnapshot: number;
  lastModified: string;
  loaded: boolean;
}

export interface DocMetadata extends DocSummary {
  strategy: string;
  stateVector: string;
  createdAt: string | null;
  connections: number;
}

export interface Version {
  id: number;
  kind: 'named' | 'auto' | 'before-restore';
  label: string;
  createdAt: string;
  user: string;
  bytes: number;
}

export interface ConnectionEntry {
  id: number;
  doc: string;
  user: string;
  readOnly: boolean;
  ip: string;
  openedAt: string;
  bytesIn: number;
  bytesOut: number;
  bufferedBytes: number;
}
