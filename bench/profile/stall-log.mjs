// Preload for a server process: logs its event-loop stalls and GC pauses, to line them up with
// a CPU profile of the same process (bench/profile/stalls.mjs).
//
//   SKEIN_BENCH_SERVER_NODE_ARGS="--import=$PWD/bench/profile/stall-log.mjs --cpu-prof --cpu-prof-dir=/tmp/prof" \
//     node bench/run.mjs --full --only S9 --targets skein-memory --repeats 1
//
// A 1 ms interval timer notes every gap longer than 4 ms between two of its ticks (a stall:
// one event-loop iteration that long, or the thread preempted); a PerformanceObserver notes
// every GC with its kind (1 minor, 4 major, 8 incremental, 16 weak callbacks). Times are
// `performance.now()` ms; an anchor pairs one such time with the monotonic clock in µs, which
// is the clock of V8's CPU profiles. At exit: STALL_LOG_DIR (default the OS temp dir) /
// stalls-<pid>.json = { anchor: [perfMs, monoUs], stalls: [[startMs, ms]…], gcs: [[startMs, ms, kind]…] }.
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const round = (/** @type {number} */ ms) => Math.round(ms * 10) / 10;
/** @type {number[][]} */
const gcs = [];
/** @type {number[][]} */
const stalls = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push([round(e.startTime), round(e.duration), /** @type {{kind?: number}} */ (e.detail)?.kind ?? 0]);
}).observe({ entryTypes: ['gc'] });
let last = performance.now();
setInterval(() => {
  const now = performance.now();
  if (now - last - 1 > 4) stalls.push([round(last), round(now - last - 1)]);
  last = now;
}, 1).unref();
const anchor = [performance.now(), Number(process.hrtime.bigint() / 1000n)];
process.on('exit', () => {
  writeFileSync(join(process.env.STALL_LOG_DIR ?? tmpdir(), `stalls-${process.pid}.json`), JSON.stringify({ anchor, stalls, gcs }));
});
