import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { DocumentHandle } from '../../server/src/documents/document-handle.js';
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
  /** N replicas over a bus; `drop` decides per delivery whether the message is lost. */
  function mesh(n: number, drop: (kind: Kind) => boolean): { handles: DocumentHandle[]; replicas: DocReplica[] } {
    const handles: DocumentHandle[] = [];
    const replicas: DocReplica[] = [];
    const seqs = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) {
      const handle = new DocumentHandle('doc');
      handle.hydrate([]);
      handles.push(handle);
      replicas.push(
        new DocReplica(handle, {
          nodeKey: `n${i}#1`,
          logger: silentLogger(),
          persist: () => Promise.resolve(),
          publish: (kind, payload) => {
            const env = decodeEnvelope(encodeEnvelope({ kind, nodeId: `n${i}`, incarnation: 1, seq: ++seqs[i]!, traceparent: '', payload }));
            replicas.forEach((r, j) => {
              if (j !== i && !drop(kind)) r.receive(env, `n${i}#1`);
            });
            return true;
          },
        }),
      );
    }
    for (const r of replicas) r.start([]);
    return { handles, replicas };
  }

  it('a lost update with no further edits heals in one anti-entropy round (inserts and deletes)', () => {
    let lose = true;
    const { handles, replicas } = mesh(3, (kind) => lose && kind === Kind.Update);
    const [a, b, c] = handles as [DocumentHandle, DocumentHandle, DocumentHandle];
    a.doc.getArray<number>('x').insert(0, [1, 2, 3, 4]);
    expect(b.doc.getArray('x').length).toBe(0);
    lose = false;
    replicas[1]?.requestSync();
    replicas[2]?.requestSync();
    expect(sameDocs(a.doc, b.doc) && sameDocs(a.doc, c.doc)).toBe(true);
    // A delete-only change does not move the state vector: the delete-set digest catches it.
    lose = true;
    a.doc.getArray<number>('x').delete(1, 2);
    lose = false;
    expect(b.doc.getArray('x').length).toBe(4);
    replicas[1]?.requestSync();
    replicas[2]?.requestSync();
    expect(b.doc.getArray('x').toArray()).toEqual([1, 4]);
    expect(sameDocs(a.doc, b.doc) && sameDocs(a.doc, c.doc)).toBe(true);
  });

  it('both sides missing something: one exchange makes both whole', () => {
    let lose = true;
    const { handles, replicas } = mesh(2, () => lose);
    const [a, b] = handles as [DocumentHandle, DocumentHandle];
    a.doc.getMap('m').set('a', 1);
    b.doc.getMap('m').set('b', 2);
    lose = false;
    replicas[0]?.requestSync();
    expect(a.doc.getMap('m').toJSON()).toEqual({ a: 1, b: 2 });
    expect(sameDocs(a.doc, b.doc)).toBe(true);
    expect(Y.encodeStateVector(a.doc)).toEqual(Y.encodeStateVector(b.doc));
  });

  it('a sequence gap schedules anti-entropy by itself', async () => {
    let dropNext = false;
    const { handles } = mesh(2, (kind) => {
      if (dropNext && kind === Kind.Update) {
        dropNext = false;
        return true;
      }
      return false;
    });
    const [a, b] = handles as [DocumentHandle, DocumentHandle];
    a.doc.getMap('m').set('first', 1);
    dropNext = true;
    a.doc.getMap('m').set('lost', 2);
    a.doc.getMap('m').set('third', 3); // arrives with a gap in the sequence
    await new Promise((resolve) => setTimeout(resolve, 50)); // the coalescing delay (20 ms) elapses
    expect(sameDocs(a.doc, b.doc)).toBe(true);
  });
});
