// S3 throughput: one document, `writers` writers each keeping at most `window` updates in
// flight (sent but not yet received by every reader), `readers` readers. Figure: updates per
// second delivered to all readers.
import { BenchClient } from '../client.mjs';
import { SendTimes, Window, closeAll, connectAll, cpuMeter, forEachId, now, sleep, summarize, verifyAgainstWriters, waitFor, writeEntry } from '../common.mjs';
import { backgroundCpu, serverCpu } from './shared.mjs';

/**
 * @param {{writers: number, readers: number, window: number, warmupS: number, measureS: number}} p
 * @param {{url: string, protocol: 'yws'|'hocus'|'relay'}} target
 * @param {import('../main.mjs').Orchestrator} orch
 */
export async function s3(p, target, orch) {
  if (p.writers > 30) throw new Error('S3 tracks its writers in a 32-bit mask: at most 30');
  const doc = 's3-throughput';
  const times = new SendTimes();
  const win = new Window();
  const writers = Array.from({ length: p.writers }, () => new BenchClient({ url: target.url, doc, protocol: target.protocol, keep: false }));
  /** writer clientID → index */
  const index = new Map(writers.map((w, i) => [w.doc.clientID, i]));
  /** counts[r][w]: updates of writer w that reader r has received */
  const counts = Array.from({ length: p.readers }, () => new Array(p.writers).fill(0));
  const sent = new Array(p.writers).fill(0);
  let stopAt = Infinity;
  const delivered = (/** @type {number} */ w) => {
    let min = Infinity;
    for (const c of counts) if (/** @type {number} */ (c[w]) < min) min = /** @type {number} */ (c[w]);
    return min;
  };
  const pump = (/** @type {number} */ w) => {
    if (now() >= stopAt) return;
    const writer = /** @type {BenchClient} */ (writers[w]);
    const d = delivered(w);
    if (sent[w] - d >= p.window) return;
    // The updates a writer's window lets out at once leave in one socket write.
    writer.corked(() => {
      while (sent[w] - d < p.window) writeEntry(writer, `w${w}`, sent[w]++, times);
    });
  };
  const readers = Array.from({ length: p.readers }, (_, r) => new BenchClient({
    url: target.url, doc, protocol: target.protocol,
    onUpdate: (u) => {
      const t = now();
      let touched = 0;
      forEachId(u, (client, clock) => {
        const w = index.get(client);
        if (w === undefined) return;
        /** @type {number[]} */ (counts[r])[w]++;
        touched |= 1 << w;
        const s = times.get(client, clock);
        if (s !== undefined) win.record(s, t);
      });
      // Once per received update, not per id in it: what its ids opened of a window goes
      // out together.
      for (let w = 0; touched !== 0; w++, touched >>>= 1) if (touched & 1) pump(w);
    },
  }));
  await connectAll([...readers, ...writers]);

  const total = () => { let s = 0; for (let w = 0; w < p.writers; w++) s += delivered(w); return s; };
  stopAt = now() + (p.warmupS + p.measureS) * 1000 + 50;
  for (let w = 0; w < p.writers; w++) pump(w);
  // A slow safety pump: nothing stalls if a delivery callback was missed.
  const ticker = setInterval(() => { for (let w = 0; w < p.writers; w++) pump(w); }, 10);
  await sleep(p.warmupS * 1000);
  const cpu = cpuMeter();
  const before = await orch.probe('measure-start');
  const startCount = total();
  win.start = now();
  await sleep(p.measureS * 1000);
  const endCount = total();
  win.end = now();
  const after = await orch.probe('measure-end');
  const loadgenCpu = cpu();
  const seconds = (win.end - win.start) / 1000;
  clearInterval(ticker);
  stopAt = 0;

  const complete = await waitFor(() => writers.every((_, w) => delivered(w) === sent[w]), 30_000);
  const { bad, sample } = verifyAgainstWriters(writers, readers);
  closeAll([...readers, ...writers]);
  const lat = summarize(win.h);
  const failure = !complete ? 'not every update reached every reader'
    : bad > 0 ? `${bad} of ${readers.length} readers diverged: ${sample}` : undefined;
  return {
    failure,
    metrics: { updatesPerS: Math.round((endCount - startCount) / seconds), p50: lat.p50, p99: lat.p99,
      serverCpuPct: serverCpu(before, after), rssMB: Math.round(after.rssKB / 1024), loadgenCpuPct: loadgenCpu, bgCpuPct: backgroundCpu(before, after, loadgenCpu),
      deliveriesPerS: Math.round(((endCount - startCount) * p.readers) / seconds) },
  };
}
