// S2 many documents: `docs` docs × `clientsPerDoc` clients; every client writes its own map
// key at `rate` updates/s and reads everyone else's. Latency, server CPU and RSS.
import * as Y from 'yjs';
import { BenchClient } from '../client.mjs';
import { SendTimes, Window, closeAll, connectAll, cpuMeter, fingerprint, forEachId, now, paceRoundRobin, sleep, summarize, waitFor, writeEntry } from '../common.mjs';
import { backgroundCpu, serverCpu } from './shared.mjs';

/**
 * @param {{docs: number, clientsPerDoc: number, rate: number, warmupS: number, measureS: number}} p
 * @param {{url: string, protocol: 'yws'|'hocus'|'relay'}} target
 * @param {import('../main.mjs').Orchestrator} orch
 */
export async function s2(p, target, orch) {
  const times = new SendTimes();
  const win = new Window();
  let received = 0;
  /** @type {BenchClient[][]} */
  const rooms = [];
  for (let d = 0; d < p.docs; d++) {
    const doc = `s2-doc-${d}`;
    rooms.push(Array.from({ length: p.clientsPerDoc }, () => new BenchClient({
      url: target.url, doc, protocol: target.protocol,
      onUpdate: (u, self) => {
        const t = now();
        forEachId(u, (client, clock) => {
          if (client === self.doc.clientID) return; // an echo of our own write
          const sent = times.get(client, clock);
          if (sent !== undefined) { win.record(sent, t); received++; }
        });
      },
    })));
  }
  const clients = rooms.flat();
  // Interleave rooms in the send order so that a room's writes are spread in time.
  await connectAll(clients, 100);

  let written = 0;
  const write = (/** @type {BenchClient} */ c) => { writeEntry(c, `c${c.doc.clientID}`, written++, times); };
  await paceRoundRobin(clients, p.rate, now() + p.warmupS * 1000, write);
  const cpu = cpuMeter();
  const before = await orch.probe('measure-start');
  win.start = now();
  win.end = win.start + p.measureS * 1000;
  await paceRoundRobin(clients, p.rate, win.end, write);
  const after = await orch.probe('measure-end');
  const loadgenCpu = cpu();

  const expected = written * (p.clientsPerDoc - 1);
  const complete = await waitFor(() => received >= expected, 20_000);
  await sleep(100);
  // Per room: every client's state must equal the merge of the room's own writes.
  let bad = 0;
  for (const room of rooms) {
    const ref = new Y.Doc();
    Y.transact(ref, () => { for (const c of room) Y.applyUpdate(ref, Y.encodeStateAsUpdate(c.doc)); });
    const expectedFp = fingerprint(ref);
    for (const c of room) if (fingerprint(c.materialize()) !== expectedFp) bad++;
  }
  closeAll(clients);
  const lat = summarize(win.h);
  const failure = !complete ? `only ${received} of ${expected} deliveries arrived`
    : bad > 0 ? `${bad} of ${clients.length} clients diverged from their room's writes` : undefined;
  return {
    failure,
    metrics: { p50: lat.p50, p99: lat.p99, serverCpuPct: serverCpu(before, after), rssMB: Math.round(after.rssKB / 1024),
      p999: lat.p999, max: lat.max, samples: lat.count, updatesSent: written, loadgenCpuPct: loadgenCpu, bgCpuPct: backgroundCpu(before, after, loadgenCpu) },
  };
}
