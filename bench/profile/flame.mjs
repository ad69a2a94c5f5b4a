#!/usr/bin/env node
// A flame graph (SVG) and a self-time table from a V8 `.cpuprofile` (node --cpu-prof).
//
//   node bench/profile/flame.mjs <in.cpuprofile> <out.svg> [--title "…"] [--top 25]
//
// Frames are merged by (function, file, line) along each stack, as flame graphs do; width =
// samples. (idle) and (program) are dropped so the graph shows where busy time goes; their
// share is in the subtitle. The table (stdout, markdown) lists self time by function.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

const [input, output, ...rest] = process.argv.slice(2);
if (input === undefined || output === undefined) {
  process.stderr.write('usage: flame.mjs <in.cpuprofile> <out.svg> [--title T] [--top N]\n');
  process.exit(2);
}
const opt = (name, fallback) => {
  const i = rest.indexOf(name);
  return i >= 0 && rest[i + 1] !== undefined ? rest[i + 1] : fallback;
};
const title = opt('--title', basename(input));
const top = Number(opt('--top', '25'));

/** @type {{nodes: {id: number, callFrame: {functionName: string, url: string, lineNumber: number}, children?: number[]}[], samples: number[], timeDeltas: number[]}} */
const profile = JSON.parse(readFileSync(input, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

/** Short file name: the package or the last two path parts. */
const where = (url) => {
  if (!url) return '';
  const pkg = url.match(/node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return pkg[1];
  const parts = url.replace(/^file:\/\//, '').split('/');
  return parts.slice(-2).join('/');
};
const label = (cf) => `${cf.functionName || '(anonymous)'}${cf.url ? ` ${where(cf.url)}:${cf.lineNumber + 1}` : ''}`;

// Sample counts per node (time-weighted: the delta after each sample).
const weight = new Map();
let idle = 0;
let program = 0;
let gc = 0;
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
  total += dt;
  const name = byId.get(id)?.callFrame.functionName;
  if (name === '(idle)') idle += dt;
  else if (name === '(program)') program += dt;
  else {
    if (name === '(garbage collector)') gc += dt;
    weight.set(id, (weight.get(id) ?? 0) + dt);
  }
});

// Merge stacks into a tree of labels.
/** @typedef {{name: string, value: number, self: number, children: Map<string, Frame>}} Frame */
/** @type {Frame} */
const root = { name: 'all', value: 0, self: 0, children: new Map() };
const selfByLabel = new Map();
for (const [id, w] of weight) {
  const stack = [];
  for (let n = id; n !== undefined; n = parent.get(n)) {
    const cf = byId.get(n).callFrame;
    if (cf.functionName === '(root)') break;
    stack.push(label(cf));
  }
  stack.reverse();
  let f = root;
  root.value += w;
  for (const name of stack) {
    let c = f.children.get(name);
    if (c === undefined) f.children.set(name, (c = { name, value: 0, self: 0, children: new Map() }));
    c.value += w;
    f = c;
  }
  f.self += w;
  const leaf = stack[stack.length - 1] ?? 'all';
  selfByLabel.set(leaf, (selfByLabel.get(leaf) ?? 0) + w);
}

// SVG: icicle layout drawn bottom-up (root at the bottom), as flame graphs are.
const width = 1200;
const rowH = 17;
const minPx = 0.6;
let depth = 0;
const rects = [];
const walk = (f, x, d) => {
  const w = (f.value / root.value) * width;
  if (w < minPx) return;
  depth = Math.max(depth, d);
  rects.push({ f, x, d, w });
  let cx = x;
  for (const c of [...f.children.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    walk(c, cx, d + 1);
    cx += (c.value / root.value) * width;
  }
};
walk(root, 0, 0);
const head = 54;
const height = head + (depth + 1) * rowH + 10;
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const hue = (name) => {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return name.includes('node_modules') || /yjs|lib0|ws |ws:|y-protocols/.test(name) ? 30 + (h % 25) : name.startsWith('(') ? 0 : 190 + (h % 40);
};
const ms = (us) => (us / 1000).toFixed(0);
const out = [];
out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="ui-monospace, monospace" font-size="11">`);
out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
out.push(`<text x="6" y="18" font-family="system-ui, sans-serif" font-size="15" font-weight="600">${esc(title)}</text>`);
out.push(`<text x="6" y="38" font-family="system-ui, sans-serif" font-size="11.5" fill="#5b6476">busy ${ms(root.value)} ms of ${ms(total)} ms sampled (idle ${ms(idle)}, (program) ${ms(program)}, of busy: GC ${ms(gc)}); width = time; hover for names</text>`);
for (const { f, x, d, w } of rects) {
  const y = height - 10 - (d + 1) * rowH;
  const pct = ((f.value / root.value) * 100).toFixed(1);
  out.push(`<g><title>${esc(f.name)} — ${ms(f.value)} ms, ${pct} %</title><rect x="${x.toFixed(1)}" y="${y}" width="${Math.max(0.5, w - 0.4).toFixed(1)}" height="${rowH - 1}" fill="hsl(${hue(f.name)},70%,${d === 0 ? 85 : 72}%)"/>`);
  if (w > 40) {
    const chars = Math.floor((w - 6) / 6.7);
    const text = f.name.length > chars ? `${f.name.slice(0, Math.max(0, chars - 1))}…` : f.name;
    out.push(`<text x="${(x + 3).toFixed(1)}" y="${y + 12}">${esc(text)}</text>`);
  }
  out.push('</g>');
}
out.push('</svg>');
writeFileSync(output, out.join('\n'));

const rows = [...selfByLabel.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
const table = ['| self time | % of busy | function |', '|---|---|---|'];
for (const [name, us] of rows) table.push(`| ${ms(us)} ms | ${((us / root.value) * 100).toFixed(1)} % | \`${name}\` |`);
process.stdout.write(`${table.join('\n')}\n`);
