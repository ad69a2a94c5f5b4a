import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness';
import type { DocumentHandle } from '../../server/src/documents/document-handle.js';
import { DocumentRegistry } from '../../server/src/documents/registry.js';
import type { Replicator } from '../../server/src/documents/ports.js';
import { GatedStore } from '../helpers/stores.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { DocReplica } from '../../server/src/cluster/doc-replica.js';
import { Kind, decodeEnvelope, encodeEnvelope, type Envelope } from '../../server/src/cluster/envelope.js';
import { CircuitBreaker } from '../../server/src/cluster/circuit-breaker.js';
import { docKeys, docNameOfChannel } from '../../server/src/cluster/keys.js';
import { silentLogger } from '../../server/src/logging/logger.js';
import { sameDocs } from '../helpers/skein-client.js';

/**
 * Pure parts of the cluster, without Redis: the envelope codec, key naming, the breaker, and
 * anti-entropy between replicas over an in-memory bus that can drop messages.
 */
describe('cluster envelope and keys', () => {
  it('round-trips an envelope and refuses garbage with SKEIN_ERR_CLUSTER_ENVELOPE', () => {
    const e: Envelope = { kind: Kind.Update, nodeId: 'node-a', incarnation: 42, seq: 7, traceparent: '00-abc-def-01', payload: new Uint8Array([1, 2, 3]) };
    expect(decodeEnvelope(encodeEnvelope(e))).toEqual(e);
    for (const bad of [new Uint8Array(0), new Uint8Array([2, 1]), new Uint8Array([1, 99, 0]), encodeEnvelope(e).subarray(0, 5)]) {
      expect(() => decodeEnvelope(bad)).toThrow(expect.objectContaining({ code: 'SKEIN_ERR_CLUSTER_ENVELOPE' }) as Error);
    }
  });

  it('hash-tags every key of a document alike, whatever its name', () => {
    for (const name of ['doc', 'a{b}c', '{x}', 'ü/ñ 🚀', 'nodes']) {
      const keys = docKeys(name);
      const tag = /\{[^}]*\}/.exec(keys.channel)?.[0];
      for (const key of [keys.state, keys.log, keys.version]) expect(key).toContain(tag);
      expect(docNameOfChannel(keys.channel)).toBe(name);
    }
    expect(docNameOfChannel('skein:{nodes}:ch')).toBeUndefined();
  });

  it('circuit breaker: opens after repeated failures, probes after the backoff, closes on success', () => {
    let now = 0;
    const b = new CircuitBreaker({ failureThreshold: 3, initialBackoffMs: 100, maxBackoffMs: 1_000, now: () => now });
    b.failure();
    b.failure();
    expect(b.state).toBe('closed');
    expect(b.failure()).toBe(true);
    expect(b.allow()).toBe(false);
    now += 200;
    expect(b.allow()).toBe(true);
    expect(b.state).toBe('half-open');
    b.failure();
    expect(b.state).toBe('open');
    now += 2_000;
    expect(b.allow()).toBe(true);
    expect(b.success()).toBe(true);
    expect(b.state).toBe('closed');
  });
});

