// S7 durable-ack latency (Skein only): `connections` clients on as many documents send Hello
// (DurableAcks) and write at `rate` updates/s in total; latency = Ack(n) arrival − send time
// of update n (acks are cumulative: Ack(n) settles every update ≤ n). One window per rate.
import { BenchClient } from '../client.mjs';
import { SendTimes, Window, closeAll, connectAll, now, paceRoundRobin, summarize, waitFor, writeEntry } from '../common.mjs';
import { serverCpu } from './shared.mjs';

/**
 * @param {{connections: number, rates: number[], warmupS: number, measureS: number}} p
 * @param {{url: string, protocol: 'yws'|'hocus'|'relay'}} target
 * @param {import('../main.mjs').Orchestrator} orch
 */
export async function s7(p, target, orch) {
  const times = new SendTimes();
  /** @type {Window} */
  let win = new Window();
  /** per client: seq → send time, and the highest seq acked */
  const state = new Map();
  const clients = Array.from({ length: p.connections }, (_, i) => {
    const c = new BenchClient({
      url: target.url, doc: `s7-doc-${i}`, protocol: target.protocol, keep: false, acks: true,
      onAck: (seq, self) => {
        const t = now();
        const s = state.get(self);
        for (let k = s.acked + 1; k <= seq; k++) {
          const sent = s.sentAt[k];
          if (sent !== undefined) win.record(sent, t);
        }
        if (seq > s.acked) s.acked = seq;
      },
    });
    state.set(c, { sentAt: [], acked: 0 });
    return c;
  });
  await connectAll(clients);
  if (!clients.every((c) => c.welcomed)) return { failure: 'the server did not answer Hello with Welcome' };

  let n = 0;
  const write = (/** @type {BenchClient} */ c) => {
    const clock = writeEntry(c, 'k', n++, times);
    state.get(c).sentAt[c.seq] = times.get(c.doc.clientID, clock) ?? now();
  };
  /** @type {Record<string, any>} */
  const metrics = {};
  let failure;
  for (const rate of p.rates) {
    win = new Window();
    const perClient = rate / p.connections;
    await paceRoundRobin(clients, perClient, now() + p.warmupS * 1000, write);
    const before = await orch.probe('measure-start');
    win.start = now();
    win.end = win.start + p.measureS * 1000;
    const sent = await paceRoundRobin(clients, perClient, win.end, write);
    const acked = await waitFor(() => clients.every((c) => state.get(c).acked >= c.seq), 15_000);
    const after = await orch.probe('measure-end');
    const lat = summarize(win.h);
    metrics[`p50At${rate}`] = lat.p50;
    metrics[`p99At${rate}`] = lat.p99;
    metrics[`maxAt${rate}`] = lat.max;
    metrics[`achievedRate${rate}`] = Math.round(sent / p.measureS);
    metrics[`serverCpuPctAt${rate}`] = serverCpu(before, after);
    if (!acked) failure ??= `at ${rate}/s not every update was acknowledged within 15 s`;
  }
  closeAll(clients);
  return { failure, metrics };
}
