#!/usr/bin/env node
// What ran during each event-loop stall: the stalls logged by bench/profile/stall-log.mjs,
// matched by time with a CPU profile (node --cpu-prof) of the same process.
//
//   node bench/profile/stalls.mjs <stalls-PID.json> <CPU.….PID.….cpuprofile> [--min 15] [--after 2000] [--top 30]
//
// For each stall of at least --min ms starting --after ms or later (performance.now() of the
// process: skips the start-up), prints the GCs in it, then the frames by self time and by
// inclusive time over the profile's samples inside it.
import { readFileSync } from 'node:fs';

const [logFile, profFile, ...rest] = process.argv.slice(2);
if (logFile === undefined || profFile === undefined) {
  process.stderr.write('usage: stalls.mjs <stalls.json> <in.cpuprofile> [--min ms] [--after ms] [--top n]\n');
  process.exit(2);
}
const opt = (/** @type {string} */ name, /** @type {number} */ fallback) => {
  const i = rest.indexOf(name);
  return i >= 0 && rest[i + 1] !== undefined ? Number(rest[i + 1]) : fallback;
};
const min = opt('--min', 15);
const after = opt('--after', 2000);
const top = opt('--top', 30);

/** @type {{anchor: [number, number], stalls: number[][], gcs: number[][]}} */
const log = JSON.parse(readFileSync(logFile, 'utf8'));
/** @type {{nodes: {id: number, callFrame: {functionName: string, url: string, lineNumber: number}, children?: number[]}[], samples: number[], timeDeltas: number[], startTime: number, endTime: number}} */
const prof = JSON.parse(readFileSync(profFile, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
/** @type {Map<number, number>} */
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const name = (/** @type {number} */ id) => {
  const f = byId.get(id)?.callFrame;
  return f === undefined ? '?' : `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
};
/** @type {number[]} */
const at = [];
let t = prof.startTime;
for (const dt of prof.timeDeltas) at.push((t += dt));

const [perfMs, monoUs] = log.anchor;
const out = (/** @type {string} */ s) => process.stdout.write(`${s}\n`);
for (const [start, ms] of log.stalls) {
  if (ms < min || start < after) continue;
  const from = monoUs + (start - perfMs) * 1000;
  const to = from + (ms + 1) * 1000;
  if (from < prof.startTime || from > prof.endTime) continue;
  /** @type {Map<string, number>} */
  const self = new Map();
  /** @type {Map<string, number>} */
  const incl = new Map();
  let profiled = 0;
  for (let i = 0; i < at.length; i++) {
    const ti = /** @type {number} */ (at[i]);
    if (ti < from || ti > to) continue;
    const dt = (at[i + 1] ?? ti) - ti;
    profiled += dt;
    const id = /** @type {number} */ (prof.samples[i]);
    self.set(name(id), (self.get(name(id)) ?? 0) + dt);
    const seen = new Set();
    for (let x = /** @type {number | undefined} */ (id); x !== undefined; x = parent.get(x)) {
      const nm = name(x);
      if (!seen.has(nm)) {
        seen.add(nm);
        incl.set(nm, (incl.get(nm) ?? 0) + dt);
      }
    }
  }
  const gcsIn = log.gcs.filter(([s]) => s !== undefined && s >= start && s <= start + ms).map(([, d, k]) => `${d} ms (kind ${k})`);
  const list = (/** @type {Map<string, number>} */ m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => `    ${(v / 1000).toFixed(1).padStart(6)} ${k}`).join('\n');
  out(`\nstall at ${start.toFixed(0)} ms: ${ms} ms (${(profiled / 1000).toFixed(1)} ms profiled); GC: ${gcsIn.join(', ') || 'none'}`);
  out(`  self:\n${list(self)}`);
  out(`  inclusive:\n${list(incl)}`);
}
