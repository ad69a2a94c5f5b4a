import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { encodeHello, encodeSyncUpdate, SkeinFeature, type Message } from '@skein/protocol';
import type { SkeinServer } from '@skein/server';
import { RawClient } from '../helpers/raw-client.js';
import { RedisProcess, redisAvailable, redisCli } from '../helpers/redis-server.js';
import { startTestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const haveRedis = redisAvailable();

/** Acks (`skein-ack` seqs) a raw client received so far. */
function acks(client: RawClient): number[] {
  return client.decoded().flatMap((m: Message) => (m.type === 'skein-ack' ? [m.seq] : []));
}

/** A durable-ack session: Hello(DurableAcks) → Welcome. */
async function durableSession(server: SkeinServer, doc: string): Promise<RawClient> {
  const client = await RawClient.connect(server.url, doc);
  client.send(encodeHello(SkeinFeature.DurableAcks));
  await waitFor(() => client.decoded().some((m) => m.type === 'skein-welcome'), { what: 'welcome' });
  return client;
}

/** Every message the server handled before now has had its synchronous reply and microtasks flushed to us. */
async function settle(server: SkeinServer, client: RawClient, doc: string): Promise<void> {
  await client.roundTrip();
  await server.store.flush(doc);
  await client.roundTrip();
  await client.roundTrip();
}

describe.runIf(haveRedis)('--cluster-ack cluster', () => {
  let redis: RedisProcess | undefined;
  let server: SkeinServer | undefined;
  let dataDir: string | undefined;
  const clients: RawClient[] = [];

  afterEach(async () => {
    if (redis !== undefined) await redisCli(redis.port, 'CLIENT', 'UNPAUSE').catch(() => '');
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    await server?.close();
    await redis?.stop();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
    server = redis = dataDir = undefined;
  });

  it('a re-sent update the node already holds is acknowledged only once it is in the shared tier', async () => {
    redis = await RedisProcess.start();
    dataDir = mkdtempSync(join(tmpdir(), 'skein-ack-policy-'));
    server = await startTestServer({ storage: 'leveldb', dataDir, redisUrl: redis.url, clusterAck: 'cluster', nodeId: 'n1' });
    const author = new Y.Doc();
    const edit = (key: string): Uint8Array => {
      const before = Y.encodeStateVector(author);
      author.getMap('m').set(key, key);
      return Y.encodeStateAsUpdate(author, before);
    };

    // Baseline: with Redis answering, an update is acknowledged.
    const first = await durableSession(server, 'doc');
    clients.push(first);
    first.send(encodeSyncUpdate(edit('a')));
    await waitFor(() => acks(first).includes(1), { what: 'ack of the first update' });

    // The shared tier stops taking writes: the next update is applied and locally durable, not acked.
    await redisCli(redis.port, 'CLIENT', 'PAUSE', '60000', 'WRITE');
    const pending = edit('b');
    first.send(encodeSyncUpdate(pending));
    await settle(server, first, 'doc');
    expect(server.registry.get('doc')?.doc.getMap('m').get('b')).toBe('b');
    expect(acks(first)).toEqual([1]);

    // The client reconnects and re-sends what was not acknowledged: the node already holds it.
    await first.dispose();
    const again = await durableSession(server, 'doc');
    clients.push(again);
    again.send(encodeSyncUpdate(pending));
    await settle(server, again, 'doc');
    // Local durability alone must not acknowledge it: the shared tier does not have it yet.
    expect(acks(again)).toEqual([]);

    // The tier takes writes again: the re-sent update is acknowledged.
    await redisCli(redis.port, 'CLIENT', 'UNPAUSE');
    await waitFor(() => acks(again).includes(1), { what: 'ack after the tier has it', timeoutMs: 20_000 });
  });
});
