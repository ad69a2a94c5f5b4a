import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { MemoryLocalStore, type LocalStore, type LocalStoreBatch, type SkeinProvider, type StoredEntry } from '@skein/client';
import type { SkeinServer } from '@skein/server';
import { startTestServer } from '../helpers/server.js';
import { isSaved, isSynced, openClient, waitStatus } from '../helpers/skein-client.js';

/** A store whose writes fail (quota exceeded, private mode…) while reads work. */
class ReadOnlyStore implements LocalStore {
  readonly inner = new MemoryLocalStore();
  load(doc: string): Promise<StoredEntry[]> {
    return this.inner.load(doc);
  }
  write(_doc: string, _batch: LocalStoreBatch): Promise<void> {
    return Promise.reject(new Error('QuotaExceededError'));
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

describe('outbox failure paths', () => {
  let server: SkeinServer;
  const providers: SkeinProvider[] = [];
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.destroy()));
    await server.close();
  });

  it('a store that cannot write: edits are kept in memory, sent, acknowledged, and saved', async () => {
    server = await startTestServer();
    const p = openClient(server.url, 'no-quota', { store: new ReadOnlyStore() });
    providers.push(p);
    await waitStatus(p, isSynced);
    p.doc.getMap('m').set('x', 1);
    const saved = await waitStatus(p, isSaved);
    expect(saved.lastError?.code).toBe('SKEIN_ERR_CLIENT_LOCAL_STORE_WRITE');
    expect(server.registry.get('no-quota')?.doc.getMap('m').get('x')).toBe(1);
  });

  it('a damaged stored entry is skipped (reported), never sent; the valid ones are delivered', async () => {
    server = await startTestServer();
    const store = new MemoryLocalStore();
    const good = new Y.Doc();
    good.getMap('m').set('good', true);
    await store.write('damaged', {
      put: [
        { key: 'a', kind: 'pending', bytes: Y.encodeStateAsUpdate(good) },
        { key: 'b', kind: 'pending', bytes: Uint8Array.from([200, 1, 2, 3]) },
      ],
    });
    const p = openClient(server.url, 'damaged', { store });
    providers.push(p);
    await waitStatus(p, isSaved, 'saved');
    expect(p.status.lastError?.code).toBe('SKEIN_ERR_CLIENT_LOCAL_STORE_READ');
    expect(p.doc.getMap('m').get('good')).toBe(true);
    expect(server.registry.get('damaged')?.doc.getMap('m').get('good')).toBe(true);
    expect(p.status.connection).toBe('connected'); // never closed for an invalid update
  });
});
