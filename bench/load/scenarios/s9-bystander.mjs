// S9's bystander, in a worker thread of the load generator: its own event loop, so the
// burster's send loop and the readers' applies in the main thread do not delay its timer or
// its receipt of answers. One plain client on a quiet document sends a sync step 1 every
// `intervalMs`, whether or not the previous one was answered (no coordinated omission), and
// times each answer (sync step 2; a server answers one connection's messages in order, so
// answers match probes first in, first out).
//
// Messages from the parent: {type:'stop', graceMs}. To the parent: {type:'ready'} once
// connected, {type:'error', message}, and after 'stop' {type:'samples', sent, rtt, closeCode}:
// send times (`now()` clock, shared across threads) and round trips in ms (NaN: unanswered).
import { parentPort, workerData } from 'node:worker_threads';
import { BenchClient } from '../client.mjs';
import { now, sleep } from '../common.mjs';

/** @type {{url: string, protocol: 'yws'|'hocus'|'relay', doc: string, intervalMs: number}} */
const opts = workerData;
/** @type {number[]} */
const sent = [];
/** @type {number[]} */
const rtt = [];
let answered = 0;
let closeCode = 0;
/** Probes sent once the handshake is over; answers before that are the handshake's. */
let probing = false;

const client = new BenchClient({
  url: opts.url, doc: opts.doc, protocol: opts.protocol, keep: false,
  onStepTwo: () => {
    if (!probing || answered >= sent.length) return;
    rtt[answered] = now() - /** @type {number} */ (sent[answered]);
    answered++;
  },
});

try {
  await client.connect(30_000);
  client.ws?.on('close', (code) => { if (!client.closing) closeCode = code; });
  // One untimed round trip: any step 2 still owed from the handshake arrives before probing.
  await client.roundTrip(30_000);
} catch (err) {
  parentPort?.postMessage({ type: 'error', message: `bystander: ${/** @type {Error} */ (err).message}` });
  process.exit(0);
}
probing = true;
const timer = setInterval(() => {
  sent.push(now());
  rtt.push(NaN);
  client.sendStep1();
}, opts.intervalMs);
parentPort?.postMessage({ type: 'ready' });

parentPort?.on('message', async (/** @type {any} */ msg) => {
  if (msg.type !== 'stop') return;
  clearInterval(timer);
  const deadline = Date.now() + (msg.graceMs ?? 30_000);
  while (answered < sent.length && Date.now() < deadline && !client.closed) await sleep(10);
  client.close();
  parentPort?.postMessage({ type: 'samples', sent, rtt, closeCode });
});
