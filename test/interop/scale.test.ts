import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import type { SkeinServer } from '@skein/server';
import type { WebsocketProvider } from 'y-websocket';
import { startTestServer } from '../helpers/server.js';
import { connectProvider, destroyAll, synced } from '../helpers/clients.js';
import { waitFor } from '../helpers/wait.js';
import { canonicalJson, hasPending, sameState } from '../helpers/docs.js';

const DOCS = 200;
const CLIENTS_PER_DOC = 5;

describe('scale: 200 documents × 5 y-websocket clients in one process', () => {
  let server: SkeinServer;
  const providers: WebsocketProvider[] = [];
  let maxListeners: number;

  beforeEach(async () => {
    // Every WebsocketProvider registers a process 'exit' listener (to clear its awareness):
    // 1,000 of them are expected here, not a leak.
    maxListeners = process.getMaxListeners();
    process.setMaxListeners(DOCS * CLIENTS_PER_DOC + 50);
    server = await startTestServer({ unloadDelayMs: 20 });
  });
  afterEach(async () => {
    destroyAll(providers.splice(0));
    await server.close();
    process.setMaxListeners(maxListeners);
  });

  it('every client edits, every document converges, and the registry empties when all leave', async () => {
    const byDoc: WebsocketProvider[][] = [];
    for (let d = 0; d < DOCS; d++) {
      const group: WebsocketProvider[] = [];
      for (let c = 0; c < CLIENTS_PER_DOC; c++) group.push(connectProvider(server.url, `scale-${d}`));
      providers.push(...group);
      byDoc.push(group);
    }
    await Promise.all(providers.map(synced));
    expect(server.connectionCount()).toBe(DOCS * CLIENTS_PER_DOC);
    expect(server.registry.size).toBe(DOCS);

    byDoc.forEach((group, d) =>
      group.forEach((p, c) => {
        p.doc.getMap('m').set(`c${c}`, { doc: d, client: c });
        p.doc.getText('t').insert(0, `<${c}>`);
      }),
    );

    const serverDoc = (d: number): Y.Doc | undefined => server.registry.get(`scale-${d}`)?.doc;
    // (getMap/getText also give the server's untyped roots their type, so toJSON() sees them.)
    const complete = (doc: Y.Doc | undefined): boolean =>
      doc !== undefined && doc.getMap('m').size === CLIENTS_PER_DOC && doc.getText('t').length === 3 * CLIENTS_PER_DOC;
    // Cheap predicate first (sizes), then the full oracle once.
    await waitFor(() => byDoc.every((group, d) => complete(serverDoc(d)) && group.every((p) => complete(p.doc))), {
      timeoutMs: 20_000,
      intervalMs: 50,
      what: 'every edit on every client and on the server',
    });
    for (const [d, group] of byDoc.entries()) {
      const reference = serverDoc(d);
      if (reference === undefined) throw new Error(`scale-${d} is not loaded on the server`);
      expect(hasPending(reference), `scale-${d}: server has pending structs`).toBe(false);
      for (const p of group) {
        expect(sameState(p.doc, reference), `scale-${d}: client ${p.doc.clientID} differs from the server`).toBe(true);
        expect(hasPending(p.doc)).toBe(false);
      }
      expect(canonicalJson(reference.getMap('m').toJSON())).toBe(
        canonicalJson(Object.fromEntries(group.map((_, c) => [`c${c}`, { doc: d, client: c }]))),
      );
    }
    expect(server.registry.size).toBe(DOCS);

    destroyAll(providers.splice(0));
    await waitFor(() => server.connectionCount() === 0 && server.registry.size === 0, {
      timeoutMs: 10_000,
      what: 'every connection closed and every document unloaded',
    });
    expect(server.registry.pendingTimers).toBe(0);
  });
});
