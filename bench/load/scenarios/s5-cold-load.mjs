// S5 cold load: one writer stores `updates` separate updates in one document (canvas-like:
// shape moves over 500 shapes, each update one message), disconnects; the server is
// restarted (SIGTERM: every server here flushes its store on SIGTERM); then a new client
// connects. Figure: time from opening the WebSocket to holding the full document (its state
// vector equals the writer's). Repeated `loads` times (a restart each).
import * as Y from 'yjs';
import { BenchClient } from '../client.mjs';
import { now, sleep } from '../common.mjs';

/**
 * @param {{updates: number, batch: number, loads: number}} p
 * @param {{url: string, protocol: 'yws'|'hocus'|'relay'}} target
 * @param {import('../main.mjs').Orchestrator} orch
 */
export async function s5(p, target, orch) {
  const doc = 's5-cold';
  const writer = new BenchClient({ url: target.url, doc, protocol: target.protocol, keep: false });
  await writer.connect();
  const shapes = writer.doc.getMap('m');
  const writeStart = now();
  for (let i = 0; i < p.updates; i++) {
    /** @type {Uint8Array|undefined} */
    let update;
    const capture = (/** @type {Uint8Array} */ u) => (update = u);
    writer.doc.on('update', capture);
    shapes.set(`shape-${i % 500}`, { x: (i * 37) % 1920, y: (i * 53) % 1080, w: 120, h: 80, fill: '#3388ff', z: i });
    writer.doc.off('update', capture);
    writer.sendUpdate(/** @type {Uint8Array} */ (update));
    // Bounded in flight: every `batch` updates, a sync round trip (the server has applied them).
    if ((i + 1) % p.batch === 0) await writer.roundTrip(60_000);
  }
  await writer.roundTrip(60_000);
  const writeSeconds = (now() - writeStart) / 1000;
  const expectedSv = Buffer.from(Y.encodeStateVector(writer.doc)).toString('hex');
  writer.close();
  // Let debounced stores run on disconnect (Hocuspocus stores when the last client leaves).
  await sleep(500);

  /** @type {number[]} */
  const loads = [];
  /** @type {number[]} */
  const applies = [];
  let failure;
  let url = target.url;
  for (let k = 0; k < p.loads; k++) {
    ({ url } = await orch.restart());
    // Full sync = the client's state vector equals the writer's. Most servers answer sync
    // step 1 with everything; y-websocket may answer before its y-leveldb load finished and
    // send the stored state as a later update, so updates after step 2 count too.
    const local = new Y.Doc();
    let complete = false;
    /** @type {(at: number) => void} */
    let onComplete = () => {};
    // The time is taken when the completing message *arrives*; applying it in this client
    // (the same work whatever the server) is measured separately.
    let applyMs = 0;
    const receive = (/** @type {Uint8Array} */ u) => {
      const arrived = now();
      Y.applyUpdate(local, u);
      applyMs += now() - arrived;
      if (!complete && Buffer.from(Y.encodeStateVector(local)).toString('hex') === expectedSv) {
        complete = true;
        onComplete(arrived);
      }
    };
    const reader = new BenchClient({ url, doc, protocol: target.protocol, keep: false, onUpdate: receive, onStepTwo: receive });
    const t0 = now();
    let ms = NaN;
    try {
      const done = new Promise((resolve) => { onComplete = (/** @type {number} */ at) => { ms = at - t0; resolve(undefined); }; });
      await reader.connect(60_000);
      await Promise.race([done, sleep(30_000)]);
    } catch (err) {
      failure = `cold load ${k + 1}: ${/** @type {Error} */ (err).message}`;
      reader.close();
      break;
    }
    reader.close();
    if (!complete) {
      failure = `cold load ${k + 1}: the loaded document lacks stored updates (state vector differs from the writer's after 30 s)`;
      break;
    }
    loads.push(Math.round(ms * 100) / 100);
    applies.push(Math.round(applyMs * 100) / 100);
  }
  const median = (/** @type {number[]} */ xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? null;
  return {
    failure,
    metrics: { coldLoadMs: median(loads), clientApplyMs: median(applies), coldLoadsMs: loads, writeUpdatesPerS: Math.round(p.updates / writeSeconds) },
  };
}
