// Scenario parameters for the short run (`pnpm bench`) and the full one (`pnpm bench --full`).
// The short run keeps S1, S3, S5, S6 and S7 at full size but shortens their windows and runs
// the in-memory scenarios (S1–S4, S6) against the in-memory targets and the relay only (S1
// and S2 also against Skein with `*=immediate`, S2 against the persistent peers too); S2,
// S4, S10 and S11 have their connection counts scaled down, and S4, S5, S7–S11 run one repeat
// (marked `scaled` in every report). Both Hocuspocus majors (3.x and 4.x) run wherever
// Hocuspocus runs.

const MEMORY = ['skein-memory', 'hocuspocus-memory', 'hocuspocus4-memory', 'y-websocket-memory', 'raw-relay'];
const PERSISTENT = ['skein-immediate', 'skein-debounced', 'hocuspocus-sqlite', 'hocuspocus4-sqlite', 'y-websocket-leveldb'];
const ALL = [...MEMORY, ...PERSISTENT];
// S1 short: the in-memory targets plus Skein `*=immediate` (issue 15: fan-out p99 in memory
// and with immediate durability).
const S1_QUICK = [...MEMORY, 'skein-immediate'];
// S2 short: in memory, plus `*=immediate` and the persistent peers of the newest versions,
// so that "S2 immediate p99 ≤ 2× S2 in memory" and the immediate-vs-peer ratio are measured.
const S2_QUICK = [...MEMORY, 'skein-immediate', 'hocuspocus4-sqlite', 'y-websocket-leveldb'];
// Two server processes sharing one redis-server (started by run.mjs), scenario C1 only.
const CLUSTER = ['skein-redis', 'hocuspocus-redis', 'hocuspocus4-redis'];
// Connection setup (S8): Skein without access control, with HS256 tokens and with ES256 tokens
// (public key file), and the in-memory peers for reference (without auth).
const SETUP = ['skein-memory', 'skein-jwt-hs256', 'skein-jwt-es256', 'hocuspocus-memory', 'hocuspocus4-memory', 'y-websocket-memory'];
// Scenario S9 (noisy neighbour): Skein's three storage setups (short run: memory and
// immediate) and the in-memory peers.
const NOISY = ['skein-memory', 'skein-immediate', 'skein-debounced', 'hocuspocus-memory', 'hocuspocus4-memory', 'y-websocket-memory'];
const NOISY_QUICK = NOISY.filter((id) => id !== 'skein-debounced');
// Scenario S12 (a 20 MB document, 150 joiners): in memory and `*=immediate` for Skein, the peers in memory.
const LARGE = ['skein-memory', 'skein-immediate', 'hocuspocus-memory', 'hocuspocus4-memory', 'y-websocket-memory'];
const LARGE_QUICK = LARGE.filter((id) => id !== 'hocuspocus-memory');
// Scenario S13 (many documents per client, one socket each vs one shared socket): Skein
// (skein-mux.v1), both Hocuspocus majors (their framing is multiplexed), y-websocket (one socket each only).
const MULTIPLEX = ['skein-memory', 'hocuspocus-memory', 'hocuspocus4-memory', 'y-websocket-memory'];
// Scenario S14 (a ~20 MB document stored while it is edited): the persistent targets (short run:
// Skein `*=immediate` and the newest persistent peers).
const STORING = ['skein-immediate', 'skein-debounced', 'hocuspocus-sqlite', 'hocuspocus4-sqlite', 'y-websocket-leveldb'];
const STORING_QUICK = ['skein-immediate', 'hocuspocus4-sqlite', 'y-websocket-leveldb'];

/**
 * @typedef {object} ScenarioConfig
 * @property {string} id
 * @property {string} title
 * @property {string[]} targets   target ids this scenario runs against
 * @property {object} params      passed to the load generator
 * @property {string|null} scaled what was scaled down relative to the issue, or null
 * @property {number} timeoutS    hard limit for one run (load generator killed after it)
 * @property {boolean} [inspect]  start servers with the inspector (forced GC before RSS samples)
 * @property {boolean} [eld]      preload the event-loop delay monitor (lib/eld-preload.mjs) into servers
 * @property {number} [repeats]   overrides the run's repeat count for this scenario
 * @property {number} [fds]       open files each process (server, load generator) needs: run.mjs
 *   raises the soft limit (and as root the hard one, with prlimit) when it is lower
 */

