import { createServer } from 'node:net';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { SkeinProvider, type SkeinProviderOptions, type SkeinStatus } from '@skein/client';
import type { DocumentStore } from '@skein/server';
import { waitFor } from './wait.js';
import { sameState } from './docs.js';

/** A SkeinProvider in Node (ws as the WebSocket), fast backoff, memory store unless given. */
export function openClient(
  url: string,
  name: string,
  options: Partial<SkeinProviderOptions> = {},
): SkeinProvider {
  return new SkeinProvider({
    url,
    name,
    doc: new Y.Doc(),
    WebSocket,
    store: 'memory',
    backoff: { initialDelayMs: 20, maxDelayMs: 200 },
    ...options,
  });
}

/** Wait until the provider's status satisfies `predicate` (checked on every status event). */
export function waitStatus(
  provider: SkeinProvider,
  predicate: (status: SkeinStatus) => boolean,
  what = 'status',
  timeoutMs = 15_000,
): Promise<SkeinStatus> {
  if (predicate(provider.status)) return Promise.resolve(provider.status);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; status: ${describe(provider.status)}`));
    }, timeoutMs);
    const off = provider.on('status', (status) => {
      if (!predicate(status)) return;
      clearTimeout(timer);
      off();
      resolve(status);
    });
  });
}

export const isSaved = (s: SkeinStatus): boolean => s.saved && s.pendingUpdates.count === 0;
export const isSynced = (s: SkeinStatus): boolean => s.synced;

export function describe(s: SkeinStatus): string {
  return JSON.stringify({ ...s, lastError: s.lastError === null ? null : { code: s.lastError.code, closeCode: s.lastError.closeCode } });
}

/** A port that was free a moment ago (for a server started later on a known port). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The document as the server's store holds it (every stored update merged). */
export async function storedDoc(store: DocumentStore, name: string): Promise<Y.Doc> {
  const doc = new Y.Doc();
  for (const update of await store.load(name)) Y.applyUpdate(doc, update);
  return doc;
}

/**
 * `sameState` after defining, on each doc, the root types the other one defined (a replica
 * that never called `getMap('m')` shows no `m` in `toJSON()` although it holds its content).
 */
export function sameDocs(a: Y.Doc, b: Y.Doc): boolean {
  for (const [x, y] of [[a, b], [b, a]] as const) {
    for (const [key, type] of x.share) {
      if (type.constructor !== Y.AbstractType) y.get(key, type.constructor as typeof Y.AbstractType<unknown>);
    }
  }
  return sameState(a, b);
}

/** Wait until the server's store holds exactly what `doc` holds (same state vector and content). */
export async function waitStored(store: DocumentStore, name: string, doc: Y.Doc, what = 'server store'): Promise<void> {
  await waitFor(async () => sameDocs(await storedDoc(store, name), doc), { what });
}
