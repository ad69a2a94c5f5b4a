// What is new in a heap snapshot against an earlier one of the same process (V8 keeps node ids
// stable between snapshots): the new objects' self sizes per unit (connection, document), by
// V8 node type and name, and by what holds them (the retainer's type and the edge's name; an
// object held by two is listed under each). Used by heap-per-connection.mjs and
// heap-per-document.mjs.
import { readFileSync, rmSync } from 'node:fs';

/** @param {string} file @param {boolean} keep */
function load(file, keep) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  if (!keep) rmSync(file);
  return snap;
}

/**
 * @param {string} beforeFile @param {string} afterFile
 * @param {{units: number, unit: string, bytes: (b: number) => string, top?: number, keep?: boolean}} o
 * @returns {{total: number, lines: string[]}}
 */
export function heapGrowth(beforeFile, afterFile, o) {
  const a = load(beforeFile, o.keep === true);
  const oldIds = new Set();
  {
    const f = a.snapshot.meta.node_fields.length;
    for (let i = 0; i < a.nodes.length; i += f) oldIds.add(a.nodes[i + 2]);
  }
  const b = load(afterFile, o.keep === true);
  const meta = b.snapshot.meta;
  const NF = meta.node_fields.length;
  const EF = meta.edge_fields.length;
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const N = b.nodes.length / NF;
  /** @param {number} i */
  const nameOf = (i) => {
    const type = nodeTypes[b.nodes[i * NF]];
    return type === 'string' || type === 'concatenated string' || type === 'sliced string' ? type : `${type}:${b.strings[b.nodes[i * NF + 1]]}`;
  };
  const isNew = (/** @type {number} */ i) => !oldIds.has(b.nodes[i * NF + 2]);
  /** @type {Map<string, {count: number, size: number}>} */
  const byType = new Map();
  /** @type {Map<string, {count: number, size: number}>} */
  const byHolder = new Map();
  const add = (/** @type {Map<string, {count: number, size: number}>} */ map, /** @type {string} */ key, /** @type {number} */ size) => {
    const g = map.get(key) ?? { count: 0, size: 0 };
    g.count++;
    g.size += size;
    map.set(key, g);
  };
  let total = 0;
  let edge = 0;
  for (let i = 0; i < N; i++) {
    if (isNew(i)) {
      total += b.nodes[i * NF + 3];
      add(byType, nameOf(i).slice(0, 60), b.nodes[i * NF + 3]);
    }
    const edges = b.nodes[i * NF + 4];
    for (let e = 0; e < edges; e++, edge += EF) {
      const type = edgeTypes[b.edges[edge]];
      if (type === 'weak' || type === 'shortcut') continue;
      const to = b.edges[edge + 2] / NF;
      if (!isNew(to)) continue;
      const label = type === 'element' || type === 'hidden' ? `[${type}]` : String(b.strings[b.edges[edge + 1]]);
      add(byHolder, `${nameOf(to).slice(0, 40)} <- ${nameOf(i).slice(0, 40)}.${label.slice(0, 30)}`, b.nodes[to * NF + 3]);
    }
  }
  const top = o.top ?? 25;
  const row = (/** @type {[string, {count: number, size: number}]} */ [key, g]) =>
    `${o.bytes(g.size / o.units)}  ${(g.count / o.units).toFixed(2).padStart(8)} per ${o.unit}  ${key}`;
  const lines = ['by type:', ...[...byType].sort((x, y) => y[1].size - x[1].size).slice(0, top).map(row), '',
    'by holder (an object held by two is listed under each):', ...[...byHolder].sort((x, y) => y[1].size - x[1].size).slice(0, top).map(row)];
  return { total, lines };
}