describe('anti-entropy between replicas', () => {
  const registries: DocumentRegistry[] = [];
  afterEach(async () => {
    await Promise.all(registries.splice(0).map((r) => r.close()));
  });

  /**
   * N nodes, each a real registry whose replicator attaches a DocReplica to a bus; `drop`
   * decides per delivery whether the message is lost. Edits go through each handle's edit
   * path (`submit`), like a client's. Every replica runs on one manual clock.
   */
  async function mesh(n: number, drop: (kind: Kind) => boolean): Promise<{ handles: DocumentHandle[]; replicas: DocReplica[]; clock: ManualClock }> {
    const clock = new ManualClock();
    const replicas: DocReplica[] = [];
    const seqs = new Array<number>(n).fill(0);
    const handles: DocumentHandle[] = [];
    for (let i = 0; i < n; i++) {
      const replicator: Replicator = {
        ackPolicy: 'local',
        fetchRemote: () => Promise.resolve([]),
        delivered: () => Promise.resolve(),
        attach: (host, remote) => {
          const replica = new DocReplica(host, {
            nodeKey: `n${i}#1`,
            logger: silentLogger(),
            clock,
            publish: (kind, payload) => {
              const env = decodeEnvelope(encodeEnvelope({ kind, nodeId: `n${i}`, incarnation: 1, seq: ++seqs[i]!, traceparent: '', payload }));
              replicas.forEach((r, j) => {
                if (j !== i && !drop(kind)) r.receive(env, `n${i}#1`);
              });
              return true;
            },
          });
          replicas[i] = replica;
          replica.start(remote);
          return replica;
        },
      };
      const registry = new DocumentRegistry({ store: new GatedStore(), logger: silentLogger(), unloadDelayMs: 60_000, loadTimeoutMs: 5_000, replicator, clock });
      registries.push(registry);
      handles.push(await registry.open('doc', { id: 1_000 + i, send: () => undefined }));
    }
    return { handles, replicas, clock };
  }

  /** One real event-loop turn: the end-of-turn publish (the manual clock defers on setImmediate) runs. */
  function nextTurn(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }

  /** Make a change on a client copy of `handle`'s document and submit it, as a connection would. */
  function edit(handle: DocumentHandle, change: (doc: Y.Doc) => void): void {
    const client = new Y.Doc();
    Y.applyUpdate(client, Y.encodeStateAsUpdate(handle.doc));
    const before = Y.encodeStateVector(client);
    change(client);
    void handle.submit(Y.encodeStateAsUpdate(client, before), { source: 'local' });
  }

  it('presence: a node\'s awareness changes of one turn go to the other nodes as one message, latest state per client', async () => {
    let awarenessPublishes = 0;
    const { handles } = await mesh(2, (kind) => (kind === Kind.Awareness && awarenessPublishes++, false));
    const [a, b] = handles as [DocumentHandle, DocumentHandle];
    const peer = { id: 2_001, send: () => undefined };
    a.attach(peer);
    const client = (id: number): ((x: number) => Uint8Array) => {
      const doc = new Y.Doc();
      doc.clientID = id;
      const aw = new Awareness(doc);
      return (x) => (aw.setLocalStateField('cursor', x), encodeAwarenessUpdate(aw, [id]));
    };
    const [c1, c2] = [client(501), client(502)];
    for (let x = 1; x <= 3; x++) {
      a.applyClientAwareness(c1(x), peer);
      a.applyClientAwareness(c2(x), peer);
    }
    expect(awarenessPublishes).toBe(0); // held to the end of the turn
    await nextTurn();
    expect(awarenessPublishes).toBe(1);
    expect(b.awareness.getStates().get(501)).toEqual({ cursor: 3 });
    expect(b.awareness.getStates().get(502)).toEqual({ cursor: 3 });
  });

  it('a lost update with no further edits heals in one anti-entropy round (inserts and deletes)', async () => {
    let lose = true;
    const { handles, replicas } = await mesh(3, (kind) => lose && kind === Kind.Update);
    const [a, b, c] = handles as [DocumentHandle, DocumentHandle, DocumentHandle];
    edit(a, (d) => d.getArray<number>('x').insert(0, [1, 2, 3, 4]));
    expect(b.doc.getArray('x').length).toBe(0);
    lose = false;
    replicas[1]?.requestSync();
    replicas[2]?.requestSync();
    expect(sameDocs(a.doc, b.doc) && sameDocs(a.doc, c.doc)).toBe(true);
    // A delete-only change does not move the state vector: the delete-set digest catches it.
    lose = true;
    edit(a, (d) => d.getArray<number>('x').delete(1, 2));
    lose = false;
    expect(b.doc.getArray('x').length).toBe(4);
    replicas[1]?.requestSync();
    replicas[2]?.requestSync();
    expect(b.doc.getArray('x').toArray()).toEqual([1, 4]);
    expect(sameDocs(a.doc, b.doc) && sameDocs(a.doc, c.doc)).toBe(true);
  });

  it('both sides missing something: one exchange makes both whole', async () => {
    let lose = true;
    const { handles, replicas } = await mesh(2, () => lose);
    const [a, b] = handles as [DocumentHandle, DocumentHandle];
    edit(a, (d) => d.getMap('m').set('a', 1));
    edit(b, (d) => d.getMap('m').set('b', 2));
    lose = false;
    replicas[0]?.requestSync();
    expect(a.doc.getMap('m').toJSON()).toEqual({ a: 1, b: 2 });
    expect(sameDocs(a.doc, b.doc)).toBe(true);
    expect(Y.encodeStateVector(a.doc)).toEqual(Y.encodeStateVector(b.doc));
  });

  it('a sequence gap schedules anti-entropy by itself, after the coalescing delay', async () => {
    let dropNext = false;
    const { handles, clock } = await mesh(2, (kind) => {
      if (dropNext && kind === Kind.Update) {
        dropNext = false;
        return true;
      }
      return false;
    });
    const [a, b] = handles as [DocumentHandle, DocumentHandle];
    // Each edit in a turn of its own: a turn's changes are published as one message (fan-out.ts).
    edit(a, (d) => d.getMap('m').set('first', 1));
    await nextTurn();
    dropNext = true;
    edit(a, (d) => d.getMap('m').set('lost', 2));
    await nextTurn();
    edit(a, (d) => d.getMap('m').set('third', 3)); // arrives with a gap in the sequence
    await nextTurn();
    expect(b.doc.getMap('m').has('third')).toBe(true);
    expect(b.doc.getMap('m').has('lost')).toBe(false);
    clock.advance(19);
    expect(b.doc.getMap('m').has('lost')).toBe(false); // coalescing: nothing before 20 ms
    clock.advance(1);
    expect(sameDocs(a.doc, b.doc)).toBe(true);
  });
});
