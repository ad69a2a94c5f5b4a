// S6 presence: `clients` clients over `docs` documents, each sending its cursor as an
// awareness update at `rate` Hz. Figures: server CPU; awareness latency (send → each peer
// sees it). Correctness: after the last round every client knows the last clock of every
// peer in its room.
import * as encoding from 'lib0/encoding';
import { BenchClient, awarenessIds } from '../client.mjs';
import { Window, closeAll, connectAll, cpuMeter, now, paceRoundRobin, sleep, summarize, waitFor } from '../common.mjs';
import { backgroundCpu, serverCpu } from './shared.mjs';

/**
 * @param {{clients: number, docs: number, rate: number, warmupS: number, measureS: number}} p
 * @param {{url: string, protocol: 'yws'|'hocus'|'relay'}} target
 * @param {import('../main.mjs').Orchestrator} orch
 */
export async function s6(p, target, orch) {
  const win = new Window();
  /** send time by awareness client id, then clock */
  const sentAt = new Map();
  /** seen.get(client)?.get(peerId) = last clock seen */
  const seen = new Map();
  const clients = Array.from({ length: p.clients }, (_, i) => {
    const c = new BenchClient({
      url: target.url, doc: `s6-room-${i % p.docs}`, protocol: target.protocol, keep: false,
      onAwareness: (payload, self) => {
        const t = now();
        const mine = seen.get(self);
        for (const [id, clock] of awarenessIds(payload)) {
          if (id === self.awarenessId) continue;
          mine.set(id, clock);
          const s = sentAt.get(id)?.[clock];
          if (s !== undefined) win.record(s, t);
        }
      },
    });
    c.awarenessId = c.doc.clientID;
    c.clock = 0;
    seen.set(c, new Map());
    sentAt.set(c.awarenessId, []);
    return c;
  });
  await connectAll(clients, 100);

  const send = (/** @type {any} */ c) => {
    const clock = ++c.clock;
    const t = now();
    const state = JSON.stringify({ user: { name: `user-${c.awarenessId % 10000}`, color: '#ff8800' }, cursor: { x: (clock * 37) % 1920, y: (clock * 53) % 1080 } });
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint(e, c.awarenessId);
    encoding.writeVarUint(e, clock);
    encoding.writeVarString(e, state);
    sentAt.get(c.awarenessId)[clock] = t;
    c.sendAwareness(encoding.toUint8Array(e));
  };
  await paceRoundRobin(clients, p.rate, now() + p.warmupS * 1000, send);
  const cpu = cpuMeter();
  const before = await orch.probe('measure-start');
  win.start = now();
  win.end = win.start + p.measureS * 1000;
  await paceRoundRobin(clients, p.rate, win.end, send);
  const after = await orch.probe('measure-end');
  const loadgenCpu = cpu();

  // Every client must end up with every room peer's last clock.
  const rooms = new Map();
  for (const c of clients) {
    const r = rooms.get(c.opts.doc) ?? [];
    r.push(c);
    rooms.set(c.opts.doc, r);
  }
  const converged = () => clients.every((c) => rooms.get(c.opts.doc).every((peer) => peer === c || seen.get(c).get(peer.awarenessId) === peer.clock));
  const ok = await waitFor(converged, 15_000);
  await sleep(50);
  closeAll(clients);
  const lat = summarize(win.h);
  const sends = clients.reduce((s, c) => s + c.clock, 0);
  return {
    failure: ok ? undefined : 'not every client saw the last awareness state of every peer in its room',
    metrics: { serverCpuPct: serverCpu(before, after), p50: lat.p50, p99: lat.p99, rssMB: Math.round(after.rssKB / 1024),
      awarenessSent: sends, deliveries: lat.count, loadgenCpuPct: loadgenCpu, bgCpuPct: backgroundCpu(before, after, loadgenCpu) },
  };
}
