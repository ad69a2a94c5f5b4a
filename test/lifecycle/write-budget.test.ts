import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { CloseCode, encodeHello, encodeSyncUpdate, SkeinFeature, type Message } from '@skein/protocol';
import type { SkeinServer } from '@skein/server';
import { RawClient } from '../helpers/raw-client.js';
import { startTestServer } from '../helpers/server.js';
import { GatedStore } from '../helpers/stores.js';
import { waitFor } from '../helpers/wait.js';

function acks(client: RawClient): number[] {
  return client.decoded().flatMap((m: Message) => (m.type === 'skein-ack' ? [m.seq] : []));
}

async function readyz(server: SkeinServer): Promise<{ status: number; codes: string[] }> {
  const res = await fetch(`http://127.0.0.1:${server.port}/readyz`);
  const body = (await res.json()) as { reasons?: { code: string }[] };
  return { status: res.status, codes: (body.reasons ?? []).map((r) => r.code) };
}

/** `--max-unpersisted-bytes`: a bound on what a failing disk makes the node hold in memory. */
describe('write budget (--max-unpersisted-bytes)', () => {
  let server: SkeinServer | undefined;
  let store: GatedStore | undefined;
  const clients: RawClient[] = [];

  afterEach(async () => {
    store?.releaseAll();
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    await server?.close();
    server = store = undefined;
  });

  it('refuses new writes past the bound with 4507, says why in /readyz, and loses nothing accepted', async () => {
    store = new GatedStore();
    const srv = (server = await startTestServer({ maxUnpersistedBytes: 4096 }, { store }));
    const author = new Y.Doc();
    const edit = (key: string, bytes: number): Uint8Array => {
      const before = Y.encodeStateVector(author);
      author.getMap('m').set(key, 'x'.repeat(bytes));
      return Y.encodeStateAsUpdate(author, before);
    };
    const writer = await RawClient.connect(srv.url, 'doc');
    clients.push(writer);
    writer.send(encodeHello(SkeinFeature.DurableAcks));

    // Healthy disk: acknowledged.
    writer.send(encodeSyncUpdate(edit('acked', 1_500)));
    await waitFor(() => acks(writer).includes(1), { what: 'first ack' });

    // The disk stops completing writes (a failing disk that the engine keeps retrying).
    store.hold('append');
    writer.send(encodeSyncUpdate(edit('held-1', 1_500))); // 0 outstanding: admitted
    writer.send(encodeSyncUpdate(edit('held-2', 1_500))); // ~1.5 KB + 1.5 KB ≤ 4 KB: admitted
    await writer.roundTrip();
    expect((await readyz(srv)).status).toBe(200);
    writer.send(encodeSyncUpdate(edit('refused', 1_500))); // past 4 KB: refused
    const closed = await writer.closed;
    expect(closed).toEqual({ code: CloseCode.StorageBackpressure, reason: 'SKEIN_ERR_UNPERSISTED_LIMIT' });
    expect(srv.registry.budget.refused).toBe(1);

    const ready = await readyz(srv);
    expect(ready.status).toBe(503);
    expect(ready.codes).toContain('SKEIN_ERR_UNPERSISTED_LIMIT');
    // Nothing of the refused update was applied; what was accepted is live.
    const live = srv.registry.get('doc')?.doc.getMap('m');
    expect([...(live?.keys() ?? [])].sort()).toEqual(['acked', 'held-1', 'held-2']);

    // The disk recovers: everything accepted is stored, the budget drains, the node is ready.
    store.release('append');
    await waitFor(() => srv.registry.budget.bytes === 0, { what: 'budget drained' });
    expect((await readyz(srv)).status).toBe(200);
    const stored = new Y.Doc();
    for (const u of await store.log('doc')) Y.applyUpdate(stored, u);
    expect([...stored.getMap('m').keys()].sort()).toEqual(['acked', 'held-1', 'held-2']);

    // The client reconnects and re-sends what the server lacks (its sync step 2): accepted now.
    const again = await RawClient.connect(srv.url, 'doc');
    clients.push(again);
    again.send(encodeHello(SkeinFeature.DurableAcks));
    const serverState = Y.encodeStateVector(srv.registry.get('doc')?.doc as Y.Doc);
    again.send(encodeSyncUpdate(Y.encodeStateAsUpdate(author, serverState)));
    await waitFor(() => acks(again).includes(1), { what: 'ack after recovery' });
    expect(srv.registry.get('doc')?.doc.getMap('m').has('refused')).toBe(true);
  });
});
