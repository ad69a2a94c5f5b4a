// Where a loaded document's heap goes: starts a Skein server in this process (memory store;
// the build in server/dist), takes a heap snapshot, lets a child process write S4's ~50 KB
// canvas document into each of `n` documents (one socket each, kept open), takes a second
// snapshot — at once (`live`: the documents hold their Y.Doc) or after they went dormant
// (`dormant`: --dormant-after-ms 300, then 1.5 s) — and prints the retained growth per document
// by V8 node type, and by what holds it (the retainer's type and the edge's name; heap-diff.mjs).
// KEEP_SNAPSHOTS=1 leaves the two snapshots in the temp directory. Run with --expose-gc:
//   node --expose-gc bench/profile/heap-per-document.mjs dormant 50
import { fork } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import { heapGrowth } from './heap-diff.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const mode = process.argv[2] ?? 'dormant';
const count = Number(process.argv[3] ?? 50);
if (mode !== 'live' && mode !== 'dormant') throw new Error('mode: live or dormant');
const gc = /** @type {(() => void) | undefined} */ (/** @type {any} */ (globalThis).gc);
if (gc === undefined) throw new Error('run with node --expose-gc');
const server = await import(pathToFileURL(path.join(here, '..', '..', 'server', 'dist', 'index.js')).href);
const srv = await server.startServer(
  { ...server.DEFAULT_CONFIG, host: '127.0.0.1', port: 0, storage: 'memory', logLevel: 'silent', dormantAfterMs: mode === 'dormant' ? 300 : 600_000 },
  { logger: server.silentLogger() },
);
const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));
const before = path.join(tmpdir(), `skein-heap-doc-${process.pid}-a.heapsnapshot`);
const after = path.join(tmpdir(), `skein-heap-doc-${process.pid}-b.heapsnapshot`);
gc();
v8.writeHeapSnapshot(before);
const child = fork(path.join(here, 'heap-doc-client.mjs'), [srv.url, String(count)]);
await new Promise((resolve) => child.once('message', resolve));
await sleep(mode === 'dormant' ? 1500 : 300);
gc();
v8.writeHeapSnapshot(after);
child.kill();
await srv.close();

const { total, lines } = heapGrowth(before, after, { units: count, unit: 'doc', bytes: (b) => `${(b / 1024).toFixed(1).padStart(7)} KB`, keep: process.env.KEEP_SNAPSHOTS === '1' });
process.stdout.write(`${mode}: ${count} documents of ~50 KB, ${(total / 1024).toFixed(0)} KB of new heap objects = ${(total / count / 1024).toFixed(1)} KB per document\n\n${lines.join('\n')}\n`);
process.exit(0);
