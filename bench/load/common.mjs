// Helpers shared by the scenarios of the load generator.
import { createHash } from 'node:crypto';
import * as Y from 'yjs';
import * as hdr from 'hdr-histogram-js';
import { updateIds } from './client.mjs';

/** @typedef {import('./client.mjs').BenchClient} BenchClient */

export const now = () => performance.timeOrigin + performance.now();
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A latency histogram in microseconds (1 µs … 120 s, 3 significant digits). */
export function histogram() {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
}

/** @param {import('hdr-histogram-js').Histogram} h  percentiles in milliseconds */
export function summarize(h) {
  if (h.totalCount === 0) return { count: 0 };
  const ms = (p) => Math.round(h.getValueAtPercentile(p)) / 1000;
  return { count: h.totalCount, p50: ms(50), p90: ms(90), p99: ms(99), p999: ms(99.9), max: Math.round(h.maxValue) / 1000, mean: Math.round(h.mean) / 1000 };
}

/**
 * Send times of every update written, by Yjs (client, clock): readers identify what they
 * received from the update header and look the send time up here (writers and readers share
 * this process, so one clock). The same timestamp is also written inside the update.
 */
export class SendTimes {
  /** @type {Map<number, number[]>} */
  #byClient = new Map();
  /** @param {number} client @param {number} clock @param {number} t */
  set(client, clock, t) {
    let arr = this.#byClient.get(client);
    if (arr === undefined) this.#byClient.set(client, (arr = []));
    arr[clock] = t;
  }
  /** @param {number} client @param {number} clock */
  get(client, clock) {
    return this.#byClient.get(client)?.[clock];
  }
}

/**
 * A measurement window: latencies of updates *sent* inside it are recorded.
 */
export class Window {
  start = Infinity;
  end = Infinity;
  h = histogram();
  /** @param {number} sentAt @param {number} receivedAt */
  record(sentAt, receivedAt) {
    if (sentAt >= this.start && sentAt < this.end) this.h.recordValue(Math.max(1, Math.round((receivedAt - sentAt) * 1000)));
  }
}

/**
 * Write one map entry {t, n, …shape} into the client's own document and send the update.
 * Returns the Yjs clock of the new item (its id is (doc.clientID, clock)).
 * @param {BenchClient} client @param {string} key @param {number} n @param {SendTimes} times
 */
export function writeEntry(client, key, n, times) {
  const doc = client.doc;
  const clock = Y.getState(doc.store, doc.clientID);
  const t = now();
  let capture = captures.get(doc);
  if (capture === undefined) {
    const slot = { update: /** @type {Uint8Array|undefined} */ (undefined) };
    doc.on('update', (/** @type {Uint8Array} */ u) => { slot.update = u; });
    captures.set(doc, (capture = slot));
  }
  capture.update = undefined;
  doc.getMap('m').set(key, { t, n, x: (n * 37) % 1920, y: (n * 53) % 1080, w: 120, h: 80, fill: '#3388ff' });
  const update = capture.update;
  times.set(doc.clientID, clock, t);
  if (update === undefined) throw new Error('no update produced');
  client.sendUpdate(update);
  return clock;
}

/**
 * One 'update' listener per writer's document, kept: adding and removing one per edit cost
 * S3's load generator ~3 % of its time (lib0 makes and drops the observer set each time).
 * @type {WeakMap<Y.Doc, {update: Uint8Array|undefined}>}
 */
const captures = new WeakMap();

/**
 * Connect many clients, `concurrency` at a time. Throws on the first failure.
 * @param {BenchClient[]} clients @param {number} concurrency @param {number} timeoutMs
 */
export async function connectAll(clients, concurrency = 50, timeoutMs = 60_000) {
  let next = 0;
  const worker = async () => {
    while (next < clients.length) {
      const c = /** @type {BenchClient} */ (clients[next++]);
      await c.connect(timeoutMs);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, clients.length) }, worker));
}

export function closeAll(clients) {
  for (const c of clients) c.close();
}

