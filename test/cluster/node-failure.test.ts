import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';
import type { SkeinProvider } from '@skein/client';
import { connectProvider, synced } from '../helpers/clients.js';
import { openClient, waitStatus } from '../helpers/skein-client.js';
import { redisAvailable } from '../helpers/redis-server.js';
import { startNode, stopNode, useClusterFixture, type SkeinNode } from '../helpers/cluster-nodes.js';
import { waitFor } from '../helpers/wait.js';

const haveRedis = redisAvailable();

/** Point a y-websocket provider at another node (what a load balancer does after a failover). */
function failover(provider: WebsocketProvider, url: string): void {
  provider.serverUrl = url;
}

/**
 * A writer that records which of its edits were acknowledged: whenever the provider reports
 * nothing pending, every edit made so far is durable by the ack policy.
 */
function ackTracker(client: SkeinProvider): { write(key: string): void; acked(): Set<string> } {
  const written: string[] = [];
  let acked = new Set<string>();
  client.on('status', (s) => {
    if (s.saved && s.pendingUpdates.count === 0) acked = new Set(written);
  });
  return {
    write: (key) => {
      written.push(key);
      client.doc.getMap('m').set(key, key.length);
    },
    acked: () => acked,
  };
}

describe.runIf(haveRedis)('cluster: a node dies (SIGKILL)', () => {
  const fx = useClusterFixture([], { stopNodesAfterEach: true });
  const { nodes, providers, skeins } = fx;

  for (const ack of ['local', 'cluster'] as const) {
    it(`ack=${ack}: clients move to another node, 0 acknowledged updates lost${ack === 'cluster' ? ' (dead node\'s data directory deleted)' : ''}, ghost cursors gone within 5 s`, async () => {
      const [a, b] = await Promise.all(['a', 'b'].map((name) => startNode({ name, ack, redis: { url: fx.redis.url } })));
      nodes.push(a as SkeinNode, b as SkeinNode);
      const nodeA = a as SkeinNode;
      const nodeB = b as SkeinNode;
      const doc = `failover-${ack}`;
      // On node a: a @skein/client writer and a y-websocket client with a cursor.
      const writer = openClient(nodeA.url, doc);
      skeins.push(writer);
      const tracker = ackTracker(writer);
      const cursor = connectProvider(nodeA.url, doc);
      providers.push(cursor);
      // On node b: an observer.
      const observer = connectProvider(nodeB.url, doc);
      providers.push(observer);
      await Promise.all([synced(cursor), synced(observer), waitStatus(writer, (s) => s.synced, 'writer synced')]);
      cursor.awareness.setLocalStateField('cursor', { x: 1 });
      await waitFor(() => observer.awareness.getStates().has(cursor.awareness.clientID), { what: 'cursor visible on node b' });

      for (let k = 0; k < 200; k++) {
        tracker.write(`w${k}`);
        cursor.doc.getMap('m').set(`y${k}`, k);
        if (k % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await waitFor(() => tracker.acked().size > 0, { what: 'some edits acknowledged' });

      // kill -9 node a; with the cluster ack policy its disk is gone too.
      cursor.shouldConnect = false;
      const killedAt = Date.now();
      await stopNode(nodeA, 'SIGKILL', ack === 'cluster');
      nodes.splice(nodes.indexOf(nodeA), 1);
      if (ack === 'cluster') rmSync(nodeA.dataDir, { recursive: true, force: true });
      const acked = tracker.acked();

      // Ghost cursor: removed on node b by node a's missing heartbeats, well before the 30 s awareness timeout.
      await waitFor(() => !observer.awareness.getStates().has(cursor.awareness.clientID), { what: 'ghost cursor removed', timeoutMs: 5_000 });
      const ghostMs = Date.now() - killedAt;
      console.log(`[cluster] ack=${ack}: ghost cursor removed ${ghostMs} ms after SIGKILL; ${acked.size} acknowledged edits`);
      expect(ghostMs).toBeLessThanOrEqual(5_000);

      // A fresh client on node b sees every acknowledged edit (node b may even have unloaded the doc).
      const fresh = connectProvider(nodeB.url, doc, new Y.Doc());
      providers.push(fresh);
      await synced(fresh);
      await waitFor(() => [...acked].every((key) => fresh.doc.getMap('m').has(key)), { what: 'every acknowledged edit on node b' });

      // The clients of node a reconnect to node b and everything converges.
      failover(cursor, nodeB.url);
      cursor.shouldConnect = true;
      void cursor.connect();
      await writer.destroy();
      skeins.splice(skeins.indexOf(writer), 1);
      const moved = openClient(nodeB.url, doc, { doc: writer.doc });
      skeins.push(moved);
      await waitFor(() => fresh.doc.getMap('m').size === 400 && observer.doc.getMap('m').size === 400 && cursor.doc.getMap('m').size === 400, {
        what: 'all edits on node b after failover',
      });
      await waitStatus(moved, (s) => s.saved && s.pendingUpdates.count === 0, 'saved on node b');
    });
  }

  it('ack=cluster: with the only node that had the document dead and its disk gone, a new node loads every acknowledged update from the shared tier', async () => {
    const nodeA = await startNode({ name: 'solo-a', ack: 'cluster', redis: { url: fx.redis.url } });
    nodes.push(nodeA);
    const doc = 'tier-only';
    const writer = openClient(nodeA.url, doc);
    skeins.push(writer);
    const tracker = ackTracker(writer);
    await waitStatus(writer, (s) => s.synced, 'synced');
    // Enough updates to make the tier compact its log at least once.
    for (let k = 0; k < 300; k++) {
      tracker.write(`t${k}`);
      if (k % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await waitFor(() => tracker.acked().size >= 100, { what: 'edits acknowledged' });
    writer.disconnect();
    const acked = tracker.acked();
    await stopNode(nodeA, 'SIGKILL', true);
    nodes.splice(nodes.indexOf(nodeA), 1);
    const nodeC = await startNode({ name: 'solo-c', ack: 'cluster', redis: { url: fx.redis.url } });
    nodes.push(nodeC);
    const fresh = connectProvider(nodeC.url, doc);
    providers.push(fresh);
    await synced(fresh);
    // Node c may have loaded before its Redis link was up: then it merges the tier when it is.
    await waitFor(() => [...acked].every((key) => fresh.doc.getMap('m').has(key)), { what: 'every acknowledged edit on the new node' });
    console.log(`[cluster] ${acked.size} acknowledged edits loaded from the shared tier by a new node`);
  });
});
