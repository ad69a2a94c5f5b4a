// S9 noisy neighbour: can one client stall the node for everyone else?
//
// Variant 1 (`burst`): one plain client sends `updates` one-item updates to document "burst",
// each its own sync-update message (a Y.Array push per update, produced by a real Y.Doc, so
// the updates are valid and chained), all written at once: a synchronous loop of ws.send()
// calls, with no flow control other than what the ws library does (it queues what the socket
// cannot take yet). Variant 2 (`multi`): `sockets` clients on as many documents do the same at
// once, each with updates / sockets items (interleaved sends: socket 0, 1, …, 9, 0, 1, …).
// The server process is restarted (fresh, same data directory) between the variants so each
// has its own memory peak.
//
// Meanwhile a bystander on another document (a worker thread: ./s9-bystander.mjs) sends a
// sync step 1 every `intervalMs` and times the answer. Windows, by the probe's send time:
//   idle   `idleS` seconds before the burst;
//   burst  from the first update sent until every new reader holds every item;
//   tail   the `tailS` seconds after that.
// After the last update was handed to the socket, a new reader per bursting document
// connects; "reader" = time from that moment until it has received every item (clocks
// 0 … n−1 of the burster's client); then, untimed, its state built from what it received
// must be exactly the array 0 … n−1: a server that loses or reorders updates FAILS.
// Server memory: VmRSS before the burst and VmHWM (peak RSS of the process) after it.
// A bursting socket closed by the server is recorded with its close code; the client then
// reconnects (at most 3 times) and resyncs like a y-websocket provider, so the readers'
// check still decides whether updates were lost.
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import { BenchClient, MSG_SYNC } from '../client.mjs';
import { closeAll, cpuMeter, now, sleep, waitFor } from '../common.mjs';
import { backgroundCpu, bystanderWindow, serverCpu, startBystander } from './shared.mjs';

const SYNC_UPDATE = 2;

/**
 * @param {{updates: number, sockets: number, intervalMs: number, idleS: number, tailS: number, readerTimeoutS: number}} p
 * @param {{url: string, protocol: 'yws'|'hocus'|'relay'}} target
 * @param {import('../main.mjs').Orchestrator} orch
 */
export async function s9(p, target, orch) {
  /** @type {Record<string, any>} */
  const metrics = {};
  /** @type {Record<string, any>} */
  const details = {};
  let failure;
  let url = target.url;
  for (const [variant, sockets, prefix] of /** @type {const} */ ([['burst', 1, ''], ['multi', p.sockets, 'm']])) {
    if (variant === 'multi') ({ url } = await orch.restart());
    const r = await burstRun({ ...p, sockets, perSocket: Math.floor(p.updates / sockets) }, { ...target, url }, orch, variant);
    for (const [k, v] of Object.entries(r.metrics)) metrics[prefix ? `${prefix}${k[0]?.toUpperCase()}${k.slice(1)}` : k] = v;
    details[variant] = r.details;
    if (r.failure) failure ??= `${variant === 'burst' ? '1 socket' : `${sockets} sockets`}: ${r.failure}`;
  }
  return { failure, metrics, details };
}

/**
 * One variant: `sockets` bursting clients with `perSocket` updates each.
 * @param {{sockets: number, perSocket: number, intervalMs: number, idleS: number, tailS: number, readerTimeoutS: number}} p
 * @param {{url: string, protocol: 'yws'|'hocus'|'relay'}} target
 * @param {import('../main.mjs').Orchestrator} orch
 * @param {string} variant
 */
