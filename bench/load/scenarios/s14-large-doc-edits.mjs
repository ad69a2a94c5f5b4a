// S14 storing a large document while it is edited: what each server does to the node while it
// persists (Skein: compacts) a ~20 MB document that keeps being edited.
//
// A writer builds the document of S12 (~`docMB` MB, written as ~1 MB updates, each followed
// by a sync round trip), then, after `settleS`, edits it at `rate` edits/s for `editS` seconds:
// each edit overwrites one existing shape with a pen stroke of ~`editKB` KB (a realistic large
// edit on a canvas). One reader of the document (joined before the edits) times each edit's
// arrival; a bystander on another document (the worker thread of S9) sends a sync step 1 every
// `intervalMs` and times the answer; the server's own event-loop delay is read over the
// window (bench/lib/eld-preload.mjs). The window runs from the first edit until `tailS` after
// the last one — long enough for Hocuspocus's debounced store (2 s after the last change, at
// most 10 s after the first) — and, for Skein, until the compaction of the document that the
// edits trigger (500 updates after the snapshot) has finished: a Skein run in which no
// compaction completed in the window measured nothing and FAILS. Skein's writer asks for
// durable acks (Hello DurableAcks): ack latency = Ack(n) arrival − send time of edit n.
// What each peer does meanwhile: Hocuspocus + SQLite stores the whole document (one
// Y.encodeStateAsUpdate of it) when its debounce fires; y-websocket + y-leveldb appends each
// update and merges the log only when a document is loaded.
// Correctness: the reader must receive every edit, and (Skein) every edit must be acked.
import * as Y from 'yjs';
import { BenchClient } from '../client.mjs';
import { SendTimes, Window, cpuMeter, forEachId, now, paceRoundRobin, sleep, summarize, waitFor } from '../common.mjs';
import { buildDocument } from './s12-large-doc.mjs';
import { backgroundCpu, bystanderWindow, serverCpu, startBystander } from './shared.mjs';

/** Skein's completed compactions, from its /metrics (null: not a Skein target or no figure). */
async function compactions(/** @type {string} */ wsUrl) {
  try {
    const text = await fetch(`${wsUrl.replace(/^ws/, 'http')}/metrics`).then((r) => r.text());
    let sum = 0;
    let seen = false;
    for (const line of text.split('\n')) {
      if (!line.startsWith('skein_persistence_compactions_total') || !line.includes('"ok"')) continue;
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      seen = true;
    }
    return seen ? sum : null;
  } catch {
    return null;
  }
}

/** A pen stroke of ~`kb` KB: the value one edit writes. */
function stroke(/** @type {number} */ n, /** @type {number} */ kb) {
  const points = [];
  // Each [x, y] pair of small integers is ~8 bytes in a Yjs update.
  for (let i = 0; i < kb * 128; i++) points.push([(n * 31 + i * 7) % 1920, (n * 17 + i * 3) % 1080]);
  return { type: 'stroke', color: '#1e1e1e', width: 2, points };
}

/**
 * @param {{docMB: number, rate: number, editKB: number, editS: number, settleS: number, tailS: number, intervalMs: number, compactionTimeoutS: number}} p
 * @param {{id: string, url: string, protocol: 'yws'|'hocus'|'relay'}} target
 * @param {import('../main.mjs').Orchestrator} orch
 */
