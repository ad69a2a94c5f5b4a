import { describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import { connectProvider, synced } from '../helpers/clients.js';
import { isSaved, openClient, sameDocs, waitStatus } from '../helpers/skein-client.js';
import { redisAvailable, redisCli } from '../helpers/redis-server.js';
import { logLines, readyz, useClusterFixture } from '../helpers/cluster-nodes.js';
import { waitFor } from '../helpers/wait.js';

const haveRedis = redisAvailable();
const OUTAGE_MS = process.env.EXTENSIVE ? 30_000 : 10_000;
/** Clients edit every 100 ms while Redis is down. */
const EDIT_INTERVAL_MS = 100;
const pace = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Redis outages: local editing continues, nothing is lost, every node converges on its own. */
describe.runIf(haveRedis)('cluster under Redis outages', () => {
  const fx = useClusterFixture(['a', 'b', 'c']);
  const { nodes, providers, skeins } = fx;

  /** One y-websocket and one @skein/client client per node on `doc`. */
  async function clientsOn(doc: string): Promise<Y.Doc[]> {
    const docs: Y.Doc[] = [];
    for (const n of nodes) {
      const p = connectProvider(n.url, doc);
      const s = openClient(n.url, doc);
      providers.push(p);
      skeins.push(s);
      docs.push(p.doc, s.doc);
    }
    await Promise.all(providers.map(synced));
    await Promise.all(skeins.map((s) => waitStatus(s, (st) => st.synced, 'synced')));
    return docs;
  }

  it(`Redis killed (SIGKILL) for ${OUTAGE_MS / 1000} s while clients edit on every node: 0 lost, converged within 2 s of its return`, { timeout: OUTAGE_MS + 60_000 }, async () => {
    const docs = await clientsOn('outage');
    let written = 0;
    const edit = (): void => {
      docs.forEach((d, i) => d.getMap('m').set(`c${i}-${written}`, written));
      written++;
    };
    for (let k = 0; k < 10; k++) edit();
    await waitFor(() => docs.every((d) => sameDocs(d, docs[0] as Y.Doc)), { what: 'converged before the outage' });

    await fx.redis.kill('SIGKILL');
    // Every node notices and reports it.
    await waitFor(async () => (await Promise.all(nodes.map(readyz))).every((r) => r.status === 200 && r.body.status === 'degraded'), {
      what: '/readyz degraded on every node',
    });
    for (const n of nodes) {
      expect((await readyz(n)).body.reasons?.map((r) => r.code)).toContain('SKEIN_ERR_CLUSTER_UNAVAILABLE');
      expect(logLines(n, 'redis unavailable: cluster degraded (local editing continues)').length).toBeGreaterThan(0);
    }
    // Edits keep flowing during the outage, paced (the schedule, not an assertion, is timed).
    const outageEnds = Date.now() + OUTAGE_MS;
    while (Date.now() < outageEnds) {
      edit();
      await pace(EDIT_INTERVAL_MS);
    }
    // Clients on the same node still see each other meanwhile.
    for (let i = 0; i < docs.length; i += 2) {
      await waitFor(() => sameDocs(docs[i] as Y.Doc, docs[i + 1] as Y.Doc), { what: `same-node clients ${i}/${i + 1} converged during the outage` });
    }

    await fx.redis.restart();
    const back = Date.now();
    await waitFor(() => docs.every((d) => d.getMap('m').size === docs.length * written && sameDocs(d, docs[0] as Y.Doc)), {
      what: 'every client converged after Redis returned',
      timeoutMs: 2_000,
    });
    const convergedMs = Date.now() - back;
    console.log(`[cluster] ${written} rounds × ${docs.length} clients; converged ${convergedMs} ms after Redis returned`);
    expect(convergedMs).toBeLessThanOrEqual(2_000);
    await Promise.all(skeins.map((s) => waitStatus(s, isSaved, 'saved')));
    await waitFor(async () => (await Promise.all(nodes.map(readyz))).every((r) => r.body.status === 'ready'), { what: '/readyz ready again' });
    for (const n of nodes) expect(n.server.child.exitCode).toBeNull();
  });

  it('CLIENT KILL TYPE pubsub, then no further edits: converged within 2 s', async () => {
    const docs = await clientsOn('pubsub-kill');
    for (let k = 0; k < 5; k++) docs.forEach((d, i) => d.getMap('m').set(`before-${i}-${k}`, k));
    await waitFor(() => docs.every((d) => sameDocs(d, docs[0] as Y.Doc)), { what: 'converged before the kill' });
    // Kill every subscriber connection, and write while they are gone: those publishes are lost.
    await redisCli(fx.redis.port, 'client', 'kill', 'type', 'pubsub');
    docs.forEach((d, i) => d.getMap('m').set(`during-${i}`, i));
    const killed = Date.now();
    await waitFor(() => docs.every((d) => d.getMap('m').size === docs.length * 6 && sameDocs(d, docs[0] as Y.Doc)), {
      what: 'converged after the pubsub kill',
      timeoutMs: 2_000,
    });
    console.log(`[cluster] converged ${Date.now() - killed} ms after CLIENT KILL TYPE pubsub`);
  });
});
