import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { SkeinProvider } from '@skein/client';
import type { SkeinServer } from '@skein/server';
import { startTestServer } from '../helpers/server.js';
import { GatedStore } from '../helpers/stores.js';
import { waitFor } from '../helpers/wait.js';
import { isSaved, isSynced, openClient, waitStatus } from '../helpers/skein-client.js';

/**
 * After a reconnect the client's sync step 2 carries only what the server's state vector
 * lacks; an update the server already holds in memory is covered by that step 2's ack. That
 * is only sound if the ack also waits for the server's earlier write of that update. Here
 * that earlier write fails after the step 2 arrived: `saved` must not become true until the
 * update really is in the store.
 */
describe('ack coverage across a reconnect', () => {
  let server: SkeinServer;
  const providers: SkeinProvider[] = [];
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.destroy()));
    await server.close();
  });

  it('an update held in server memory whose write then fails is not reported saved', async () => {
    const store = new GatedStore();
    server = await startTestServer({}, { store });
    const p = openClient(server.url, 'race');
    providers.push(p);
    await waitStatus(p, isSynced);

    // X reaches the server's memory; its append is held, and will fail.
    const gate = store.hold('append');
    store.fail('append', 1);
    p.doc.getMap('m').set('x', 1);
    await waitFor(() => server.registry.get('race')?.doc.getMap('m').get('x') === 1, { what: 'server holds x' });
    await waitFor(() => gate.waiting === 1, { what: "x's append is held" });

    // The connection drops before x is acknowledged; y is made offline; reconnect.
    p.disconnect();
    p.doc.getMap('m').set('y', 2);
    p.connect();
    // The step 2 carries y only (the server has x): its append queues behind x's.
    await waitFor(() => store.calls.append.length >= 2, { what: "step 2's append" });
    store.release('append');

    await waitStatus(p, isSaved, 'saved');
    const stored = new Y.Doc();
    for (const u of await store.log('race')) Y.applyUpdate(stored, u);
    expect(stored.getMap('m').toJSON()).toEqual({ x: 1, y: 2 });
  });
});
