// S7 durable-ack latency (Skein only): `connections` clients on as many documents send Hello
// (DurableAcks) and write at `rate` updates/s in total; latency = Ack(n) arrival − send time
// of update n (acks are cumulative: Ack(n) settles every update ≤ n). One warm-up at the
// highest rate, then a warm-up and a window per rate.
//
// For a target with a data directory (a durable store), the disk's own floor is measured in
// the same run, before the clients connect: this process appends 128 bytes to a file in that
// directory and calls fdatasync, one at a time, at each rate for `diskS` seconds — what one
// LevelDB write-ahead-log append costs here with no server in the way (diskP50At…/diskP99At…).
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { BenchClient } from '../client.mjs';
import { SendTimes, Window, closeAll, connectAll, histogram, now, paceRoundRobin, summarize, waitFor, writeEntry } from '../common.mjs';
import { serverCpu } from './shared.mjs';

/**
 * @param {{connections: number, rates: number[], warmupS: number, measureS: number, diskS: number}} p
 * @param {{url: string, protocol: 'yws'|'hocus'|'relay', dataDir?: string}} target
 * @param {import('../main.mjs').Orchestrator} orch
 */
export async function s7(p, target, orch) {
  /** @type {Record<string, any>} */
  const metrics = {};
  if (target.dataDir !== undefined) {
    for (const rate of p.rates) {
      const disk = summarize(await diskFloor(target.dataDir, rate, p.diskS));
      metrics[`diskP50At${rate}`] = disk.p50;
      metrics[`diskP99At${rate}`] = disk.p99;
    }
  }
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
  let failure;
  // The JIT first: a window at a low rate right after connecting would time unoptimized code
  // (100 updates/s over a 1 s warm-up is too few for V8 to optimize the path; measured: p50
  // 1.9 ms cold against 0.7–0.9 ms warm at 100/s in memory). One warm-up at the highest rate.
  await paceRoundRobin(clients, Math.max(...p.rates) / p.connections, now() + p.warmupS * 1000, write);
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

/**
 * fdatasync latency of one small append at a time, paced at `rate` per second for `seconds`
 * (a timer between appends when the next is ≥ 1 ms away, else a yield), in `dir`.
 * @param {string} dir @param {number} rate @param {number} seconds
 */
async function diskFloor(dir, rate, seconds) {
  const file = path.join(dir, 'disk-floor.bin');
  const fd = openSync(file, 'w');
  const h = histogram();
  const bytes = Buffer.alloc(128, 7);
  const gap = 1000 / rate;
  const end = now() + seconds * 1000;
  try {
    for (let next = now(); next < end; next += gap) {
      for (let wait = next - now(); wait > 0; wait = next - now()) {
        await new Promise((resolve) => (wait >= 1 ? setTimeout(resolve, wait) : setImmediate(resolve)));
      }
      const t = now();
      writeSync(fd, bytes);
      fdatasyncSync(fd);
      h.recordValue(Math.max(1, Math.round((now() - t) * 1000)));
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return h;
}
