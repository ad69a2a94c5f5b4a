/* eslint-disable no-console -- a command-line benchmark: results go to the terminal */
// Event-loop delay during compaction, through the real engine (LogStore on LevelDB), merge
// on the event loop ("in place") vs in the compaction worker thread, same run, same data.
// Run after `pnpm build` (the worker is server/dist/persistence/compaction-worker.js):
//   node bench/storage/compaction-eld.mjs            short: a ~2 MB document
//   node bench/storage/compaction-eld.mjs --full     (or EXTENSIVE=1) a ~20 MB document
//   options: --mb <size> --rounds <n> (default 3) --json <file> --priority <nice> (default -10
//   when allowed, as bench/run.mjs: the machine is shared, and the figures are about what the
//   engine does on the event loop, not about the scheduler)
// Two compactions are measured per round, each on a fresh copy of the same store:
//   first:  the whole log (the document written as ~200 updates) → the first snapshot;
//   steady: the document's snapshot + 500 small edits → the next snapshot (the usual case).
// Event-loop delay: perf_hooks.monitorEventLoopDelay, resolution 1 ms, enabled just before
// `store.compact()` and disabled when it resolves (so it covers read, merge, write). An idle
// baseline (no compaction, same length as the worker compaction) shows what the machine
// itself adds: on a loaded 2-core machine the scheduler alone delays the loop by some ms.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, setPriority, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { openLevelStore } from '../../server/dist/persistence/index.js';
import { silentLogger } from '../../server/dist/index.js';

// The server's own Yjs (one instance in the process, whatever the bench folder has installed).
const requireFromServer = createRequire(new URL('../../server/package.json', import.meta.url));
const Y = await import(pathToFileURL(join(dirname(requireFromServer.resolve('yjs/package.json')), 'dist/yjs.mjs')).href);

const { values } = parseArgs({
  options: {
    full: { type: 'boolean' }, mb: { type: 'string' }, rounds: { type: 'string' }, json: { type: 'string' },
    priority: { type: 'string', default: '-10' },
  },
});
const priority = Number(values.priority);
let prioritized = false;
try {
  setPriority(priority); // before any thread is started: the worker inherits it
  prioritized = true;
} catch {
  // not allowed (not root): run at the default priority
}
const full = values.full === true || process.env.EXTENSIVE === '1';
const targetMb = Number(values.mb ?? (full ? 20 : 2));
const rounds = Number(values.rounds ?? 3);
const MODES = [
  { id: 'in-place', label: 'merge on the event loop', compaction: { enabled: false, offThreadMinBytes: Infinity } },
  { id: 'worker', label: 'merge in the worker thread', compaction: { enabled: false, offThreadMinBytes: 0 } },
];

/** A canvas-like document: shapes (Y.Map of JSON values) with some moved again, and a text. */
function buildUpdates(targetBytes) {
  const doc = new Y.Doc();
  doc.clientID = 1;
  const updates = [];
  doc.on('update', (u) => updates.push(u));
  const shapes = doc.getMap('shapes');
  const notes = doc.getText('notes');
  let n = 0;
  let size = 0;
  const perBatch = Math.max(50, Math.round(targetBytes / 200 / 200)); // ~200 updates in all
  while (size < targetBytes) {
    doc.transact(() => {
      for (let i = 0; i < perBatch; i++, n++) {
        shapes.set(`shape-${n}`, { kind: n % 3 === 0 ? 'rect' : 'ellipse', x: n % 1000, y: (n * 7) % 1000, w: 40, h: 30, fill: `#${(n * 2654435761 % 0xffffff).toString(16).padStart(6, '0')}`, label: `shape ${n} ${'·'.repeat(n % 40)}` });
      }
      for (let i = 0; i < perBatch / 10; i++) shapes.set(`shape-${(n * 13 + i) % n}`, { kind: 'rect', x: i, y: i, w: 1, h: 1, fill: '#000000', label: 'moved' });
      notes.insert(notes.length, `note ${n}: ${'lorem ipsum '.repeat(4)}\n`);
    });
    size = updates.reduce((s, u) => s + u.length, 0);
  }
  const logJson = canonical(doc);
  const before = updates.length;
  for (let i = 0; i < 500; i++) shapes.set(`shape-${(i * 97) % n}`, { kind: 'rect', x: i, y: i, w: 10, h: 10, fill: '#ff0000', label: `edit ${i}` });
  const edits = updates.splice(before);
  doc.destroy(); // only the bytes stay: the bench's own heap should not add GC pauses to the measurement
  return { log: updates, edits, shapes: n, logBytes: size, json: { first: logJson, steady: canonical(doc) } };
}