async function burstRun(p, target, orch, variant) {
  const docs = Array.from({ length: p.sockets }, (_, i) => (p.sockets === 1 ? 'burst' : `burst-${i}`));
  /** close codes of bursting sockets closed by the server */
  const closeCodes = [];
  const bursters = docs.map((doc) => new BenchClient({ url: target.url, doc, protocol: target.protocol, keep: false }));
  /** messages and bytes the bursting sockets received (acks, sync status, echoes) */
  const inbound = { msgs: 0, bytes: 0 };
  const watch = (/** @type {BenchClient} */ c) => {
    c.ws?.on('close', (code) => { if (!c.closing) closeCodes.push(code); });
    c.ws?.on('message', (/** @type {Buffer} */ data) => { inbound.msgs++; inbound.bytes += data.length; });
  };
  for (const c of bursters) {
    await c.connect(30_000);
    // Everything the server sent at connection (its sync step 1 included) is handled before
    // the document gets content: the handshake's step 2 must stay empty.
    await c.roundTrip(30_000);
    watch(c);
  }

  // The updates, made before the clock runs: one Y.Array push per update, each captured as
  // the Y.Doc emits it (so each is chained to the previous item), framed as sync updates.
  // At 100,000 one-item pushes this takes the load generator tens of seconds (see the reader's
  // note below): it yields every 1,000 pushes, so the open bursting sockets still answer the
  // server's pings and are not closed as dead peers meanwhile.
  /** @type {Uint8Array[][]} */
  const frames = [];
  for (const c of bursters) {
    /** @type {Uint8Array[]} */
    const out = [];
    const capture = (/** @type {Uint8Array} */ u) => {
      const e = encoding.createEncoder();
      encoding.writeUint8Array(e, c.prefix);
      encoding.writeVarUint(e, MSG_SYNC);
      encoding.writeVarUint(e, SYNC_UPDATE);
      encoding.writeVarUint8Array(e, u);
      out.push(encoding.toUint8Array(e));
    };
    c.doc.on('update', capture);
    const arr = c.doc.getArray('a');
    for (let i = 0; i < p.perSocket; i++) {
      arr.push([i]);
      if (i % 1_000 === 999) await new Promise((resolve) => setImmediate(resolve));
    }
    c.doc.off('update', capture);
    frames.push(out);
  }
  const frameBytes = frames.reduce((s, fs) => s + fs.reduce((t, f) => t + f.length, 0), 0);

  // The bystander, on its own document, in its own thread.
  const { worker, message: workerMsg } = startBystander({ url: target.url, protocol: target.protocol, doc: `quiet-${variant}`, intervalMs: p.intervalMs });
  /** @type {BenchClient[]} */
  let readers = [];
  try {
    await workerMsg('ready', 40_000);

    // Idle window.
    await sleep(200);
    const idleStart = now();
    await sleep(p.idleS * 1000);
    const cpu = cpuMeter();
    const before = await orch.probe('burst-start');

    // The burst: every frame handed to ws.send() at once.
    const burstStart = now();
    for (let i = 0; i < p.perSocket; i++) {
      for (let s = 0; s < bursters.length; s++) /** @type {any} */ (bursters[s]).ws?.send(/** @type {Uint8Array[]} */ (frames[s])[i]);
    }
    const lastSent = now();
    // How long the client side held queued bytes (the server not reading fast enough).
    let drainedAt = NaN;
    void waitFor(() => bursters.every((c) => c.buffered === 0 || c.closed), p.readerTimeoutS * 1000).then(() => (drainedAt = now()));

    // A new reader per bursting document, connected after the last update was sent.
    /** @type {number[]} */
    const completeAt = new Array(docs.length).fill(NaN);
    let readerMsgs = 0;
    let updatesBeforeStep2 = 0;
    let readerBytes = 0;
    readers = docs.map((doc, i) => {
      const writer = /** @type {BenchClient} */ (bursters[i]).doc.clientID;
      // Timed: which clocks of the burster's client the reader has received (a few varint
      // reads per message, Y.parseUpdateMeta). Applying while the clock runs would time the
      // load generator's Yjs instead of the server: Yjs merges each appended item into the
      // run before it by copying that run's content array (ContentAny.mergeWith → concat), so
      // one-item pushes cost O(length) each (26 µs per update at 20,000, 216 µs at 100,000).
      // The check that the reader holds exactly 0 … n−1 runs on a Y.Doc after the clock.
      const coverage = new Coverage();
      /** @type {Uint8Array[]} in arrival order, the answer to sync step 1 first */
      const payloads = [];
      const receive = (/** @type {Uint8Array} */ u, /** @type {boolean} */ stepTwo) => {
        readerMsgs++;
        readerBytes += u.length;
        if (stepTwo) payloads.unshift(u);
        else payloads.push(u);
        const { from, to } = Y.parseUpdateMeta(u);
        const start = from.get(writer);
        const end = to.get(writer);
        if (start !== undefined && end !== undefined) coverage.add(start, end);
        if (Number.isNaN(completeAt[i]) && coverage.covered >= p.perSocket) completeAt[i] = now();
      };
      const c = new BenchClient({
        url: target.url, doc, protocol: target.protocol, keep: false,
        onUpdate: (u) => {
          // The server fans out to a socket from the moment it joins, before it answers the
          // socket's sync step 1: legitimate, counted (a Yjs client parks these as pending
          // structs and re-merges them on every later update: quadratic for the client).
          if (c.stepTwos === 0) updatesBeforeStep2++;
          receive(u, false);
        },
        onStepTwo: (u) => receive(u, true),
      });
      /** @type {any} */ (c).payloads = payloads;
      return c;
    });
    const readerErrors = [];
    await Promise.all(readers.map((c) => c.connect(p.readerTimeoutS * 1000).catch((err) => readerErrors.push(err.message))));
    // Reconnect a bursting client the server closed (at most 3 times each), as a provider
    // would: its document holds every update, the resync sends what the server lacks.
    let reconnects = 0;
    const complete = () => completeAt.every((t) => !Number.isNaN(t));
    const deadline = lastSent + p.readerTimeoutS * 1000;
    while (!complete() && now() < deadline) {
      for (let s = 0; s < bursters.length; s++) {
        const c = /** @type {BenchClient} */ (bursters[s]);
        if (c.closed && !c.closing && reconnects < 3 * bursters.length) {
          reconnects++;
          const again = new BenchClient({ url: target.url, doc: c.opts.doc, protocol: target.protocol, keep: false });
          again.doc = c.doc;
          bursters[s] = again;
          await again.connect(30_000).then(() => watch(again), () => {});
        }
      }
      await sleep(5);
    }
    const burstEnd = now();
    const after = await orch.probe('burst-end');
    const loadgenCpu = cpu();
    await sleep(p.tailS * 1000);
    const tailEnd = now();
    worker.postMessage({ type: 'stop', graceMs: 30_000 });
    const samples = /** @type {{sent: number[], rtt: number[], closeCode: number}} */ (await workerMsg('samples', 40_000));

    // Correctness: each reader's state (everything it received, applied one update per
    // transaction, untimed) is exactly the array 0 … n−1.
    let failure;
    readers.forEach((c, i) => {
      const view = new Y.Doc();
      for (const u of /** @type {Uint8Array[]} */ (/** @type {any} */ (c).payloads)) Y.applyUpdate(view, u);
      const got = /** @type {number[]} */ (view.getArray('a').toArray());
      const ok = got.length === p.perSocket && got.every((x, k) => x === k);
      if (!ok) failure ??= `the reader of "${docs[i]}" has ${got.length} of ${p.perSocket} items${got.length === p.perSocket ? ' (out of order)' : ''} ${Math.round((now() - lastSent) / 1000)} s after the last update was sent`;
      view.destroy();
    });
    if (readerErrors.length > 0) failure ??= `reader: ${readerErrors[0]}`;

    const windows = { idle: [idleStart, burstStart], burst: [burstStart, burstEnd], tail: [burstEnd, tailEnd] };
    /** @type {Record<string, any>} */
    const lat = {};
    let unanswered = 0;
    for (const [name, [from, to]] of Object.entries(windows)) {
      const w = bystanderWindow(samples, from, to);
      lat[name] = w.summary;
      unanswered += w.unanswered;
    }
    if (unanswered > 0) failure ??= `${unanswered} bystander probes never answered`;
    if (samples.closeCode) failure ??= `the bystander was disconnected (${samples.closeCode})`;
    const readerMs = Math.round((Math.max(...completeAt) - lastSent) * 10) / 10;
    return {
      failure,
      metrics: {
        idleP50: lat.idle.p50, idleP99: lat.idle.p99, idleMax: lat.idle.max,
        burstP50: lat.burst.p50, burstP99: lat.burst.p99, burstMax: lat.burst.max, burstProbes: lat.burst.count ?? 0,
        tailMax: lat.tail.max,
        readerMs: Number.isFinite(readerMs) ? readerMs : null,
        sendMs: Math.round((lastSent - burstStart) * 10) / 10,
        drainMs: Number.isNaN(drainedAt) ? null : Math.round((drainedAt - burstStart) * 10) / 10,
        burstMs: Math.round(burstEnd - burstStart),
        rssBeforeMB: Math.round(before.rssKB / 1024), peakRssMB: Math.round(after.hwmKB / 1024),
        // The server's event-loop delay over the burst window (probe at burst start → burst end).
        eldIdleP99: before.eld?.p99 ?? null, eldP99: after.eld?.p99 ?? null, eldMax: after.eld?.max ?? null,
        serverCpuPct: serverCpu(before, after), loadgenCpuPct: loadgenCpu, bgCpuPct: backgroundCpu(before, after, loadgenCpu),
        disconnects: closeCodes.length,
      },
      details: { sockets: p.sockets, updatesPerSocket: p.perSocket, frameBytes, burstersReceived: inbound, readersReceived: { msgs: readerMsgs, bytes: readerBytes, updatesBeforeStep2 }, closeCodes, reconnects, lastCloseCode: closeCodes.at(-1) ?? null, windows: lat },
    };
  } catch (err) {
    return { failure: /** @type {Error} */ (err).message, metrics: {}, details: { closeCodes } };
  } finally {
    closeAll([...bursters, ...readers]);
    await worker.terminate();
  }
}

/** Which clocks [0, covered) of one client were received, from intervals in any order. */
class Coverage {
  covered = 0;
  /** @type {Map<number, number>} start → end of intervals beyond `covered` */
  #parked = new Map();
  /** @param {number} start @param {number} end */
  add(start, end) {
    if (start > this.covered) {
      this.#parked.set(start, Math.max(end, this.#parked.get(start) ?? 0));
      return;
    }
    if (end <= this.covered) return;
    const jump = end - this.covered > 1;
    this.covered = end;
    let next;
    while ((next = this.#parked.get(this.covered)) !== undefined) {
      this.#parked.delete(this.covered);
      this.covered = Math.max(this.covered, next);
    }
    // A long interval (the answer to sync step 1) can cover parked ones that do not start
    // exactly at its end: one full pass then.
    if (jump && this.#parked.size > 0) {
      for (const [s, e] of [...this.#parked].sort((a, b) => a[0] - b[0])) {
        if (s > this.covered) break;
        this.#parked.delete(s);
        this.covered = Math.max(this.covered, e);
      }
    }
  }
}
