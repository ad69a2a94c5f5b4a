// The store's write path alone, S2-like: DOCS documents, each append one small Yjs update (one
// client per document setting a map key), all documents once per round, each round awaited.
// Prints µs of main-thread (event loop) time, wall time and CPU time of all threads per append, and the scavenges and mark-compacts it caused.
//   node bench/profile/store-append.mjs [memory|immediate] [docs] [rounds]
//   STORE_DIST=<other checkout>/server/dist node bench/profile/store-append.mjs …   (another build, its dependencies installed)
// (`immediate`: LevelDB in a temp dir, synced writes; run it on the disk the server would use.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
// STORE_DIST: another build's server/dist (an A/B against this one).
const dist = process.env.STORE_DIST ?? path.join(here, '..', '..', 'server', 'dist');
const { createMemoryStore, openLevelStore } = await import(path.join(dist, 'persistence', 'index.js'));
const { silentLogger } = await import(path.join(dist, 'logging', 'logger.js'));
// The server's own copy of Yjs (one copy in the process).
const Y = await import(pathToFileURL(createRequire(path.join(here, '..', '..', 'server', 'package.json')).resolve('yjs').replace(/\.cjs$/, '.mjs')).href);
const kind = process.argv[2] ?? 'memory';
const docs = Number(process.argv[3] ?? 250);
const rounds = Number(process.argv[4] ?? 400);

// The updates first (not timed): what the edit path hands the store, with their end clocks.
/** @type {{ bytes: Uint8Array, clocks: Map<number, number> }[][]} */
const byRound = Array.from({ length: rounds }, () => []);
for (let d = 0; d < docs; d++) {
  const doc = new Y.Doc();
  const map = doc.getMap('shapes');
  /** @type {Uint8Array[]} */
  const out = [];
  doc.on('update', (/** @type {Uint8Array} */ u) => out.push(u));
  for (let r = 0; r < rounds; r++) {
    map.set(`shape-${r % 20}`, { x: r, y: d, w: 120, h: 80, fill: '#4f46e5' });
    byRound[r].push({ bytes: out[r], clocks: Y.parseUpdateMeta(out[r]).to });
  }
}

const dir = kind === 'memory' ? undefined : mkdtempSync(path.join(tmpdir(), 'skein-store-append-'));
const logger = silentLogger();
const store = kind === 'memory' ? createMemoryStore({ logger }) : await openLevelStore({ dir, logger, rules: '*=immediate' });
const names = Array.from({ length: docs }, (_, d) => `board-${d}`);
const gcs = { minor: 0, major: 0, ms: 0 };
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const k = /** @type {any} */ (e).detail?.kind ?? /** @type {any} */ (e).kind;
    if (k === constants.NODE_PERFORMANCE_GC_MINOR) gcs.minor++;
    else if (k === constants.NODE_PERFORMANCE_GC_MAJOR) gcs.major++;
    gcs.ms += e.duration;
  }
});
const measureFrom = Math.floor(rounds / 4);
let cpu0 = process.cpuUsage();
let t0 = performance.now();
let elu0 = performance.eventLoopUtilization();
for (let r = 0; r < rounds; r++) {
  if (r === measureFrom) {
    obs.observe({ entryTypes: ['gc'] });
    // For a CPU profile's window (node --cpu-prof): where the measured part starts.
    if (process.env.STORE_APPEND_MARK === '1') process.stderr.write(`measuring from ${(performance.now() / 1000).toFixed(2)} s\n`);
    cpu0 = process.cpuUsage();
    elu0 = performance.eventLoopUtilization();
    t0 = performance.now();
  }
  const round = byRound[r];
  await Promise.all(round.map((u, d) => store.append(names[d], u.bytes, { clocks: u.clocks })));
  // Each round in its own turn, as a server's reads are (and the GC observer gets its turn).
  await new Promise((resolve) => setImmediate(resolve));
}
const wall = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const busy = performance.eventLoopUtilization(elu0).active;
obs.disconnect();
const n = (rounds - measureFrom) * docs;
await store.close();
if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
process.stdout.write(`${kind}: ${n} appends over ${docs} docs: ${(1000 * busy / n).toFixed(2)} µs main thread, ${(1000 * wall / n).toFixed(2)} µs wall, ` +
  `${((cpu.user + cpu.system) / n).toFixed(2)} µs CPU (all threads) per append; ` +
  `${gcs.minor} scavenges, ${gcs.major} mark-compacts, ${gcs.ms.toFixed(0)} ms in GC\n`);