/** The shapes, in key order (a Y.Map's iteration order depends on how it was built). */
function canonical(doc) {
  return JSON.stringify(Object.entries(doc.getMap('shapes').toJSON()).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

async function writeStore(dir, updates, compactFirst) {
  const store = await openLevelStore({ dir, logger: silentLogger(), compaction: { enabled: false } });
  await Promise.all(updates.log.map((u) => store.append('doc', u)));
  if (compactFirst) {
    await store.compact('doc');
    await Promise.all(updates.edits.map((u) => store.append('doc', u)));
  }
  await store.close();
}

async function measure(template, mode, expectJson) {
  const dir = mkdtempSync(join(tmpdir(), 'skein-eld-'));
  try {
    cpSync(template, dir, { recursive: true });
    const store = await openLevelStore({ dir, logger: silentLogger(), compaction: mode.compaction });
    if (mode.id === 'worker') {
      // Start the worker outside the measurement (once per store, on its first compaction).
      const warm = new Y.Doc();
      warm.getMap('m').set('k', 1);
      await store.append('warm-up', Y.encodeStateAsUpdate(warm));
      await store.compact('warm-up');
    }
    const h = monitorEventLoopDelay({ resolution: 1 });
    const t0 = performance.now();
    h.enable();
    const report = await store.compact('doc');
    h.disable();
    const ms = performance.now() - t0;
    if (report.compacted !== 1) throw new Error(`nothing compacted in ${mode.id}`);
    const offThread = store.stats().compactionsOffThread - (mode.id === 'worker' ? 1 : 0);
    if ((offThread === 1) !== (mode.id === 'worker')) throw new Error(`${mode.id}: compactionsOffThread=${offThread}`);
    const doc = new Y.Doc();
    for (const part of await store.load('doc')) Y.applyUpdate(doc, part);
    if (canonical(doc) !== expectJson) throw new Error(`${mode.id}: the compacted document differs`);
    await store.close();
    const toMs = (ns) => ns / 1e6;
    return { ms, p50: toMs(h.percentile(50)), p99: toMs(h.percentile(99)), max: toMs(h.max), samples: h.count };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The loop's delay with nothing running, for `ms`: what the machine adds by itself. */
async function idle(ms) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await new Promise((resolve) => setTimeout(resolve, ms));
  h.disable();
  return { ms, p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6, samples: h.count };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`compaction event-loop delay: ~${targetMb} MB document, ${rounds} rounds, node ${process.version}, nice ${prioritized ? priority : 0}, load average ${loadavg()[0].toFixed(2)}`);
const t = performance.now();
const updates = buildUpdates(targetMb * 1024 * 1024);
console.log(`built ${updates.log.length} updates (${(updates.logBytes / 1048576).toFixed(1)} MB, ${updates.shapes} shapes) + ${updates.edits.length} edits in ${((performance.now() - t) / 1000).toFixed(1)} s`);
const templates = {};
const root = mkdtempSync(join(tmpdir(), 'skein-eld-templates-'));
const results = { first: {}, steady: {}, idle: [] };
try {
  for (const kind of ['first', 'steady']) {
    templates[kind] = join(root, kind);
    await writeStore(templates[kind], updates, kind === 'steady');
    for (const mode of MODES) results[kind][mode.id] = [];
  }
  for (let r = 0; r < rounds; r++) {
    for (const kind of ['first', 'steady']) {
      for (const mode of r % 2 === 0 ? MODES : [...MODES].reverse()) { // interleaved, alternating order
        results[kind][mode.id].push(await measure(templates[kind], mode, updates.json[kind]));
      }
      results.idle.push(await idle(results[kind].worker.at(-1).ms));
    }
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}

const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
console.log(`\n| compaction (~${targetMb} MB document; median of ${rounds}) | merge | compaction time | event-loop delay p50 | p99 | max |`);
console.log('|---|---|---|---|---|---|');
for (const [kind, label] of [['first', `first: ${updates.log.length}-update log → snapshot`], ['steady', 'steady: snapshot + 500 edits → snapshot']]) {
  for (const mode of MODES) {
    const xs = results[kind][mode.id];
    const m = (k) => fmt(median(xs.map((x) => x[k])));
    console.log(`| ${label} | ${mode.label} | ${m('ms')} ms | ${m('p50')} ms | ${m('p99')} ms | ${m('max')} ms (worst ${fmt(Math.max(...xs.map((x) => x.max)))}) |`);
  }
}
const xs = results.idle;
const m = (k) => fmt(median(xs.map((x) => x[k])));
console.log(`| idle baseline (no compaction, as long as the worker compactions) | — | ${m('ms')} ms | ${m('p50')} ms | ${m('p99')} ms | ${m('max')} ms (worst ${fmt(Math.max(...xs.map((x) => x.max)))}) |`);
const out = { targetMb, priority: prioritized ? priority : 0, loadAverage: loadavg(), rounds, node: process.version, logUpdates: updates.log.length, logBytes: updates.logBytes, shapes: updates.shapes, results };
if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(out, null, 2)}\n`);
