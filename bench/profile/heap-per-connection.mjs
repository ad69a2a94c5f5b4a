// Where a document connection's heap goes: starts a Skein server in this process (memory
// store; the build in server/dist), loads 20 documents, takes a heap snapshot, lets a child
// process open `n` more document connections (`mux`: channels of one skein-mux.v1 socket;
// `sockets`: one socket each), takes a second snapshot and prints the retained growth per
// connection by V8 node type and constructor (self sizes of objects new in the second
// snapshot). Run with --expose-gc:
//   node --expose-gc bench/profile/heap-per-connection.mjs mux 1000
import { fork } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';

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

/** @param {string} file @returns {{ids: Set<number>, nodes: {key: string, id: number, size: number}[]}} */
function read(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const fields = snap.snapshot.meta.node_fields.length;
  const types = snap.snapshot.meta.node_types[0];
  const ids = new Set();
  const nodes = [];
  for (let i = 0; i < snap.nodes.length; i += fields) {
    const type = types[snap.nodes[i]];
    const name = type === 'string' || type === 'concatenated string' ? '' : snap.strings[snap.nodes[i + 1]];
    ids.add(snap.nodes[i + 2]);
    nodes.push({ key: `${type}:${name}`, id: snap.nodes[i + 2], size: snap.nodes[i + 3] });
  }
  return { ids, nodes };
}
const a = read(before);
const b = read(after);
rmSync(before);
rmSync(after);
/** @type {Map<string, {count: number, size: number}>} */
const growth = new Map();
let total = 0;
for (const n of b.nodes) {
  if (a.ids.has(n.id)) continue;
  const g = growth.get(n.key) ?? { count: 0, size: 0 };
  g.count++;
  g.size += n.size;
  growth.set(n.key, g);
  total += n.size;
}
const out = [`${mode}: ${count} document connections, ${(total / 1024).toFixed(0)} KB of new heap objects = ${(total / count).toFixed(0)} B per connection`];
for (const [key, g] of [...growth].sort((x, y) => y[1].size - x[1].size).slice(0, 25)) {
  out.push(`${(g.size / count).toFixed(0).padStart(6)} B  ${(g.count / count).toFixed(2).padStart(6)} per connection  ${key}`);
}
process.stdout.write(`${out.join('\n')}\n`);
process.exit(0);
