// S4 idle memory: `docs` documents of ~`docKB` KB each, then `connections` idle connections
// spread evenly over them. Server RSS is sampled after a forced full GC (V8 inspector,
// loopback) at five points:
//   R0  server started, nothing connected
//   R1  every doc loaded and seeded by one connection (the seeder, which stays)
//   Ri  the same, after `idleS` seconds without an edit (a server may shrink idle documents:
//       Skein keeps only the encoded state of a document unchanged for --dormant-after-ms,
//       10 s by default)
//   R2  all `connections` connected and synced (seeders included)
//   R3  the same, after `idleS` more seconds without an edit
// per connection = (R2 − Ri) / (connections − docs): both samples with the documents in the
// same (idle) form, so that no document shrinking between them is counted against the
// connections (when the readers connected right after R1, a server that shrinks idle documents
// shrank some of them before R2, and the figure was noise or even negative);
// per doc = (R1 − R0) / docs − per connection; per idle doc = (R3 − R0 − connections × per
// connection) / docs.
// The same deltas of the server's own heapUsed + external (after the GC) are reported too.
import * as Y from 'yjs';
import { BenchClient } from '../client.mjs';
import { closeAll, connectAll, sleep, streamHash } from '../common.mjs';

/** A canvas-like document: ~`kb` KB of shapes in the map `m`, as one update. */
export function seedUpdate(kb) {
  const doc = new Y.Doc();
  const shapes = doc.getMap('m');
  let i = 0;
  doc.transact(() => {
    while (Y.encodeStateAsUpdate(doc).length < kb * 1024 && i < 100_000) {
      for (let j = 0; j < 50; j++, i++) {
        shapes.set(`shape-${i}`, { type: i % 3 === 0 ? 'rect' : 'ellipse', x: (i * 37) % 1920, y: (i * 53) % 1080, w: 40 + (i % 200), h: 30 + (i % 150), fill: `#${(i * 2654435761 % 0xffffff).toString(16).padStart(6, '0')}`, label: `Shape ${i}` });
      }
    }
  });
  return { update: Y.encodeStateAsUpdate(doc), sv: Buffer.from(Y.encodeStateVector(doc)).toString('hex'), shapes: i };
}

/**
 * @param {{docs: number, connections: number, docKB: number, settleS: number}} p
 * @param {{url: string, protocol: 'yws'|'hocus'|'relay'}} target
 * @param {import('../main.mjs').Orchestrator} orch
 */
export async function s4(p, target, orch) {
  const seed = seedUpdate(p.docKB);
  const relay = target.protocol === 'relay';
  await sleep(p.settleS * 1000);
  const r0 = await orch.probe('baseline', { gc: true });

  const seeders = Array.from({ length: p.docs }, (_, d) => new BenchClient({ url: target.url, doc: `s4-doc-${d}`, protocol: target.protocol, keep: false }));
  await connectAll(seeders, 50);
  for (const s of seeders) s.sendUpdate(seed.update);
  // A sync round trip per seeder: the server has applied the seed when the answer comes.
  if (!relay) await Promise.all(seeders.map((s) => s.roundTrip()));
  await sleep(p.settleS * 1000);
  const r1 = await orch.probe('docs-loaded', { gc: true });
  await sleep(p.idleS * 1000);
  const ri = await orch.probe('docs-idle', { gc: true });

  const readers = [];
  for (let i = 0; i < p.connections - p.docs; i++) {
    readers.push(new BenchClient({ url: target.url, doc: `s4-doc-${i % p.docs}`, protocol: target.protocol }));
  }
  await connectAll(readers, 50);
  await sleep(p.settleS * 1000);
  const r2 = await orch.probe('connected', { gc: true });

  // Every reader must hold the seeded document (the relay keeps no state: nothing to check):
  // one reader per distinct received stream (normally all are identical) is fully applied
  // and its state vector and content compared with the seed's.
  let bad = 0;
  if (!relay) {
    const verdicts = new Map();
    for (const r of readers) {
      const key = streamHash(r);
      let ok = verdicts.get(key);
      if (ok === undefined) {
        const d = r.materialize();
        ok = Buffer.from(Y.encodeStateVector(d)).toString('hex') === seed.sv && d.getMap('m').size === seed.shapes;
        verdicts.set(key, ok);
      }
      if (!ok) bad++;
      r.dropReceived();
    }
  }
  await sleep(p.idleS * 1000);
  const r3 = await orch.probe('idle', { gc: true });
  closeAll([...seeders, ...readers]);
  const perConnKB = (r2.rssKB - ri.rssKB) / readers.length;
  const perDocKB = (r1.rssKB - r0.rssKB) / p.docs - perConnKB;
  const perIdleDocKB = (r3.rssKB - r0.rssKB - p.connections * perConnKB) / p.docs;
  // The same deltas for what the process itself accounts (V8 heap used + external memory,
  // after the forced GC): steadier than RSS, which also holds allocator slack.
  const js = (r) => (r.memory ? (r.memory.heapUsed + r.memory.external) / 1024 : NaN);
  const heapPerConnKB = (js(r2) - js(ri)) / readers.length;
  const heapPerDocKB = (js(r1) - js(r0)) / p.docs - heapPerConnKB;
  const heapPerIdleDocKB = (js(r3) - js(r0) - p.connections * heapPerConnKB) / p.docs;
  return {
    failure: bad > 0 ? `${bad} of ${readers.length} readers did not receive the seeded document` : undefined,
    metrics: {
      kbPerConnection: Math.round(perConnKB * 10) / 10,
      kbPerDoc: relay ? null : Math.round(perDocKB * 10) / 10,
      heapKbPerConnection: Number.isFinite(heapPerConnKB) ? Math.round(heapPerConnKB * 10) / 10 : null,
      heapKbPerDoc: relay || !Number.isFinite(heapPerDocKB) ? null : Math.round(heapPerDocKB * 10) / 10,
      kbPerIdleDoc: relay ? null : Math.round(perIdleDocKB * 10) / 10,
      heapKbPerIdleDoc: relay || !Number.isFinite(heapPerIdleDocKB) ? null : Math.round(heapPerIdleDocKB * 10) / 10,
      idleS: p.idleS,
      seedKB: Math.round(seed.update.length / 102.4) / 10,
      rssBaselineMB: Math.round(r0.rssKB / 1024), rssDocsMB: Math.round(r1.rssKB / 1024), rssDocsIdleMB: Math.round(ri.rssKB / 1024), rssConnectedMB: Math.round(r2.rssKB / 1024), rssIdleMB: Math.round(r3.rssKB / 1024),
      correctness: relay ? 'n/a (relay keeps no document)' : 'checked',
    },
  };
}
