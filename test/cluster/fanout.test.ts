import { describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import { connectProvider, synced } from '../helpers/clients.js';
import { isSaved, openClient, sameDocs, waitStatus } from '../helpers/skein-client.js';
import { redisAvailable } from '../helpers/redis-server.js';
import { useClusterFixture, type SkeinNode } from '../helpers/cluster-nodes.js';
import { waitFor } from '../helpers/wait.js';

const haveRedis = redisAvailable();

/**
 * Fan-out across nodes: real `skein serve` processes sharing one real `redis-server`, real
 * y-websocket clients and @skein/client providers spread over them.
 */
describe.runIf(haveRedis)('cluster fan-out', () => {
  const fx = useClusterFixture(['a', 'b', 'c']);
  const { nodes, providers, skeins } = fx;

  const node = (i: number): SkeinNode => nodes[i] as SkeinNode;

  for (const count of [2, 3]) {
    it(`${count} nodes: y-websocket and @skein/client clients on every node converge`, async () => {
      const doc = `fanout-${count}`;
      const docs: Y.Doc[] = [];
      for (let i = 0; i < count; i++) {
        const p = connectProvider(node(i).url, doc);
        providers.push(p);
        docs.push(p.doc);
        const s = openClient(node(i).url, doc);
        skeins.push(s);
        docs.push(s.doc);
      }
      await Promise.all(providers.map(synced));
      await Promise.all(skeins.map((s) => waitStatus(s, (st) => st.synced, 'synced')));
      docs.forEach((d, i) => {
        for (let k = 0; k < 20; k++) d.getMap('m').set(`c${i}-${k}`, k);
        d.getArray('a').push([i]);
      });
      const started = Date.now();
      await waitFor(() => docs.every((d) => d.getMap('m').size === docs.length * 20 && sameDocs(d, docs[0] as Y.Doc)), {
        what: 'all clients converged',
      });
      console.log(`[cluster] ${count} nodes, ${docs.length} clients converged in ${Date.now() - started} ms`);
      await Promise.all(skeins.map((s) => waitStatus(s, isSaved, 'saved')));
    });
  }

  it('a node that never saw a document loads its full state (shared tier + live peers)', async () => {
    const doc = 'fanout-late';
    const writer = openClient(node(0).url, doc);
    skeins.push(writer);
    for (let k = 0; k < 50; k++) writer.doc.getMap('m').set(`k${k}`, 'x'.repeat(k));
    writer.doc.getText('t').insert(0, 'hello from node a');
    await waitStatus(writer, isSaved, 'saved on node a');
    // Node c has never loaded this document: it must load everything on first open.
    const reader = connectProvider(node(2).url, doc);
    providers.push(reader);
    await synced(reader);
    await waitFor(() => sameDocs(reader.doc, writer.doc), { what: 'node c served the full state' });
    expect(reader.doc.getText('t').toJSON()).toBe('hello from node a');
  });

  it('presence: awareness flows between nodes and leaves when the client does', async () => {
    const doc = 'fanout-presence';
    const a = connectProvider(node(0).url, doc);
    const b = connectProvider(node(1).url, doc);
    providers.push(a, b);
    await Promise.all([synced(a), synced(b)]);
    a.awareness.setLocalStateField('user', { name: 'alice' });
    await waitFor(() => (b.awareness.getStates().get(a.awareness.clientID) as { user?: { name: string } } | undefined)?.user?.name === 'alice', {
      what: 'alice visible on node b',
    });
    a.destroy();
    providers.splice(providers.indexOf(a), 1);
    await waitFor(() => !b.awareness.getStates().has(a.awareness.clientID), { what: 'alice gone on node b' });
  });
});