export async function s14(p, target, orch) {
  const skein = target.id.startsWith('skein');
  const built = buildDocument(p.docMB);
  const doc = 's14-large';
  /** writer seq → send time of that edit; the highest seq acked */
  /** @type {number[]} */
  const ackSentAt = [];
  let acked = 0;
  const ackWin = new Window();
  const writer = new BenchClient({ url: target.url, doc, protocol: target.protocol, keep: false, acks: skein,
    onAck: (seq) => {
      const t = now();
      for (let k = acked + 1; k <= seq; k++) {
        const sent = ackSentAt[k];
        if (sent !== undefined) ackWin.record(sent, t);
      }
      if (seq > acked) acked = seq;
    } });
  await writer.connect(60_000);
  if (skein && !writer.welcomed) return { failure: 'the server did not answer Hello with Welcome' };
  for (const u of built.updates) {
    writer.sendUpdate(u);
    await writer.roundTrip(120_000);
  }
  const times = new SendTimes();
  const editWin = new Window();
  let received = 0;
  const reader = new BenchClient({
    url: target.url, doc, protocol: target.protocol, keep: false,
    onUpdate: (u) => {
      const t = now();
      forEachId(u, (client, clock) => {
        const sent = times.get(client, clock);
        if (sent !== undefined) { editWin.record(sent, t); received++; }
      });
    },
  });
  await reader.connect(120_000);

  const { worker, message: workerMsg } = startBystander({ url: target.url, protocol: target.protocol, doc: 'quiet-s14', intervalMs: p.intervalMs });
  try {
    await workerMsg('ready', 40_000);
    await sleep(p.settleS * 1000);

    const shapes = built.doc.getMap('m');
    let n = 0;
    let editBytes = 0;
    const edit = () => {
      const clock = Y.getState(built.doc.store, built.doc.clientID);
      const t = now();
      /** @type {Uint8Array|undefined} */
      let update;
      const capture = (/** @type {Uint8Array} */ u) => (update = u);
      built.doc.on('update', capture);
      shapes.set(`shape-${(n * 7919) % built.shapes}`, stroke(n, p.editKB));
      built.doc.off('update', capture);
      n++;
      if (update === undefined) throw new Error('no update produced');
      editBytes += update.byteLength;
      times.set(built.doc.clientID, clock, t);
      ackSentAt[writer.sendUpdate(update)] = t;
    };
    const compactionsBefore = skein ? await compactions(target.url) : null;
    const cpu = cpuMeter();
    const before = await orch.probe('edits-start');
    const start = now();
    editWin.start = start;
    ackWin.start = start;
    editWin.end = start + p.editS * 1000;
    ackWin.end = editWin.end;
    await paceRoundRobin([writer], p.rate, editWin.end, edit);
    await sleep(p.tailS * 1000);
    let compacted = null;
    if (skein) {
      const deadline = now() + p.compactionTimeoutS * 1000;
      do {
        const c = await compactions(target.url);
        compacted = c === null || compactionsBefore === null ? null : c - compactionsBefore;
        if (compacted !== null && compacted > 0) break;
        await sleep(100);
      } while (now() < deadline);
    }
    const end = now();
    const after = await orch.probe('edits-end');
    const loadgenCpu = cpu();
    worker.postMessage({ type: 'stop', graceMs: 30_000 });
    const samples = /** @type {{sent: number[], rtt: number[], closeCode: number}} */ (await workerMsg('samples', 40_000));

    const all = await waitFor(() => received >= n && (!skein || acked >= writer.seq), 60_000);
    const { summary: by, unanswered } = bystanderWindow(samples, start, end);
    const ed = summarize(editWin.h);
    const ack = skein ? summarize(ackWin.h) : null;
    let failure;
    if (!all) failure = `the reader received ${received} of ${n} edits${skein ? `, ${acked} of ${writer.seq} acked` : ''}`;
    else if (unanswered > 0) failure = `${unanswered} bystander probes never answered`;
    else if (samples.closeCode) failure = `the bystander was disconnected (${samples.closeCode})`;
    else if (skein && !(compacted !== null && compacted > 0)) failure = `no compaction of the document completed within ${p.compactionTimeoutS} s after the edits (${compacted === null ? 'no skein_persistence_compactions_total on /metrics' : 'counter unchanged'}): nothing was measured`;
    return {
      failure,
      metrics: {
        eldP99: after.eld?.p99 ?? null, eldMax: after.eld?.max ?? null,
        bystanderP99: by.p99, bystanderMax: by.max,
        editP50: ed.p50, editP99: ed.p99, editMax: ed.max,
        ...(ack ? { ackP50: ack.p50, ackP99: ack.p99, ackMax: ack.max } : {}),
        ...(compacted !== null ? { compactions: compacted } : {}),
        windowS: Math.round((end - start) / 100) / 10,
        edits: n, editKB: Math.round((editBytes / Math.max(1, n) / 1024) * 10) / 10,
        docMB: Math.round((built.bytes / 1024 / 1024) * 10) / 10,
        serverCpuPct: serverCpu(before, after), peakRssMB: Math.round(after.hwmKB / 1024),
        loadgenCpuPct: loadgenCpu, bgCpuPct: backgroundCpu(before, after, loadgenCpu),
      },
    };
  } catch (err) {
    return { failure: /** @type {Error} */ (err).message, metrics: {} };
  } finally {
    writer.close();
    reader.close();
    await worker.terminate();
  }
}
