// Where a document connection's heap goes: starts a Skein server in this process (memory
// store; the build in server/dist), loads 20 documents, takes a heap snapshot, lets a child
// process open `n` more document connections (`mux`: channels of one skein-mux.v1 socket;
// `sockets`: one socket each), takes a second snapshot and prints the retained growth per
// connection by V8 node type and constructor (self sizes of objects new in the second
// snapshot), and by what holds them (bench/profile/heap-diff.mjs). Run with --expose-gc:
//   node --expose-gc bench/profile/heap-per-connection.mjs mux 1000
import { fork } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import { heapGrowth } from './heap-diff.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const mode = process.argv[2] ?? 'mux';
const count = Number(process.argv[3] ?? 1000);
const gc = /** @type {(() => void) | undefined} */ (/** @type {any} */ (globalThis).gc);
if (gc === undefined) throw new Error('run with node --expose-gc');
const server = await import(pathToFileURL(path.join(here, '..', '..', 'server', 'dist', 'index.js')).href);
// One channel per connection: allow as many channels as connections.
const srv = await server.startServer(
  { ...server.DEFAULT_CONFIG, host: '127.0.0.1', port: 0, storage: 'memory', logLevel: 'silent', muxMaxChannels: Math.max(count, 1) },
  { logger: server.silentLogger() },
);
const client = path.join(here, 'heap-client.mjs');
/** @param {string[]} args */
async function open(args) {
  const child = fork(client, args);
  await new Promise((resolve) => child.once('message', resolve));
  return child;
}
const warm = await open([srv.url, '20', 'sockets']);
const before = path.join(tmpdir(), `skein-heap-${process.pid}-a.heapsnapshot`);
const after = path.join(tmpdir(), `skein-heap-${process.pid}-b.heapsnapshot`);
gc();
v8.writeHeapSnapshot(before);
const child = await open([srv.url, String(count), mode]);
await new Promise((resolve) => setTimeout(resolve, 500));
gc();
v8.writeHeapSnapshot(after);
child.kill();
warm.kill();
await srv.close();

const { total, lines } = heapGrowth(before, after, { units: count, unit: 'connection', bytes: (b) => `${b.toFixed(0).padStart(6)} B` });
process.stdout.write(`${mode}: ${count} document connections, ${(total / 1024).toFixed(0)} KB of new heap objects = ${(total / count).toFixed(0)} B per connection\n\n${lines.join('\n')}\n`);
process.exit(0);
