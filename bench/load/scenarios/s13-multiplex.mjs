// S13 many documents per client: `clients` clients each open the same `docs` documents, either
// with one socket per document (`sockets`, what y-websocket providers do) or over one socket
// per client (`mux`: Skein's skein-mux.v1, Hocuspocus's own multiplexed framing; the
// y-websocket server cannot, so it runs `sockets` only).
//
// Before either variant one anchor connection per document loads every document and stays
// connected, so that what a loaded document costs is not counted per connection. Per variant:
//   join    all clients start at once; a client's join time runs from its start until every
//           one of its documents has the server's sync step 2 (per-client p50 and max);
//   memory  server RSS after a forced full GC (as in S4/S11) once all are joined, minus the
//           RSS before the variant, per document connection (clients × docs);
//   check   then the anchors write one update to each document and every client must
//           receive every one of them on the right document (a misrouted or dropped message
//           FAILS the run).
// The variant's clients are closed and the server settles before the next variant.
import { BenchClient } from '../client.mjs';
import { SharedSocket } from '../shared-socket.mjs';
import { now, sleep, waitFor } from '../common.mjs';

/**
 * @param {{clients: number, docs: number, settleS: number, joinTimeoutS: number}} p
 * @param {{url: string, protocol: 'yws'|'hocus'|'relay', id: string}} target
 * @param {import('../main.mjs').Orchestrator} orch
 */
export async function s13(p, target, orch) {
  const names = Array.from({ length: p.docs }, (_, i) => `s13-doc-${i}`);
  const anchors = names.map((doc) => new BenchClient({ url: target.url, doc, protocol: target.protocol, keep: false }));
  for (let i = 0; i < anchors.length; i += 50) await Promise.all(anchors.slice(i, i + 50).map((c) => c.connect(60_000)));
  /** @type {Record<string, any>} */
  const metrics = {};
  let failure;
  const canMux = target.protocol === 'hocus' || target.id.startsWith('skein');
  let round = 0;
  for (const variant of /** @type {const} */ (['sockets', 'mux'])) {
    if (variant === 'mux' && !canMux) continue;
    await sleep(p.settleS * 1000);
    const before = await orch.probe(`${variant}-before`, { gc: true });
    /** @type {SharedSocket[]} */
    const sharedSockets = [];
    /** @type {BenchClient[][]} */
    const perClient = [];
    const joinMs = /** @type {number[]} */ ([]);
    const started = now();
    const joins = Array.from({ length: p.clients }, async (_, k) => {
      const t0 = now();
      let shared;
      if (variant === 'mux') {
        shared = new SharedSocket(target.url, /** @type {'yws'|'hocus'} */ (target.protocol));
        sharedSockets.push(shared);
        await shared.open(p.joinTimeoutS * 1000);
      }
      const docs = names.map((doc) => new BenchClient({ url: target.url, doc, protocol: target.protocol, keep: true, ...(shared ? { shared } : {}) }));
      perClient[k] = docs;
      await Promise.all(docs.map((c) => c.connect(p.joinTimeoutS * 1000)));
      joinMs[k] = now() - t0;
    });
    const results = await Promise.allSettled(joins);
    const allJoinedMs = now() - started;
    const rejected = results.find((r) => r.status === 'rejected');
    if (rejected) failure ??= `${variant}: a client did not join: ${/** @type {PromiseRejectedResult} */ (rejected).reason?.message ?? rejected.reason}`;
    await sleep(p.settleS * 1000);
    const joined = await orch.probe(`${variant}-joined`, { gc: true });

    // Routing check: one update per document from its anchor; every client receives it on the right document.
    const want = round++;
    const received = new Map();
    for (const docs of perClient) for (const c of docs ?? []) c.opts.onUpdate = () => received.set(c, (received.get(c) ?? 0) + 1);
    for (const a of anchors) {
      /** @type {Uint8Array|undefined} */
      let update;
      const capture = (/** @type {Uint8Array} */ u) => (update = u);
      a.doc.on('update', capture);
      a.doc.getMap('m').set(`k${want}`, want);
      a.doc.off('update', capture);
      if (update) a.sendUpdate(update);
    }
    const all = perClient.flat();
    const delivered = await waitFor(() => all.every((c) => (received.get(c) ?? 0) >= 1), 30_000).then(() => true, () => false);
    if (!delivered) {
      const missing = all.filter((c) => (received.get(c) ?? 0) < 1).length;
      failure ??= `${variant}: ${missing} of ${all.length} document connections did not receive their document's update`;
    }
    // Every client's copy of each document must hold exactly the anchor's state.
    let wrong = 0;
    for (const c of all) {
      const state = c.materialize();
      if (state.getMap('m').get(`k${want}`) !== want) wrong++;
      state.destroy();
    }
    if (wrong > 0) failure ??= `${variant}: ${wrong} document connections hold a wrong state (misrouted messages?)`;

    const conns = p.clients * p.docs;
    const sorted = [...joinMs].sort((a, b) => a - b);
    metrics[`${variant}JoinP50`] = Math.round(sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN);
    metrics[`${variant}JoinMax`] = Math.round(sorted.at(-1) ?? NaN);
    metrics[`${variant}AllJoinedMs`] = Math.round(allJoinedMs);
    metrics[`${variant}KbPerDocConn`] = Math.round(((joined.rssKB - before.rssKB) / conns) * 10) / 10;
    const js = (r) => (r.memory ? (r.memory.heapUsed + r.memory.external) / 1024 : NaN);
    const heap = (js(joined) - js(before)) / conns;
    metrics[`${variant}HeapKbPerDocConn`] = Number.isFinite(heap) ? Math.round(heap * 10) / 10 : null;
    metrics[`${variant}Sockets`] = variant === 'mux' ? sharedSockets.length : conns;
    for (const c of all) c.close();
    for (const s of sharedSockets) s.close();
  }
  for (const a of anchors) a.close();
  metrics.documents = p.docs;
  metrics.clients = p.clients;
  metrics.correctness = 'every document connection received its document\'s update and holds its state';
  return { failure, metrics };
}

