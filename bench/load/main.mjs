// The load generator: a child process forked by run.mjs, one per (scenario, target, repeat).
// It receives {type:'start', scenario, params, target} over IPC, runs the scenario against
// the target's URL and sends back {type:'result', result}. It asks the orchestrator to
// sample the server process (CPU ticks, RSS) at the edges of measurement windows with
// `probe(label)`, to restart the server (S5) with `restart()`, and to read the Redis
// counters of a cluster target (C1) with `redis()`.
import { s1 } from './scenarios/s1-fanout.mjs';
import { s2 } from './scenarios/s2-many-docs.mjs';
import { s3 } from './scenarios/s3-throughput.mjs';
import { s4 } from './scenarios/s4-idle-memory.mjs';
import { s5 } from './scenarios/s5-cold-load.mjs';
import { s6 } from './scenarios/s6-presence.mjs';
import { s7 } from './scenarios/s7-durable-acks.mjs';
import { s8 } from './scenarios/s8-connection-setup.mjs';
import { c1 } from './scenarios/c1-cluster-fanout.mjs';
import { s9 } from './scenarios/s9-noisy-neighbour.mjs';
import { s11 } from './scenarios/s11-idle-scale.mjs';
import { s12 } from './scenarios/s12-large-doc.mjs';
import { s13 } from './scenarios/s13-multiplex.mjs';
import { s14 } from './scenarios/s14-large-doc-edits.mjs';

const SCENARIOS = { S1: s1, S2: s2, S3: s3, S4: s4, S5: s5, S6: s6, S7: s7, S8: s8, C1: c1 };
SCENARIOS.S9 = s9;
// S10 is S1 (one writer, many readers, the same correctness check) with 1,500 readers.
SCENARIOS.S10 = s1;
SCENARIOS.S11 = s11;
SCENARIOS.S12 = s12;
SCENARIOS.S13 = s13;
SCENARIOS.S14 = s14;

let nextId = 1;
/** @type {Map<number, (value: any) => void>} */
const pending = new Map();

/** @param {string} type @param {object} body */
function request(type, body = {}) {
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, resolve);
    process.send?.({ type, id, ...body });
  });
}

/**
 * @typedef {object} Orchestrator
 * @property {(label: string, opts?: {gc?: boolean}) => Promise<{cpuTicks: number, rssKB: number, hwmKB: number, t: number, clkTck: number}>} probe
 * @property {() => Promise<{url: string}>} restart
 * @property {() => Promise<{commands: number, netIn: number, netOut: number, calls: Record<string, number>}>} redis  counters of a cluster target's Redis (C1)
 * @property {(msg: string) => void} log
 */

/** @type {Orchestrator} */
const orchestrator = {
  probe: (label, opts = {}) => request('probe', { label, gc: opts.gc === true }),
  restart: () => request('restart'),
  redis: () => request('redis'),
  log: (msg) => process.send?.({ type: 'log', msg }),
};

process.on('message', (/** @type {any} */ msg) => {
  if (msg.type === 'start') {
    const run = SCENARIOS[/** @type {keyof typeof SCENARIOS} */ (msg.scenario)];
    const started = performance.now();
    run(msg.params, msg.target, orchestrator)
      .then(
        (result) => ({ ok: result.failure === undefined, ...result }),
        (err) => ({ ok: false, failure: `load generator error: ${err instanceof Error ? err.message : String(err)}` }),
      )
      .then((result) => {
        result.loadgenSeconds = Math.round((performance.now() - started) / 100) / 10;
        process.send?.({ type: 'result', result }, () => process.exit(0));
      });
    return;
  }
  const resolve = pending.get(msg.id);
  if (resolve !== undefined) {
    pending.delete(msg.id);
    resolve(msg);
  }
});
