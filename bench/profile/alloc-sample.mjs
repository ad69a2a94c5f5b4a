// Preload for a server process: samples what it allocates, including the objects the garbage
// collector has already freed (what makes scavenges frequent), and writes a V8 heap profile at
// exit; `node bench/profile/alloc-sample.mjs report <file>` prints where the bytes came from.
//
//   ALLOC_DIR=/tmp/alloc SKEIN_BENCH_SERVER_NODE_ARGS="--import=$PWD/bench/profile/alloc-sample.mjs" \
//     node bench/run.mjs --full --only S7 --targets skein-immediate --repeats 1
//   node bench/profile/alloc-sample.mjs report /tmp/alloc/alloc-<pid>.heapprofile
//
// The report lists functions by the bytes allocated in them (self) and by the bytes allocated
// while they were on the stack (total), both as shares of all sampled bytes. ALLOC_INTERVAL is
// the sampling interval in bytes (default 4096; V8's default is 32768).
import { Session } from 'node:inspector';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argv } from 'node:process';

/** @typedef {{ callFrame: { functionName: string, url: string, lineNumber: number }, selfSize: number, children: HeapNode[] }} HeapNode */

if (argv[2] === 'report') report(argv[3] ?? '', Number(argv[4] ?? 25));
else start();

function start() {
  const dir = process.env.ALLOC_DIR ?? tmpdir();
  mkdirSync(dir, { recursive: true });
  const session = new Session();
  session.connect();
  const interval = Number(process.env.ALLOC_INTERVAL ?? 4096);
  session.post('HeapProfiler.startSampling', {
    samplingInterval: interval,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  // The profile is taken on the signal the bench stops its servers with, before the exit.
  const stop = () => {
    session.post('HeapProfiler.stopSampling', (err, res) => {
      if (err === null) writeFileSync(join(dir, `alloc-${process.pid}.heapprofile`), JSON.stringify(res.profile));
      process.exit(0);
    });
  };
  process.prependOnceListener('SIGTERM', stop);
  process.prependOnceListener('SIGINT', stop);
}

/** @param {string} file @param {number} top */
function report(file, top) {
  /** @type {{ head: HeapNode }} */
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  /** @type {Map<string, { self: number, total: number }>} */
  const byFn = new Map();
  let all = 0;
  /** @param {HeapNode} n */
  const label = (n) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?)?/, '')}:${n.callFrame.lineNumber + 1}`;
  /** @param {HeapNode} n @param {Set<string>} onStack @returns {number} */
  const walk = (n, onStack) => {
    const key = label(n);
    const fresh = !onStack.has(key);
    if (fresh) onStack.add(key);
    let sub = n.selfSize;
    for (const c of n.children) sub += walk(c, onStack);
    if (fresh) onStack.delete(key);
    const e = byFn.get(key) ?? { self: 0, total: 0 };
    e.self += n.selfSize;
    if (fresh) e.total += sub;
    byFn.set(key, e);
    return sub;
  };
  all = walk(profile.head, new Set());
  const pct = (/** @type {number} */ b) => `${((b / all) * 100).toFixed(1).padStart(5)} %`;
  const rows = [...byFn.entries()];
  const out = [`sampled ${(all / 1048576).toFixed(1)} MB`, '', 'self:'];
  for (const [k, e] of rows.sort((a, b) => b[1].self - a[1].self).slice(0, top)) out.push(`${pct(e.self)}  ${k}`);
  out.push('', 'total (on the stack):');
  for (const [k, e] of rows.sort((a, b) => b[1].total - a[1].total).slice(0, top * 2)) out.push(`${pct(e.total)}  ${k}`);
  process.stdout.write(`${out.join('\n')}\n`);
}
