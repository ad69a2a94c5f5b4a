#!/usr/bin/env node
/* eslint-disable no-console -- a command-line benchmark reports on stdout */
// Tracing overhead on a fan-out micro-benchmark: one `skein serve` process (the real CLI,
// built), one writer and READERS readers on one document; the writer sends UPDATES small
// updates (pipelined, WINDOW in flight) and the run ends when every reader has every update.
// Modes, alternated per round: `off` (the default: metrics on, tracing off), `traced`
// (tracing on, always_on sampler, OTLP/HTTP to a local sink), `sampled` (tracing on,
// parentbased_traceidratio 0.1), `bare` (metrics off too).
// Prints, per mode, the median server CPU time per update (read from /proc: robust when other
// work shares the machine) and the median throughput, and the ratios. Not part of `pnpm test`.
//
//   pnpm build && node test/observability/overhead.bench.mjs [--rounds 5] [--updates 4000] [--readers 20] [--storage memory|leveldb]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { decodeMessage, encodeSyncStep1, encodeSyncUpdate } from '@skein/protocol';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    updates: { type: 'string', default: '4000' },
    readers: { type: 'string', default: '20' },
    window: { type: 'string', default: '64' },
    storage: { type: 'string', default: 'memory' },
  },
});
const ROUNDS = Number(values.rounds);
const UPDATES = Number(values.updates);
const READERS = Number(values.readers);
const WINDOW = Number(values.window);
const CLI = new URL('../../server/dist/cli/main.js', import.meta.url).pathname;

/** An OTLP/HTTP sink: accepts and counts export requests. */
async function sink() {
  let spans = 0;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString());
        for (const rs of body.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) spans += ss.spans?.length ?? 0;
      } catch { /* count nothing */ }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, spans: () => spans, close: () => new Promise((r) => server.close(r)) };
}

function serve(mode, sinkUrl, dataDir) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('OTEL_')) delete env[k];
  const args = [CLI, 'serve', '--host', '127.0.0.1', '--port', '0', '--log-level', 'warn', '--storage', values.storage, '--data-dir', dataDir,
    '--max-buffered-bytes', String(256 * 1024 * 1024)];
  if (mode === 'traced') Object.assign(env, { OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl, OTEL_TRACES_SAMPLER: 'always_on' });
  if (mode === 'sampled') Object.assign(env, { OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' });
  if (mode === 'bare') args.push('--disable-metrics');
  // `listening` is logged at info: read the port from a debug-free info run.
  args[args.indexOf('--log-level') + 1] = 'info';
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'listening') resolve({ child, port: entry.port });
      } catch { /* not JSON */ }
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
}

/** CPU seconds (user + system) the process has used: robust to noisy neighbours, unlike wall time. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

function connect(port, doc) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/${doc}`, { perMessageDeflate: false });
  ws.binaryType = 'nodebuffer';
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function round(mode, sinkUrl) {
  const dataDir = mkdtempSync(join(tmpdir(), 'skein-overhead-'));
  const { child, port } = await serve(mode, sinkUrl, dataDir);
  const doc = `bench-${mode}-${Date.now()}`;
  const readers = await Promise.all(Array.from({ length: READERS }, () => connect(port, doc)));
  const writer = await connect(port, doc);
  let done = 0;
  let resolveAll;
  const all = new Promise((r) => (resolveAll = r));
  for (const r of readers) {
    let got = 0;
    r.on('message', (data) => {
      const m = decodeMessage(new Uint8Array(data));
      if (m.type === 'sync-update' && ++got === UPDATES && ++done === READERS) resolveAll();
    });
  }
  // The writer: acknowledged by its own echo-free stream, so pace on reader 0's progress.
  const ydoc = new Y.Doc();
  const frames = [];
  for (let i = 0; i < UPDATES; i++) {
    const before = Y.encodeStateVector(ydoc);
    ydoc.getMap('m').set(`k${i % 64}`, i);
    frames.push(encodeSyncUpdate(Y.encodeStateAsUpdate(ydoc, before)));
  }
  let firstGot = 0;
  readers[0].on('message', () => firstGot++);
  // Time from a settled sync round: every socket has its sync step 2 reply ([0, 1, …]).
  const step2 = (ws) =>
    new Promise((resolve) => {
      const on = (data) => {
        if (data[0] === 0 && data[1] === 1) {
          ws.off('message', on);
          resolve();
        }
      };
      ws.on('message', on);
    });
  const settled = Promise.all([writer, ...readers].map(step2));
  writer.send(encodeSyncStep1(new Uint8Array([0])));
  for (const r of readers) r.send(encodeSyncStep1(new Uint8Array([0])));
  await settled;
  firstGot = 0;
  const cpu0 = cpuSeconds(child.pid);
  const start = performance.now();
  let sent = 0;
  await new Promise((resolve) => {
    const pump = () => {
      while (sent < UPDATES && sent - firstGot < WINDOW) writer.send(frames[sent++]);
      if (sent >= UPDATES) return resolve();
      setImmediate(pump);
    };
    pump();
  });
  await all;
  const ms = performance.now() - start;
  const cpuMicros = ((cpuSeconds(child.pid) - cpu0) * 1e6) / UPDATES;
  for (const ws of [...readers, writer]) ws.terminate();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(dataDir, { recursive: true, force: true });
  return { rate: (UPDATES / ms) * 1000, cpu: cpuMicros };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const s = await sink();
const modes = ['off', 'traced', 'sampled', 'bare'];
const results = Object.fromEntries(modes.map((m) => [m, []]));
await round('off', s.url); // warm-up (file cache, JIT of the client)
for (let i = 0; i < ROUNDS; i++) {
  for (const mode of i % 2 === 0 ? modes : [...modes].reverse()) results[mode].push(await round(mode, s.url));
}
await s.close();
const rate = Object.fromEntries(modes.map((m) => [m, median(results[m].map((r) => r.rate))]));
const cpu = Object.fromEntries(modes.map((m) => [m, median(results[m].map((r) => r.cpu))]));
console.log(`fan-out: ${UPDATES} updates x ${READERS} readers, storage ${values.storage}, ${ROUNDS} rounds (medians)`);
console.log('  mode     server CPU per update   throughput (wall clock, noisy on a shared machine)');
for (const m of modes) {
  console.log(`  ${m.padEnd(7)}  ${cpu[m].toFixed(1).padStart(7)} µs              ${rate[m].toFixed(0).padStart(6)} updates/s   cpu runs: ${results[m].map((r) => r.cpu.toFixed(0)).join(', ')}`);
}
const pct = (a, b) => `${((a / b - 1) * 100).toFixed(1)} %`;
console.log(`  tracing on (always_on) vs off: CPU x${(cpu.traced / cpu.off).toFixed(2)} (+${pct(cpu.traced, cpu.off)}), throughput x${(rate.traced / rate.off).toFixed(2)}`);
console.log(`  tracing sampled 10 % vs off:   CPU x${(cpu.sampled / cpu.off).toFixed(2)} (+${pct(cpu.sampled, cpu.off)}), throughput x${(rate.sampled / rate.off).toFixed(2)}`);
console.log(`  metrics on vs off (bare):      CPU x${(cpu.off / cpu.bare).toFixed(2)} (+${pct(cpu.off, cpu.bare)}), throughput x${(rate.off / rate.bare).toFixed(2)}`);
console.log(`  spans exported: ${s.spans()}`);