/** @param {'quick'|'full'} mode @returns {{repeats: number, scenarios: ScenarioConfig[]}} */
export function plan(mode) {
  const full = mode === 'full';
  const q = (quick, long) => (full ? long : quick);
  return {
    repeats: q(2, 3),
    scenarios: [
      {
        id: 'S1', title: 'Fan-out latency: 1 doc, 1 writer at 50 updates/s, 100 readers',
        targets: q(S1_QUICK, ALL),
        params: { readers: 100, rate: 50, warmupS: q(0.5, 3), measureS: q(2.5, 30) },
        scaled: null, timeoutS: q(60, 120),
      },
      {
        id: 'S2', title: q('Many docs: 100 docs × 4 clients (scaled from 500), 2 updates/s each', 'Many docs: 500 docs × 4 clients, 2 updates/s each'),
        targets: q(S2_QUICK, ALL),
        params: { docs: q(100, 500), clientsPerDoc: 4, rate: 2, warmupS: q(0.5, 5), measureS: q(2.5, 30) },
        scaled: q('100 docs × 4 clients instead of 500 × 4', null), timeoutS: q(90, 240),
      },
      {
        id: 'S3', title: 'Throughput: 1 doc, 4 writers (in-flight window 64 each), 10 readers',
        targets: q(MEMORY, ALL),
        params: { writers: 4, readers: 10, window: 64, warmupS: q(0.5, 3), measureS: q(2, 15) },
        scaled: null, timeoutS: q(90, 240),
      },
      {
        id: 'S4', title: q('Idle memory: 500 connections over 50 docs of ~50 KB (scaled from 2,000 / 200; 1 repeat)', 'Idle memory: 2,000 connections over 200 docs of ~50 KB'),
        targets: q(MEMORY, ALL),
        params: { docs: q(50, 200), connections: q(500, 2000), docKB: 50, settleS: q(0.7, 3), idleS: 11 },
        // Short run: one repeat (S11 measures per-connection RSS at a larger scale).
        repeats: q(1, undefined),
        scaled: q('500 connections over 50 docs instead of 2,000 over 200; 1 repeat', null), timeoutS: q(120, 300), inspect: true,
      },
      {
        id: 'S5', title: 'Cold load: a doc with 20,000 stored updates, server restarted, connect → full sync',
        targets: PERSISTENT,
        params: { updates: 20_000, batch: 2000, loads: q(2, 3) },
        // Short run: one write and two cold loads (two restarts) per target, not interleaved.
        repeats: q(1, undefined),
        scaled: null, timeoutS: q(120, 300),
      },
      {
        id: 'S6', title: 'Presence: 500 clients (10 docs × 50) sending cursor awareness at 1 Hz',
        targets: q(MEMORY, ALL),
        params: { clients: 500, docs: 10, rate: 1, warmupS: q(0.5, 3), measureS: q(2.5, 20) },
        scaled: null, timeoutS: q(90, 180),
      },
      {
        id: 'S7', title: q('Durable-ack latency (Skein only): 100 connections on 100 docs, 100 and 1,000 updates/s in total (1 repeat, 4 s windows)',
          'Durable-ack latency (Skein only): 100 connections on 100 docs, 100 and 1,000 updates/s in total'),
        targets: q(['skein-immediate', 'skein-debounced'], ['skein-memory', 'skein-immediate', 'skein-debounced']),
        params: { connections: 100, rates: [100, 1000], warmupS: q(1, 3), measureS: q(4, 15), diskS: q(2, 5) },
        repeats: q(1, undefined),
        scaled: q('1 repeat, 4 s windows', null), timeoutS: q(90, 180),
      },
      {
        id: 'S8', title: q('Connection setup: 2,000 connections (scaled from 20,000; 1 repeat), 50 in flight, each upgrade → sync step 1 → close, auth none / JWT HS256 / JWT ES256',
          'Connection setup: 20,000 connections, 50 in flight, each upgrade → sync step 1 → close, auth none / JWT HS256 / JWT ES256'),
        targets: SETUP,
        params: { connections: q(2000, 20_000), warmup: 1000, concurrency: 50, freshTokens: true, timeoutMs: 30_000 },
        repeats: q(1, undefined),
        scaled: q('2,000 connections instead of 20,000; 1 repeat', null), timeoutS: q(120, 600),
      },
      {
        id: 'C1', title: 'Cross-node fan-out: 2 nodes + Redis, 1 doc, 1 writer at 50 updates/s on node a, 50 readers on node b and 50 on node a',
        targets: CLUSTER,
        params: { readers: 50, rate: 50, warmupS: q(0.5, 3), measureS: q(2, 30) },
        scaled: null, timeoutS: q(60, 120),
      },
      {
        id: 'S9', title: q('Noisy neighbour: 1 client bursts 20,000 one-item updates (then 10 clients × 2,000 on 10 docs), a bystander probes another doc every 50 ms (1 repeat, no Skein debounced)',
          'Noisy neighbour: 1 client bursts 100,000 one-item updates (then 10 clients × 10,000 on 10 docs), a bystander probes another doc every 50 ms'),
        targets: q(NOISY_QUICK, NOISY),
        params: { updates: q(20_000, 100_000), sockets: 10, intervalMs: 50, idleS: q(2, 3), tailS: 1, readerTimeoutS: q(60, 180) },
        // The server's own event-loop delay during the burst (bench/lib/eld-preload.mjs).
        eld: true,
        repeats: q(1, undefined),
        scaled: q('1 repeat, without Skein debounced', null), timeoutS: q(180, 600),
      },
      {
        id: 'S10', title: q('Many observers: 1 doc, 1 writer at 50 updates/s, 500 readers (scaled from 1,500; 1 repeat, 2 s window)',
          'Many observers: 1 doc, 1 writer at 50 updates/s, 1,500 readers'),
        targets: MEMORY,
        params: { readers: q(500, 1500), rate: 50, warmupS: q(0.5, 2), measureS: q(2, 15) },
        repeats: q(1, undefined),
        scaled: q('500 readers instead of 1,500; 1 repeat', null), timeoutS: q(120, 300), fds: q(1000, 3200),
      },
      {
        id: 'S11', title: q('Idle connections at scale: 2,000 connections over 100 docs (scaled from 10,000; 1 repeat), held 2 s',
          'Idle connections at scale: 10,000 connections over 100 docs, held 20 s'),
        targets: MEMORY,
        params: { connections: q(2000, 10_000), docs: 100, concurrency: 100, settleS: q(0.5, 2), holdS: q(2, 20), keepaliveS: 20 },
        repeats: q(1, undefined),
        scaled: q('2,000 connections instead of 10,000; 1 repeat', null), timeoutS: q(180, 600), inspect: true, fds: q(4000, 12_000),
      },
      {
        id: 'S12', title: q('Large document: a ~20 MB document, 150 joiners at once (1 repeat; Skein, Hocuspocus 4, y-websocket)',
          'Large document: a ~20 MB document, 150 joiners at once'),
        targets: q(LARGE_QUICK, LARGE),
        params: { docMB: 20, joiners: 150, joinTimeoutS: q(90, 180) },
        repeats: q(1, undefined),
        scaled: q('1 repeat; Skein, Hocuspocus 4 and y-websocket only', null), timeoutS: q(300, 900),
      },
      {
        id: 'S13', title: q('Many documents per client: 10 clients × the same 100 docs, one socket per doc vs one per client (1 repeat)',
          'Many documents per client: 20 clients × the same 100 docs, one socket per doc vs one per client'),
        targets: MULTIPLEX,
        params: { clients: q(10, 20), docs: 100, settleS: q(0.5, 1), joinTimeoutS: 60 },
        repeats: q(1, undefined),
        scaled: q('10 clients instead of 20; 1 repeat', null), timeoutS: q(180, 400), inspect: true, fds: q(2500, 4500),
      },
      {
        id: 'S14', title: q('Storing a large document while it is edited: a ~20 MB document, 100 edits/s of ~5 KB for 8 s (1 repeat; Skein immediate, Hocuspocus 4 + SQLite, y-websocket + y-leveldb)',
          'Storing a large document while it is edited: a ~20 MB document, 100 edits/s of ~5 KB for 20 s'),
        targets: q(STORING_QUICK, STORING),
        params: { docMB: 20, rate: 100, editKB: 5, editS: q(8, 20), settleS: 2, tailS: 4, intervalMs: 50, compactionTimeoutS: 30 },
        // The server's own event-loop delay over the edits (bench/lib/eld-preload.mjs).
        eld: true,
        repeats: q(1, undefined),
        scaled: q('8 s of edits instead of 20; 1 repeat; without Skein debounced and Hocuspocus 3', null), timeoutS: q(300, 600),
      },
    ],
  };
}
