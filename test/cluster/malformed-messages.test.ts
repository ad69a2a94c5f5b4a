import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Kind, encodeEnvelope } from '../../server/src/cluster/envelope.js';
import { NODES_CHANNEL, docKeys } from '../../server/src/cluster/keys.js';
import { connectProvider, synced } from '../helpers/clients.js';
import { logLines, useClusterFixture, type SkeinNode } from '../helpers/cluster-nodes.js';
import { redisAvailable } from '../helpers/redis-server.js';
import { sameDocs } from '../helpers/skein-client.js';
import { waitFor } from '../helpers/wait.js';

/** PUBLISH raw bytes (RESP over a plain socket: redis-cli arguments cannot carry arbitrary bytes). */
function publish(port: number, channel: string, message: Uint8Array): Promise<void> {
  const bulk = (b: Buffer): Buffer => Buffer.concat([Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n')]);
  const command = Buffer.concat([Buffer.from('*3\r\n'), bulk(Buffer.from('PUBLISH')), bulk(Buffer.from(channel)), bulk(Buffer.from(message))]);
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(command));
    socket.once('data', (reply) => {
      socket.end();
      if (reply[0] === 0x3a) resolve(); // ":<receivers>"
      else reject(new Error(`PUBLISH failed: ${reply.toString()}`));
    });
    socket.once('error', reject);
  });
}

const envelope = (kind: Kind, payload: Uint8Array): Uint8Array =>
  encodeEnvelope({ kind, nodeId: 'intruder', incarnation: 1, seq: 1, traceparent: '', payload });

/**
 * Malformed messages on the cluster's Redis channels (a damaged envelope, a valid envelope
 * around a damaged payload) are logged with SKEIN_ERR_CLUSTER_ENVELOPE and dropped: the
 * receiving nodes keep serving and converging.
 */
describe.runIf(redisAvailable())('malformed cluster messages from Redis', () => {
  const fx = useClusterFixture(['a', 'b']);

  it('are logged with their code and dropped; the nodes keep converging', async () => {
    const [a, b] = fx.nodes as [SkeinNode, SkeinNode];
    const doc = 'malformed-messages';
    const pa = connectProvider(a.url, doc);
    const pb = connectProvider(b.url, doc);
    fx.providers.push(pa, pb);
    await Promise.all([synced(pa), synced(pb)]);
    pa.doc.getMap('m').set('before', 1);
    await waitFor(() => pb.doc.getMap('m').get('before') === 1, { what: 'node b saw the first edit' });

    const { channel } = docKeys(doc);
    const port = fx.redis.port;
    await publish(port, channel, Uint8Array.of(0xff, 0x00, 0x13));
    await publish(port, NODES_CHANNEL, Uint8Array.of(0x01, 0x63));
    await publish(port, channel, envelope(Kind.SyncRequest, Uint8Array.of(9, 1)));
    // The second awareness state is not JSON: nothing of this update may be applied.
    await publish(port, channel, envelope(Kind.Awareness, Uint8Array.of(2, 5, 1, 2, 0x7b, 0x7d, 6, 1, 1, 0x7b)));

    for (const node of [a, b]) {
      await waitFor(() => logLines(node, 'dropped a malformed cluster message').length >= 3 && logLines(node, 'cluster awareness could not be applied').length >= 1, {
        what: `node ${node.name} logged the malformed messages`,
      });
      const logged = [...logLines(node, 'dropped a malformed cluster message'), ...logLines(node, 'cluster awareness could not be applied')];
      expect(new Set(logged.map((l) => l.code))).toEqual(new Set(['SKEIN_ERR_CLUSTER_ENVELOPE']));
    }
    expect(pa.awareness.getStates().has(5)).toBe(false);
    expect(pb.awareness.getStates().has(5)).toBe(false);

    pb.doc.getMap('m').set('after', 2);
    await waitFor(() => pa.doc.getMap('m').get('after') === 2 && sameDocs(pa.doc, pb.doc), { what: 'the nodes still converge' });
    expect(a.server.child.exitCode).toBeNull();
    expect(b.server.child.exitCode).toBeNull();
  });
});
