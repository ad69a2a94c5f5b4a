/* eslint-disable no-console -- a command-line benchmark: results go to the terminal */
// Storage-layer comparison, one process, same machine, same run: Skein's LogStore vs
// y-leveldb (the store of the y-websocket reference server). Run after `pnpm build`:
//   node bench/storage/store-vs-y-leveldb.mjs [updates=20000] [rounds=3]
// Write throughput: N small Yjs updates written as fast as each store accepts them
// (Skein: immediate = synced + group commit, and debounced; y-leveldb: its storeUpdate, which
// never syncs to disk). Cold load: reopen the store and build the Y.Doc of a document written
// with N updates (Skein: as stored after the write, and after its compaction).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as Y from 'yjs';
import { LeveldbPersistence } from 'y-leveldb';
import { openLevelStore } from '../../server/dist/persistence/index.js';
import { silentLogger } from '../../server/dist/index.js';

const N = Number(process.argv[2] ?? 20000);
const ROUNDS = Number(process.argv[3] ?? 3);

function makeUpdates(n) {
  const doc = new Y.Doc();
  const updates = [];
  doc.on('update', (u) => updates.push(u));
  for (let i = 0; i < n; i++) doc.getMap('shapes').set(`s${i % 500}`, { x: i, y: i * 2, kind: 'rect' });
  return { updates, json: JSON.stringify(doc.getMap('shapes').toJSON()) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function skein(rules, updates, json) {
  const dir = mkdtempSync(join(tmpdir(), 'skein-bench-'));
  try {
    let store = await openLevelStore({ dir, logger: silentLogger(), rules });
    const t0 = performance.now();
    await Promise.all(updates.map((u) => store.append('doc', u)));
    const write = performance.now() - t0;
    await store.close();
    const load = async () => {
      store = await openLevelStore({ dir, logger: silentLogger(), rules });
      const t = performance.now();
      const doc = new Y.Doc();
      const parts = await store.load('doc');
      Y.transact(doc, () => parts.forEach((p) => Y.applyUpdate(doc, p)));
      const ms = performance.now() - t;
      if (JSON.stringify(doc.getMap('shapes').toJSON()) !== json) throw new Error('Skein loaded a different document');
      await store.compact('doc'); // waits for the post-load compaction in the document queue
      await store.close();
      return ms;
    };
    const cold = await load();
    const compacted = await load();
    return { write, cold, compacted };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function yLeveldb(updates, json) {
  const dir = mkdtempSync(join(tmpdir(), 'yldb-bench-'));
  try {
    let ldb = new LeveldbPersistence(dir);
    const t0 = performance.now();
    // y-leveldb serializes writes through its own transaction queue; issue them all at once.
    await Promise.all(updates.map((u) => ldb.storeUpdate('doc', u)));
    const write = performance.now() - t0;
    await ldb.destroy();
    ldb = new LeveldbPersistence(dir);
    const t = performance.now();
    const doc = await ldb.getYDoc('doc');
    const cold = performance.now() - t;
    if (JSON.stringify(doc.getMap('shapes').toJSON()) !== json) throw new Error('y-leveldb loaded a different document');
    await ldb.destroy();
    return { write, cold };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const { updates, json } = makeUpdates(N);
const rows = { immediate: [], debounced: [], yleveldb: [] };
for (let r = 0; r < ROUNDS; r++) {
  // Interleaved: A B C A B C …
  rows.immediate.push(await skein('*=immediate', updates, json));
  rows.debounced.push(await skein('*=debounced:50:200', updates, json));
  rows.yleveldb.push(await yLeveldb(updates, json));
}
const fmt = (ms) => `${ms.toFixed(1)} ms`;
const rate = (ms) => `${Math.round(N / (ms / 1000)).toLocaleString('en-US')}/s`;
console.log(`| store (${N.toLocaleString('en-US')} updates, median of ${ROUNDS}) | write throughput | durable at ack | cold load | load after compaction |`);
console.log('|---|---|---|---|---|');
for (const [name, label, durable] of [
  ['immediate', 'Skein LogStore, immediate', 'yes (synced, group commit)'],
  ['debounced', 'Skein LogStore, debounced 50/200 ms', 'yes (synced batch)'],
  ['yleveldb', 'y-leveldb 0.1.2', 'no (never syncs)'],
]) {
  const xs = rows[name];
  const w = median(xs.map((x) => x.write));
  const c = median(xs.map((x) => x.cold));
  const k = xs[0].compacted === undefined ? '—' : fmt(median(xs.map((x) => x.compacted)));
  console.log(`| ${label} | ${rate(w)} | ${durable} | ${fmt(c)} | ${k} |`);
}
