// RSS at start, measured like bench S4's baseline: start a process with the inspector, force
// two full GCs through it (HeapProfiler.collectGarbage), then read VmRSS and the V8 heap.
//   node bench/profile/start-rss.mjs skein    # `skein serve --storage memory` (server/dist)
//   node bench/profile/start-rss.mjs floor    # only the libraries Skein cannot start without
//   FLOOR_WITHOUT=zod,otel node bench/profile/start-rss.mjs floor   # …minus zod and/or OpenTelemetry
//   node bench/profile/start-rss.mjs idle     # an idle Node process
// `floor` (rss-floor.mjs) loads yjs, y-protocols, ws on an HTTP server, zod, pino and the
// OpenTelemetry metrics SDK with its Prometheus exporter, and uses each once.
import { spawn } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, '..', '..', 'server', 'dist');
const what = process.argv[2] ?? 'skein';
const floor = path.join(dist, 'rss-floor.tmp.mjs');
if (what === 'floor') copyFileSync(path.join(here, 'rss-floor.mjs'), floor);
const args = {
  skein: [path.join(dist, 'cli', 'main.js'), 'serve', '--host', '127.0.0.1', '--port', '0', '--log-level', 'warn', '--storage', 'memory'],
  floor: [floor],
  idle: ['-e', 'setInterval(() => {}, 1000)'],
}[what];
if (args === undefined) throw new Error(`unknown target ${what}: skein, floor or idle`);
const port = 9300 + Math.floor(Math.random() * 600);
const child = spawn(process.execPath, [`--inspect=127.0.0.1:${port}`, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
try {
  await new Promise((r) => setTimeout(r, 2500));
  const list = await fetch(`http://127.0.0.1:${port}/json/list`).then((r) => r.json());
  const ws = new WebSocket(list[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let id = 0;
  /** @param {string} method @param {object} [params] @returns {Promise<any>} */
  const call = (method, params = {}) => new Promise((resolve) => {
    const mine = ++id;
    const on = (/** @type {Buffer} */ data) => {
      const msg = JSON.parse(data.toString());
      if (msg.id === mine) {
        ws.off('message', on);
        resolve(msg);
      }
    };
    ws.on('message', on);
    ws.send(JSON.stringify({ id: mine, method, params }));
  });
  await call('HeapProfiler.collectGarbage');
  await call('HeapProfiler.collectGarbage');
  const usage = await call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true });
  ws.close();
  await new Promise((r) => setTimeout(r, 200));
  const rssKB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]);
  const m = JSON.parse(usage.result.result.value);
  const mb = (/** @type {number} */ b) => Math.round((b / 1048576) * 10) / 10;
  process.stdout.write(`${what}: RSS ${mb(rssKB * 1024)} MB, heap used ${mb(m.heapUsed)} MB, external ${mb(m.external)} MB\n`);
} finally {
  child.kill('SIGKILL');
  if (what === 'floor') rmSync(floor, { force: true });
}
