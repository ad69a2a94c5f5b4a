// S1 fan-out latency: one document, one writer at `rate` updates/s, `readers` readers.
// Latency = reader receive time − writer send time, for updates sent inside the window.
import { BenchClient } from '../client.mjs';
import { SendTimes, Window, closeAll, connectAll, cpuMeter, forEachId, now, paceRoundRobin, sleep, summarize, verifyAgainstWriters, waitFor, writeEntry } from '../common.mjs';
import { backgroundCpu, serverCpu } from './shared.mjs';

/**
 * @param {{readers: number, rate: number, warmupS: number, measureS: number}} p
 * @param {{url: string, protocol: 'yws'|'hocus'|'relay'}} target
 * @param {import('../main.mjs').Orchestrator} orch
 */
export async function s1(p, target, orch) {
  const doc = 's1-fanout';
  const times = new SendTimes();
  const win = new Window();
  const readers = Array.from({ length: p.readers }, () => new BenchClient({
    url: target.url, doc, protocol: target.protocol,
    onUpdate: (u) => {
      const t = now();
      forEachId(u, (client, clock) => {
        const sent = times.get(client, clock);
        if (sent !== undefined) { win.record(sent, t); received++; }
      });
    },
  }));
  let received = 0;
  const writer = new BenchClient({ url: target.url, doc, protocol: target.protocol, keep: false });
  await connectAll([...readers, writer]);

  let n = 0;
  const write = () => { writeEntry(writer, 'cursor', n++, times); };
  const warmEnd = now() + p.warmupS * 1000;
  await paceRoundRobin([writer], p.rate, warmEnd, write);
  const cpu = cpuMeter();
  const before = await orch.probe('measure-start');
  win.start = now();
  win.end = win.start + p.measureS * 1000;
  await paceRoundRobin([writer], p.rate, win.end, write);
  const after = await orch.probe('measure-end');
  const loadgenCpu = cpu();

  const expected = n * readers.length;
  const complete = await waitFor(() => received >= expected, 15_000);
  await sleep(100);
  const { bad, sample } = verifyAgainstWriters([writer], readers);
  closeAll([...readers, writer]);
  const lat = summarize(win.h);
  const failure = !complete ? `only ${received} of ${expected} deliveries arrived`
    : bad > 0 ? `${bad} of ${readers.length} readers diverged: ${sample}` : undefined;
  return {
    failure,
    metrics: { p50: lat.p50, p99: lat.p99, p999: lat.p999, max: lat.max, samples: lat.count, updatesSent: n,
      serverCpuPct: serverCpu(before, after), rssMB: Math.round(after.rssKB / 1024), loadgenCpuPct: loadgenCpu, bgCpuPct: backgroundCpu(before, after, loadgenCpu) },
  };
}
