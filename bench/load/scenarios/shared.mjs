// Small helpers for scenario results, and the bystander of S9 and S14.
import { Worker } from 'node:worker_threads';
import { histogram, summarize } from '../common.mjs';

/** Server CPU between two probes, in % of one core. */
export function serverCpu(before, after) {
  const seconds = (after.t - before.t) / 1000;
  return Math.round(((after.cpuTicks - before.cpuTicks) / before.clkTck / seconds) * 1000) / 10;
}

/**
 * CPU used on this machine by anything but the server and the load generator between two
 * probes, in % of one core (other processes compete for the 2 cores: a noise indicator).
 * @param {number} loadgenCpuPct
 */
export function backgroundCpu(before, after, loadgenCpuPct) {
  const seconds = (after.t - before.t) / 1000;
  const all = ((after.sysBusyTicks - before.sysBusyTicks) / before.clkTck / seconds) * 100;
  return Math.max(0, Math.round((all - serverCpu(before, after) - loadgenCpuPct) * 10) / 10);
}

/**
 * The bystander (./s9-bystander.mjs) in a worker thread of the load generator: one plain client
 * on document `doc` that sends a sync step 1 every `intervalMs` and times each answer.
 * `message(type, timeoutMs)` waits for its next message of that type ('ready', then after
 * `worker.postMessage({type: 'stop'})` 'samples'); an 'error' message rejects.
 * @param {{url: string, protocol: 'yws'|'hocus'|'relay', doc: string, intervalMs: number}} opts
 */
export function startBystander(opts) {
  const worker = new Worker(new URL('./s9-bystander.mjs', import.meta.url), { workerData: opts });
  /** @type {(msg: any) => void} */
  let onWorker = () => {};
  worker.on('message', (msg) => onWorker(msg));
  const message = (/** @type {string} */ type, /** @type {number} */ timeoutMs) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bystander: no ${type} within ${timeoutMs} ms`)), timeoutMs);
    onWorker = (msg) => {
      if (msg.type === type || msg.type === 'error') {
        clearTimeout(timer);
        if (msg.type === 'error') reject(new Error(msg.message));
        else resolve(msg);
      }
    };
  });
  return { worker, message };
}

/**
 * The bystander's round trips of the probes sent in [from, to): their summary, and how many
 * were never answered.
 * @param {{sent: number[], rtt: number[]}} samples
 * @param {number} from @param {number} to
 */
export function bystanderWindow(samples, from, to) {
  const h = histogram();
  let unanswered = 0;
  samples.sent.forEach((t, k) => {
    if (t < from || t >= to) return;
    const ms = /** @type {number} */ (samples.rtt[k]);
    if (Number.isNaN(ms)) unanswered++;
    else h.recordValue(Math.max(1, Math.round(ms * 1000)));
  });
  return { summary: summarize(h), unanswered };
}
