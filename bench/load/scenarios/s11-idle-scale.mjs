// S11 idle connections at scale: `connections` connections spread over `docs` (empty)
// documents, each completing the initial sync, then held idle for `holdS` seconds. Server
// RSS after a forced full GC (as in S4) at four points:
//   R0  server started, nothing connected
//   Rd  one connection per document (every document loaded)
//   R1  all connected and synced, after `settleS`
//   R2  after the hold
// per connection = (R1 − Rd) / (connections − docs), so that what a loaded (empty) document
// costs does not count per connection; per empty doc = (Rd − R0) / docs − per connection.
// After the hold every connection must
// still be open and answer a sync round trip (sync step 1 → the server's step 2; the relay
// keeps no state, so for it: still open); otherwise the run FAILS with the counts.
//
// Hocuspocus 4 closes a connection that has sent no message for 60 s (its `timeout`; its
// provider's awareness renewals, every 15 s, keep real clients alive; 3.x pinged at the
// WebSocket level instead). Idle Hocuspocus clients here send one QueryAwareness message
// (answered to that client only, nothing fans out) every `keepaliveS` seconds, which keeps
// them within it when connecting and holding take longer than a minute.
import { BenchClient } from '../client.mjs';
import { closeAll, now, sleep } from '../common.mjs';

const MSG_QUERY_AWARENESS = 3;

/**
 * @param {{connections: number, docs: number, concurrency: number, settleS: number, holdS: number, keepaliveS: number}} p
 * @param {{url: string, protocol: 'yws'|'hocus'|'relay'}} target
 * @param {import('../main.mjs').Orchestrator} orch
 */
export async function s11(p, target, orch) {
  const relay = target.protocol === 'relay';
  await sleep(p.settleS * 1000);
  const r0 = await orch.probe('baseline', { gc: true });

  const clients = Array.from({ length: p.connections }, (_, i) => new BenchClient({ url: target.url, doc: `s11-doc-${i % p.docs}`, protocol: target.protocol, keep: false }));
  const keepalive = target.protocol === 'hocus'
    ? setInterval(() => { for (const c of clients) c.sendRaw(new Uint8Array([MSG_QUERY_AWARENESS])); }, p.keepaliveS * 1000)
    : null;
  let connectFailures = await connectCounting(clients.slice(0, p.docs), p.concurrency, 60_000);
  await sleep(p.settleS * 1000);
  const rd = await orch.probe('docs-loaded', { gc: true });
  const t1 = now();
  connectFailures += await connectCounting(clients.slice(p.docs), p.concurrency, 60_000);
  const connectS = (now() - t1) / 1000;
  await sleep(p.settleS * 1000);
  const r1 = await orch.probe('connected', { gc: true });

  await sleep(p.holdS * 1000);
  const r2 = await orch.probe('held', { gc: true });
  const closed = clients.filter((c) => c.synced && c.closed).length;
  // Liveness: a sync round trip on every connection still open, 500 at a time.
  let unanswered = 0;
  if (!relay) {
    const open = clients.filter((c) => !c.closed && c.synced);
    for (let i = 0; i < open.length; i += 500) {
      const results = await Promise.allSettled(open.slice(i, i + 500).map((c) => c.roundTrip(30_000)));
      unanswered += results.filter((r) => r.status === 'rejected').length;
    }
  }
  if (keepalive) clearInterval(keepalive);
  const stayed = clients.filter((c) => c.synced && !c.closed).length - unanswered;
  const sample = clients.find((c) => c.error)?.error;
  closeAll(clients);

  const rest = p.connections - p.docs;
  const perConnKB = (r1.rssKB - rd.rssKB) / rest;
  const perDocKB = (rd.rssKB - r0.rssKB) / p.docs - perConnKB;
  const js = (r) => (r.memory ? (r.memory.heapUsed + r.memory.external) / 1024 : NaN);
  const heapPerConnKB = (js(r1) - js(rd)) / rest;
  const failure = stayed < p.connections
    ? `${stayed} of ${p.connections} connections stayed connected and answered (${connectFailures} failed to connect, ${closed} closed during the hold, ${unanswered} did not answer a sync round trip)${sample ? `; first error: ${sample}` : ''}`
    : undefined;
  return {
    failure,
    metrics: {
      kbPerConnection: Math.round(perConnKB * 10) / 10,
      heapKbPerConnection: Number.isFinite(heapPerConnKB) ? Math.round(heapPerConnKB * 10) / 10 : null,
      kbPerEmptyDoc: relay ? null : Math.round(perDocKB * 10) / 10,
      rssBaselineMB: Math.round(r0.rssKB / 1024), rssConnectedMB: Math.round(r1.rssKB / 1024), rssHeldMB: Math.round(r2.rssKB / 1024),
      stayedConnected: stayed, connections: p.connections, connectFailures, closedDuringHold: closed, unanswered,
      connectsPerS: Math.round(rest / connectS),
      correctness: relay ? 'still open (the relay answers nothing)' : 'still open and answering a sync round trip',
    },
  };
}

/**
 * Connect every client, `concurrency` at a time; count the ones that fail instead of
 * stopping at the first.
 * @param {BenchClient[]} clients @param {number} concurrency @param {number} timeoutMs
 */
async function connectCounting(clients, concurrency, timeoutMs) {
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < clients.length) {
      const c = /** @type {BenchClient} */ (clients[next++]);
      try {
        await c.connect(timeoutMs);
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, clients.length) }, worker));
  return failed;
}
