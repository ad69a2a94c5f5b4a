// Issue 15's goals, judged on one run: each row compares a Skein figure with a threshold —
// a multiple of the best peer *of the same run* (every Hocuspocus major and the y-websocket
// server; see figures.mjs bestPeer), a multiple of another Skein figure, or a fixed number —
// and shows Skein ÷ best peer beside it whatever the threshold's kind.
import { bestPeer, cell, fmt, ratio, fmtRatio } from './figures.mjs';

/** A metric range scaled by a factor (for "0.6× best peer", "2× in memory", …). */
const scaled = (m, f) => ({ median: m.median * f, min: m.min * f, max: m.max * f });
const fixed = (v) => ({ median: v, min: v, max: v });

/**
 * @typedef {object} GoalRow
 * @property {string} goal
 * @property {string} value      Skein's figure (median, min–max), or why it is missing
 * @property {string} threshold  what it is compared with
 * @property {boolean|null} met  null: not measured
 * @property {boolean} clear     Skein's whole min–max range is on one side of the threshold's
 * @property {string} peer       the best peer of the same run and its figure
 * @property {string} vsPeer     Skein ÷ best peer
 */

/**
 * @typedef {object} GoalSpec
 * @property {string} goal
 * @property {string} scenario
 * @property {string} skein          Skein target id
 * @property {string} key            metric key
 * @property {'lower'|'higher'} better
 * @property {string} unit
 * @property {{peer: number} | {self: {skein: string, factor: number, label: string}} | {fixed: number}} threshold
 * @property {'peer'|'relay'|'disk'} [against]  compare with the raw relay, or with the disk's own
 *   fdatasync measured in the same run (`diskKey` of the same Skein result), instead of the best peer
 * @property {string} [diskKey]
 */

/**
 * Every goal of issue 15, in its order; goals no scenario of `pnpm bench` measures are listed
 * as such.
 * @returns {GoalRow[]}
 */
