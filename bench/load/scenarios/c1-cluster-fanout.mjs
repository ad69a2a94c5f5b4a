// C1 cross-node fan-out: a cluster target (two server processes, nodes a and b, sharing one
// Redis). One document, one writer at `rate` updates/s on node a, `readers` readers on node b
// (cross-node) and `readers` readers on node a (same-node baseline). Latency = reader receive
// time − writer send time (S1's machinery), per group. Redis traffic per update: the Redis
// counters (commands, publish/spublish calls, network bytes in/out) across the measurement
// window, minus the cost of reading them, divided by the updates sent in the window.
import { BenchClient } from '../client.mjs';
import { SendTimes, Window, closeAll, connectAll, cpuMeter, forEachId, now, paceRoundRobin, sleep, summarize, verifyAgainstWriters, waitFor, writeEntry } from '../common.mjs';
import { serverCpu } from './shared.mjs';

/**
 * @param {{readers: number, rate: number, warmupS: number, measureS: number}} p
 * @param {{url: string, urls?: string[], protocol: 'yws'|'hocus'|'relay'}} target
 * @param {import('../main.mjs').Orchestrator} orch
 */
export async function c1(p, target, orch) {
  const [urlA, urlB] = target.urls ?? [];
  if (urlA === undefined || urlB === undefined) return { failure: 'C1 needs a cluster target (two node URLs)' };
  const doc = 'c1-cluster-fanout';
  const times = new SendTimes();
  const groups = { cross: { url: urlB, win: new Window(), received: 0 }, same: { url: urlA, win: new Window(), received: 0 } };
  /** @param {typeof groups.cross} g */
  const makeReaders = (g) => Array.from({ length: p.readers }, () => new BenchClient({
    url: g.url, doc, protocol: target.protocol,
    onUpdate: (u) => {
      const t = now();
      forEachId(u, (client, clock) => {
        const sent = times.get(client, clock);
        if (sent !== undefined) { g.win.record(sent, t); g.received++; }
      });
    },
  }));
  const readersB = makeReaders(groups.cross);
  const readersA = makeReaders(groups.same);
  const writer = new BenchClient({ url: urlA, doc, protocol: target.protocol, keep: false });
  await connectAll([...readersB, ...readersA, writer]);

  let n = 0;
  const write = () => { writeEntry(writer, 'cursor', n++, times); };
  await paceRoundRobin([writer], p.rate, now() + p.warmupS * 1000, write);
  // Let the warm-up's traffic drain, then read the Redis counters twice back to back: the
  // second difference is what reading them costs (redis-cli's own commands and bytes).
  await sleep(200);
  const r0 = await orch.redis();
  const r1 = await orch.redis();
  const cpu = cpuMeter();
  const before = await orch.probe('measure-start');
  const n0 = n;
  const start = now();
  for (const g of Object.values(groups)) { g.win.start = start; g.win.end = start + p.measureS * 1000; }
  await paceRoundRobin([writer], p.rate, start + p.measureS * 1000, write);
  const inWindow = n - n0;
  const after = await orch.probe('measure-end');
  const loadgenCpu = cpu();

  const readers = [...readersB, ...readersA];
  const expected = n * p.readers;
  const complete = await waitFor(() => groups.cross.received >= expected && groups.same.received >= expected, 15_000);
  await sleep(100);
  // After delivery completed: everything the window's updates caused in Redis has happened.
  const r2 = await orch.redis();
  const { bad, sample } = verifyAgainstWriters([writer], readers);
  closeAll([...readers, writer]);

  const delta = (/** @type {(r: typeof r0) => number} */ f) => (f(r2) - f(r1)) - (f(r1) - f(r0));
  const per = (/** @type {(r: typeof r0) => number} */ f) => Math.round((delta(f) / inWindow) * 100) / 100;
  const pubs = (/** @type {typeof r0} */ r) => (r.calls.publish ?? 0) + (r.calls.spublish ?? 0);
  const cross = summarize(groups.cross.win.h);
  const same = summarize(groups.same.win.h);
  const nodes = /** @type {any} */ (after).nodes ?? [];
  const beforeNodes = /** @type {any} */ (before).nodes ?? [];
  const failure = !complete
    ? `only ${groups.cross.received} (node b) and ${groups.same.received} (node a) of ${expected} deliveries each arrived`
    : bad > 0 ? `${bad} of ${readers.length} readers diverged: ${sample}` : undefined;
  // Commands by name over the window (minus the reading cost), for the record.
  /** @type {Record<string, number>} */
  const commandsInWindow = {};
  for (const name of new Set([...Object.keys(r2.calls), ...Object.keys(r0.calls)])) {
    const d = delta((r) => r.calls[name] ?? 0);
    if (d !== 0) commandsInWindow[name] = d;
  }
  return {
    failure,
    metrics: {
      crossP50: cross.p50, crossP99: cross.p99, sameP50: same.p50, sameP99: same.p99,
      crossP999: cross.p999, sameP999: same.p999,
      redisCmdsPerUpdate: per((r) => r.commands), redisPublishesPerUpdate: per(pubs),
      redisBytesInPerUpdate: per((r) => r.netIn), redisBytesOutPerUpdate: per((r) => r.netOut),
      updatesSent: n, updatesInWindow: inWindow, samplesCross: cross.count, samplesSame: same.count,
      cpuNodeA: beforeNodes[0] && nodes[0] ? serverCpu(beforeNodes[0], nodes[0]) : undefined,
      cpuNodeB: beforeNodes[1] && nodes[1] ? serverCpu(beforeNodes[1], nodes[1]) : undefined,
      loadgenCpuPct: loadgenCpu,
    },
    redisCommandsInWindow: commandsInWindow,
  };
}