/**
 * Call `send(client, n)` for each client at `perClientRate` per second, spread evenly
 * (round-robin over all clients), until `untilMs` (absolute, `now()` clock). Bounded by time.
 * @param {BenchClient[]} clients @param {number} perClientRate @param {number} untilMs
 * @param {(client: BenchClient, index: number, n: number) => void} send
 */
export async function paceRoundRobin(clients, perClientRate, untilMs, send) {
  const total = clients.length * perClientRate;
  const start = now();
  let sent = 0;
  /** @type {number[]} */
  const perClient = new Array(clients.length).fill(0);
  while (now() < untilMs) {
    const due = Math.floor(((now() - start) / 1000) * total);
    // Never burst more than 100 ms worth at once (a stalled loop does not catch up in one go).
    const limit = Math.max(1, Math.ceil(total / 10));
    let burst = 0;
    while (sent < due && burst < limit) {
      const i = sent % clients.length;
      send(/** @type {BenchClient} */ (clients[i]), i, perClient[i]++);
      sent++;
      burst++;
    }
    if (burst === limit) sent = Math.max(sent, due - limit);
    await sleep(Math.max(1, Math.min(20, 1000 / total)));
  }
  return sent;
}

/** Wait until `predicate()` holds, polling every 20 ms; false on timeout. */
export async function waitFor(predicate, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (predicate()) return true;
    await sleep(20);
  }
  return predicate();
}

/** JSON with sorted keys (Y.Map iteration order depends on integration order). */
export function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** @param {Y.Doc} doc */
export function fingerprint(doc) {
  return `${Buffer.from(Y.encodeStateVector(doc)).toString('hex')}|${canonical(doc.getMap('m').toJSON())}`;
}

/**
 * Build the reference state (every update every writer produced), then check that each
 * client's received state equals it. Clients that received byte-identical streams (servers
 * encode a broadcast once, so normally all of them) share one materialization: a hash of
 * the received bytes groups them, and one client per group is fully applied and compared.
 * Returns the number of mismatching clients and a sample.
 * @param {BenchClient[]} writers @param {BenchClient[]} clients
 */
export function verifyAgainstWriters(writers, clients) {
  const ref = new Y.Doc();
  Y.transact(ref, () => {
    for (const w of writers) Y.applyUpdate(ref, Y.encodeStateAsUpdate(w.doc));
  });
  const expected = fingerprint(ref);
  /** @type {Map<string, boolean>} stream hash → state matches */
  const verdicts = new Map();
  let bad = 0;
  /** @type {string|undefined} */
  let sample;
  for (const c of clients) {
    const key = streamHash(c);
    let ok = verdicts.get(key);
    if (ok === undefined) {
      const got = fingerprint(c.materialize());
      ok = got === expected;
      verdicts.set(key, ok);
      if (!ok) sample ??= `client of ${c.opts.doc}: state vector/content differs from the writers' (${got.slice(0, 80)} vs ${expected.slice(0, 80)})`;
    }
    if (!ok) bad++;
  }
  return { bad, sample, distinctStreams: verdicts.size };
}

/** Hash of what a client wrote itself and everything it received, in order. */
export function streamHash(/** @type {BenchClient} */ c) {
  const h = createHash('sha1');
  h.update(Y.encodeStateAsUpdate(c.doc));
  for (const u of c.received) {
    h.update(String(u.length));
    h.update(u);
  }
  return h.digest('hex');
}

/**
 * Count, per reader, what it received from each writer client (received in order).
 * @param {Uint8Array} update
 * @param {(client: number, clock: number) => void} each
 */
export function forEachId(update, each) {
  for (const [client, clock] of updateIds(update)) each(client, clock);
}

/** CPU of this (load generator) process between two calls, in % of one core. */
export function cpuMeter() {
  let last = process.cpuUsage();
  let lastT = performance.now();
  return () => {
    const u = process.cpuUsage(last);
    const t = performance.now();
    const pct = ((u.user + u.system) / 1000 / (t - lastT)) * 100;
    last = process.cpuUsage();
    lastT = t;
    return Math.round(pct * 10) / 10;
  };
}