export function goals(report, agg) {
  const label = (id) => report.targets.find((t) => t.id === id)?.label ?? id;
  const scen = (id) => report.scenarios.find((s) => s.id === id);
  /** ", scaled: …" for a scenario run below the size. */
  const scaledNote = (id) => (scen(id)?.scaled ? ` *(short run: ${scen(id).scaled})*` : '');
  /** @type {GoalRow[]} */
  const rows = [];

  /** @param {GoalSpec} g */
  const row = (g) => {
    const a = agg[g.scenario]?.[g.skein];
    const goal = `${g.goal}${scaledNote(g.scenario)}`;
    const persistent = report.targets.find((t) => t.id === g.skein)?.persistent ?? false;
    const disk = g.against === 'disk' && a?.status === 'ok' && g.diskKey !== undefined ? a.metrics[g.diskKey] : undefined;
    const peer = g.against === 'relay'
      ? (agg[g.scenario]?.['raw-relay']?.status === 'ok' && agg[g.scenario]['raw-relay'].metrics[g.key] ? { id: 'raw-relay', m: agg[g.scenario]['raw-relay'].metrics[g.key], sameClass: true } : null)
      : g.against === 'disk'
        ? (disk ? { id: 'the disk’s own fdatasync p99, no server', m: disk, sameClass: true } : null)
        : bestPeer(report, agg, g.scenario, g.key, g.better, persistent);
    const peerText = peer ? `${label(peer.id)} ${cell(peer.m)}${g.unit}${peer.sameClass ? '' : ' (other storage class)'}` : '–';
    if (!a || a.status === 'skipped') {
      rows.push({ goal, value: a?.skipped ?? 'not measured in this run', threshold: '–', met: null, clear: false, peer: peerText, vsPeer: '–' });
      return;
    }
    if (a.status === 'FAILED') {
      rows.push({ goal, value: `FAILED: ${a.failures[0] ?? ''}`, threshold: '–', met: false, clear: true, peer: peerText, vsPeer: '–' });
      return;
    }
    const s = a.metrics[g.key];
    /** @type {any} */
    let t;
    let thresholdText = '–';
    const th = g.threshold;
    if ('peer' in th) {
      t = peer ? scaled(peer.m, th.peer) : undefined;
      thresholdText = peer ? `${th.peer}× ${g.against === 'relay' ? 'relay' : 'best peer'} = ${fmt(t.median)}${g.unit}` : `${th.peer}× ${g.against === 'relay' ? 'relay' : 'best peer'} (none ran)`;
    } else if ('self' in th) {
      const o = agg[g.scenario]?.[th.self.skein];
      const m = o?.status === 'ok' ? o.metrics[g.key] : undefined;
      t = m ? scaled(m, th.self.factor) : undefined;
      thresholdText = m ? `${th.self.factor}× ${th.self.label} ${cell(m)}${g.unit} = ${fmt(t.median)}${g.unit}` : `${th.self.factor}× ${th.self.label} (not measured)`;
    } else {
      t = fixed(th.fixed);
      thresholdText = `${fmt(th.fixed)}${g.unit}`;
    }
    const vsPeer = fmtRatio(ratio(s, peer?.m));
    if (!s || !t) {
      rows.push({ goal, value: s ? `${cell(s)}${g.unit}` : 'not measured', threshold: thresholdText, met: null, clear: false, peer: peerText, vsPeer });
      return;
    }
    const met = g.better === 'lower' ? s.median <= t.median : s.median >= t.median;
    const clear = g.better === 'lower'
      ? (met ? s.max <= t.min : s.min > t.max)
      : (met ? s.min >= t.max : s.max < t.min);
    rows.push({ goal, value: `${cell(s)}${g.unit} (${label(g.skein)})`, threshold: thresholdText, met, clear, peer: peerText, vsPeer });
  };

  const mem = 'skein-memory';
  const imm = 'skein-immediate';
  row({ goal: 'S3 throughput to every reader ≥ 2× best peer', scenario: 'S3', skein: mem, key: 'updatesPerS', better: 'higher', unit: '/s', threshold: { peer: 2 } });
  row({ goal: 'S3 throughput to every reader ≥ 1.5× the raw relay', scenario: 'S3', skein: mem, key: 'updatesPerS', better: 'higher', unit: '/s', threshold: { peer: 1.5 }, against: 'relay' });
  row({ goal: 'S1 fan-out p99 ≤ 0.6× best peer, in memory', scenario: 'S1', skein: mem, key: 'p99', better: 'lower', unit: ' ms', threshold: { peer: 0.6 } });
  row({ goal: 'S1 fan-out p99 ≤ 0.6× best peer, `*=immediate`', scenario: 'S1', skein: imm, key: 'p99', better: 'lower', unit: ' ms', threshold: { peer: 0.6 } });
  row({ goal: 'S2 fan-out p99 ≤ 0.6× best peer, in memory', scenario: 'S2', skein: mem, key: 'p99', better: 'lower', unit: ' ms', threshold: { peer: 0.6 } });
  row({ goal: 'S2 fan-out p99 ≤ 0.6× best peer, `*=immediate`', scenario: 'S2', skein: imm, key: 'p99', better: 'lower', unit: ' ms', threshold: { peer: 0.6 } });
  row({ goal: 'S2 `*=immediate` p99 ≤ 2× S2 in memory', scenario: 'S2', skein: imm, key: 'p99', better: 'lower', unit: ' ms', threshold: { self: { skein: mem, factor: 2, label: 'Skein (memory)' } } });
  row({ goal: 'S7 immediate durable-ack p99 ≤ 5 ms at 1,000 updates/s over 100 docs', scenario: 'S7', skein: imm, key: 'p99At1000', better: 'lower', unit: ' ms', threshold: { fixed: 5 }, against: 'disk', diskKey: 'diskP99At1000' });
  row({ goal: 'S4 RSS per idle connection ≤ 8 KB', scenario: 'S4', skein: mem, key: 'kbPerConnection', better: 'lower', unit: ' KB', threshold: { fixed: 8 } });
  row({ goal: 'S11 RSS per idle connection ≤ 8 KB, at scale', scenario: 'S11', skein: mem, key: 'kbPerConnection', better: 'lower', unit: ' KB', threshold: { fixed: 8 } });
  row({ goal: 'S4 RSS per idle ~50 KB doc (11 s without an edit) ≤ 300 KB', scenario: 'S4', skein: mem, key: 'kbPerIdleDoc', better: 'lower', unit: ' KB', threshold: { fixed: 300 } });
  row({ goal: 'S4 RSS at start ≤ 60 MB', scenario: 'S4', skein: mem, key: 'rssBaselineMB', better: 'lower', unit: ' MB', threshold: { fixed: 60 } });
  {
    const n = scen('S11')?.params?.connections;
    row({ goal: `S11 ${n ? n.toLocaleString('en-US') : 'all'} idle connections on one node, all still connected after the hold (issue: 10,000)`, scenario: 'S11', skein: mem, key: 'stayedConnected', better: 'higher', unit: '', threshold: { fixed: n ?? Infinity } });
  }
  row({ goal: 'S5 cold load after 20k writes ≤ ½ best persistent peer (issue: Hocuspocus + SQLite)', scenario: 'S5', skein: imm, key: 'coldLoadMs', better: 'lower', unit: ' ms', threshold: { peer: 0.5 } });
  row({ goal: 'S12 20 MB document: 150 simultaneous joiners p99 ≤ 3 s', scenario: 'S12', skein: mem, key: 'p99', better: 'lower', unit: ' ms', threshold: { fixed: 3000 } });
  row({ goal: 'S12 20 MB document: 150 simultaneous joiners, peak RSS ≤ 1.5 GB', scenario: 'S12', skein: mem, key: 'peakRssMB', better: 'lower', unit: ' MB', threshold: { fixed: 1536 } });
  row({ goal: 'S12 20 MB document: 150 simultaneous joiners p99 ≤ 3 s, `*=immediate`', scenario: 'S12', skein: imm, key: 'p99', better: 'lower', unit: ' ms', threshold: { fixed: 3000 } });
  row({ goal: 'S10 one writer → 1,500 observers p99 ≤ 15 ms', scenario: 'S10', skein: mem, key: 'p99', better: 'lower', unit: ' ms', threshold: { fixed: 15 } });
  row({ goal: 'S6 500 presence clients at 1 Hz ≤ 25 % of a core', scenario: 'S6', skein: mem, key: 'serverCpuPct', better: 'lower', unit: ' %', threshold: { fixed: 25 } });
  row({ goal: 'S14 event-loop delay p99 while a ~20 MB document is compacted under edits ≤ 20 ms', scenario: 'S14', skein: imm, key: 'eldP99', better: 'lower', unit: ' ms', threshold: { fixed: 20 } });
  // The fairness issue (S9): while one socket, then 10 sockets on 10 documents, burst, the
  // bystander's worst and p99 round trip and the server's own event-loop delay, per Skein setup.
  for (const skein of ['skein-memory', 'skein-immediate', 'skein-debounced']) {
    for (const [prefix, who] of [['', '1 socket'], ['m', '10 sockets']]) {
      const key = (k) => (prefix === '' ? k : `m${k[0].toUpperCase()}${k.slice(1)}`);
      for (const [k, limit, what] of [['burstMax', 50, 'bystander worst round trip'], ['burstP99', 10, 'bystander p99'], ['eldP99', 20, 'server event-loop delay p99']]) {
        row({ goal: `S9 ${who} bursting: ${what} ≤ ${limit} ms`, scenario: 'S9', skein, key: key(k), better: 'lower', unit: ' ms', threshold: { fixed: limit } });
      }
    }
  }
  return rows;
}

/** "yes" / "no", with "within noise" when the ranges straddle the threshold. */
export function verdict(g) {
  if (g.met === null) return 'n/a';
  if (g.met) return g.clear ? '**yes**' : 'yes, within noise';
  return g.clear ? '**no**' : 'no, within noise';
}
