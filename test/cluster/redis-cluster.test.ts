import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';
import type { SkeinProvider } from '@skein/client';
import { connectProvider, destroyAll, synced } from '../helpers/clients.js';
import { isSaved, openClient, sameDocs, waitStatus } from '../helpers/skein-client.js';
import { redisAvailable, startRedisCluster } from '../helpers/redis-server.js';
import { readyz, startNode, stopNode, type SkeinNode } from '../helpers/cluster-nodes.js';
import { waitFor } from '../helpers/wait.js';

const haveRedis = redisAvailable();

/** The convergence test on a local 3-master Redis Cluster (sharded pub/sub, hash-tagged keys). */
describe.runIf(haveRedis)('cluster on a Redis Cluster (3 masters)', () => {
  let redis: Awaited<ReturnType<typeof startRedisCluster>>;
  const nodes: SkeinNode[] = [];
  const providers: WebsocketProvider[] = [];
  const skeins: SkeinProvider[] = [];

  beforeAll(async () => {
    redis = await startRedisCluster(3);
    nodes.push(...(await Promise.all(['a', 'b', 'c'].map((name) => startNode({ name, ack: 'cluster', redis: { clusterNodes: redis.seeds } })))));
    await waitFor(async () => (await Promise.all(nodes.map(readyz))).every((r) => r.body.status === 'ready'), { what: 'nodes linked to the cluster' });
  });
  afterAll(async () => {
    destroyAll(providers.splice(0));
    for (const s of skeins.splice(0)) void s.destroy();
    await Promise.all(nodes.map((n) => stopNode(n)));
    await redis?.stop();
  });

  it('clients on three nodes converge on documents spread over the shards; a late node loads the full state', async () => {
    // Several documents, so their hash tags land on different shards.
    const names = Array.from({ length: 6 }, (_, i) => `rc-doc-${i}`);
    const all: { name: string; docs: Y.Doc[] }[] = [];
    for (const name of names) {
      const docs: Y.Doc[] = [];
      nodes.forEach((n, i) => {
        if (i % 2 === 0) {
          const p = connectProvider(n.url, name);
          providers.push(p);
          docs.push(p.doc);
        } else {
          const s = openClient(n.url, name);
          skeins.push(s);
          docs.push(s.doc);
        }
      });
      all.push({ name, docs });
    }
    await Promise.all(providers.map(synced));
    await Promise.all(skeins.map((s) => waitStatus(s, (st) => st.synced, 'synced')));
    for (const { docs } of all) docs.forEach((d, i) => { for (let k = 0; k < 10; k++) d.getMap('m').set(`c${i}-${k}`, k); });
    const started = Date.now();
    await waitFor(() => all.every(({ docs }) => docs.every((d) => d.getMap('m').size === docs.length * 10 && sameDocs(d, docs[0] as Y.Doc))), {
      what: 'every document converged on every node',
    });
    console.log(`[cluster] redis cluster: ${names.length} docs × ${nodes.length} nodes converged in ${Date.now() - started} ms`);
    // Acknowledged with the cluster policy: in the shared tier on the right shard.
    await Promise.all(skeins.map((s) => waitStatus(s, isSaved, 'saved')));
    const late = await startNode({ name: 'late', redis: { clusterNodes: redis.seeds } });
    nodes.push(late);
    for (const { name, docs } of all) {
      const p = connectProvider(late.url, name);
      providers.push(p);
      await synced(p);
      await waitFor(() => sameDocs(p.doc, docs[0] as Y.Doc), { what: `late node has ${name}` });
    }
    expect(late.server.child.exitCode).toBeNull();
  });
});
