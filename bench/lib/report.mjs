// Turn one run's raw results into: the JSON record, a markdown report (every scenario ×
// target, median and min–max over the interleaved repeats, ratios, goals), SVG bar charts,
// and the results section of docs/performance.md.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BENCH_DIR, ROOT_DIR } from './targets.mjs';
import { barChart } from './svg.mjs';
import { bestPeer, cell, fmtRatio, median, ratio } from './figures.mjs';
import { goals, verdict } from './goals.mjs';

/**
 * The figures reported per scenario. `better`: which direction wins; `headline`: shown in
 * the matrix and charted.
 */
export const METRICS = {
  S1: [
    { key: 'p50', label: 'p50 latency', unit: 'ms', better: 'lower', headline: true },
    { key: 'p99', label: 'p99 latency', unit: 'ms', better: 'lower', headline: true },
    { key: 'p999', label: 'p99.9', unit: 'ms', better: 'lower' },
    { key: 'serverCpuPct', label: 'server CPU', unit: '%', better: 'lower' },
    { key: 'loadgenCpuPct', label: 'load-gen CPU', unit: '%' },
    { key: 'bgCpuPct', label: 'other CPU', unit: '%' },
  ],
  S2: [
    { key: 'p50', label: 'p50 latency', unit: 'ms', better: 'lower' },
    { key: 'p99', label: 'p99 latency', unit: 'ms', better: 'lower', headline: true },
    { key: 'serverCpuPct', label: 'server CPU', unit: '%', better: 'lower', headline: true },
    { key: 'rssMB', label: 'server RSS', unit: 'MB', better: 'lower', headline: true },
    { key: 'loadgenCpuPct', label: 'load-gen CPU', unit: '%' },
    { key: 'bgCpuPct', label: 'other CPU', unit: '%' },
  ],
  S3: [
    { key: 'updatesPerS', label: 'delivered to all readers', unit: 'updates/s', better: 'higher', headline: true },
    { key: 'p50', label: 'p50 latency', unit: 'ms', better: 'lower' },
    { key: 'p99', label: 'p99 latency', unit: 'ms', better: 'lower' },
    { key: 'serverCpuPct', label: 'server CPU', unit: '%' },
    { key: 'loadgenCpuPct', label: 'load-gen CPU', unit: '%' },
    { key: 'bgCpuPct', label: 'other CPU', unit: '%' },
  ],
  S4: [
    { key: 'kbPerConnection', label: 'RSS per idle connection', unit: 'KB', better: 'lower', headline: true },
    { key: 'kbPerDoc', label: 'RSS per ~50 KB doc, just written', unit: 'KB', better: 'lower', headline: true },
    { key: 'kbPerIdleDoc', label: 'RSS per ~50 KB doc after 11 s idle', unit: 'KB', better: 'lower', headline: true },
    { key: 'heapKbPerConnection', label: 'heap+external per connection', unit: 'KB', better: 'lower' },
    { key: 'heapKbPerDoc', label: 'heap+external per doc', unit: 'KB', better: 'lower' },
    { key: 'heapKbPerIdleDoc', label: 'heap+external per doc after 11 s idle', unit: 'KB', better: 'lower' },
    { key: 'rssConnectedMB', label: 'RSS, all connected', unit: 'MB', better: 'lower' },
    { key: 'rssBaselineMB', label: 'RSS at start', unit: 'MB', better: 'lower' },
  ],
  S5: [
    { key: 'coldLoadMs', samples: 'coldLoadsMs', label: 'connect → full state', unit: 'ms', better: 'lower', headline: true },
    { key: 'clientApplyMs', label: 'client apply (same work for all)', unit: 'ms' },
    { key: 'writeUpdatesPerS', label: 'write rate while storing', unit: 'updates/s', better: 'higher' },
  ],
  S6: [
    { key: 'serverCpuPct', label: 'server CPU', unit: '%', better: 'lower', headline: true },
    { key: 'p50', label: 'p50 presence latency', unit: 'ms', better: 'lower' },
    { key: 'p99', label: 'p99 presence latency', unit: 'ms', better: 'lower' },
    { key: 'rssMB', label: 'server RSS', unit: 'MB', better: 'lower' },
    { key: 'loadgenCpuPct', label: 'load-gen CPU', unit: '%' },
    { key: 'bgCpuPct', label: 'other CPU', unit: '%' },
  ],
  S7: [
    { key: 'p50At100', label: 'ack p50 @100/s', unit: 'ms', better: 'lower' },
    { key: 'p99At100', label: 'ack p99 @100/s', unit: 'ms', better: 'lower', headline: true },
    { key: 'p50At1000', label: 'ack p50 @1000/s', unit: 'ms', better: 'lower' },
    { key: 'p99At1000', label: 'ack p99 @1000/s', unit: 'ms', better: 'lower', headline: true },
    { key: 'achievedRate1000', label: 'achieved rate (1000/s)', unit: '/s' },
    { key: 'diskP99At100', label: 'disk fdatasync p99 @100/s, no server', unit: 'ms' },
    { key: 'diskP99At1000', label: 'disk fdatasync p99 @1000/s, no server', unit: 'ms' },
  ],
  S8: [
    { key: 'setupsPerS', label: 'setups/s', unit: '/s', better: 'higher', headline: true },
    { key: 'ttfsP50', label: 'first sync message p50', unit: 'ms', better: 'lower' },
    { key: 'ttfsP99', label: 'first sync message p99', unit: 'ms', better: 'lower', headline: true },
    { key: 'cpuMsPerSetup', label: 'server CPU per setup', unit: 'ms', better: 'lower', headline: true },
    { key: 'setupP99', label: 'both sync messages p99', unit: 'ms', better: 'lower' },
    { key: 'serverCpuPct', label: 'server CPU', unit: '%' },
    { key: 'loadgenCpuPct', label: 'load-gen CPU', unit: '%' },
    { key: 'bgCpuPct', label: 'other CPU', unit: '%' },
  ],
  C1: [
    { key: 'crossP50', label: 'cross-node p50', unit: 'ms', better: 'lower', headline: true },
    { key: 'crossP99', label: 'cross-node p99', unit: 'ms', better: 'lower', headline: true },
    { key: 'sameP50', label: 'same-node p50', unit: 'ms', better: 'lower' },
    { key: 'sameP99', label: 'same-node p99', unit: 'ms', better: 'lower' },
    { key: 'redisCmdsPerUpdate', label: 'Redis commands / update', unit: 'count', better: 'lower', headline: true },
    { key: 'redisPublishesPerUpdate', label: 'Redis (s)publish / update', unit: 'count', better: 'lower' },
    { key: 'redisBytesInPerUpdate', label: 'Redis bytes in / update', unit: 'B', better: 'lower', headline: true },
    { key: 'redisBytesOutPerUpdate', label: 'Redis bytes out / update', unit: 'B', better: 'lower' },
    { key: 'cpuNodeA', label: 'CPU node a', unit: '%' },
    { key: 'cpuNodeB', label: 'CPU node b', unit: '%' },
  ],
  // S10: S1's figures with many more readers.
  S10: [
    { key: 'p50', label: 'p50 latency', unit: 'ms', better: 'lower', headline: true },
    { key: 'p99', label: 'p99 latency', unit: 'ms', better: 'lower', headline: true },
    { key: 'p999', label: 'p99.9', unit: 'ms', better: 'lower' },
    { key: 'serverCpuPct', label: 'server CPU', unit: '%', better: 'lower' },
    { key: 'rssMB', label: 'server RSS', unit: 'MB', better: 'lower' },
    { key: 'loadgenCpuPct', label: 'load-gen CPU', unit: '%' },
    { key: 'bgCpuPct', label: 'other CPU', unit: '%' },
  ],
  S11: [
    { key: 'kbPerConnection', label: 'RSS per idle connection', unit: 'KB', better: 'lower', headline: true },
    { key: 'heapKbPerConnection', label: 'heap+external per connection', unit: 'KB', better: 'lower' },
    { key: 'rssConnectedMB', label: 'RSS, all connected', unit: 'MB', better: 'lower', headline: true },
    { key: 'kbPerEmptyDoc', label: 'RSS per loaded empty doc', unit: 'KB', better: 'lower' },
    { key: 'rssHeldMB', label: 'RSS after the hold', unit: 'MB', better: 'lower' },
    { key: 'stayedConnected', label: 'still connected and answering after the hold', unit: 'count', better: 'higher' },
    { key: 'connectsPerS', label: 'connect + sync rate', unit: '/s', better: 'higher' },
    { key: 'rssBaselineMB', label: 'RSS at start', unit: 'MB', better: 'lower' },
  ],
  S12: [
    { key: 'p50', label: 'joiner p50 (socket open → whole document)', unit: 'ms', better: 'lower' },
    { key: 'p99', label: 'joiner p99', unit: 'ms', better: 'lower', headline: true },
    { key: 'max', label: 'joiner max', unit: 'ms', better: 'lower' },
    { key: 'peakRssMB', label: 'server peak RSS', unit: 'MB', better: 'lower', headline: true },
    { key: 'rssBeforeMB', label: 'server RSS before the joins', unit: 'MB', better: 'lower' },
    { key: 'docMB', label: 'document size (encoded)', unit: 'MB' },
    { key: 'afterStep2MB', label: 'sent as updates after the sync step 2', unit: 'MB' },
    { key: 'writeS', label: 'writing it (~1 MB updates)', unit: 's', better: 'lower' },
  ],
  // S13: `sockets…` one socket per document, `mux…` one socket per client (all its documents).
  S13: [
    { key: 'socketsJoinP50', label: 'one socket per doc: client joins all docs, p50', unit: 'ms', better: 'lower' },
    { key: 'socketsJoinMax', label: 'one socket per doc: slowest client', unit: 'ms', better: 'lower', headline: true },
    { key: 'socketsKbPerDocConn', label: 'one socket per doc: RSS per doc connection', unit: 'KB', better: 'lower', headline: true },
    { key: 'socketsHeapKbPerDocConn', label: 'one socket per doc: heap+external per doc connection', unit: 'KB', better: 'lower' },
    { key: 'muxJoinP50', label: 'one socket per client: client joins all docs, p50', unit: 'ms', better: 'lower' },
    { key: 'muxJoinMax', label: 'one socket per client: slowest client', unit: 'ms', better: 'lower', headline: true },
    { key: 'muxKbPerDocConn', label: 'one socket per client: RSS per doc connection', unit: 'KB', better: 'lower', headline: true },
    { key: 'muxHeapKbPerDocConn', label: 'one socket per client: heap+external per doc connection', unit: 'KB', better: 'lower' },
    { key: 'muxSockets', label: 'sockets, one per client', unit: 'count' },
    { key: 'socketsSockets', label: 'sockets, one per doc', unit: 'count' },
  ],
  // S14: a ~20 MB document stored (Skein: compacted) while it is edited.
  S14: [
    { key: 'eldP99', label: 'server event-loop delay p99', unit: 'ms', better: 'lower', headline: true },
    { key: 'eldMax', label: 'server event-loop delay max', unit: 'ms', better: 'lower', headline: true },
    { key: 'bystanderP99', label: 'bystander (other doc) p99', unit: 'ms', better: 'lower' },
    { key: 'bystanderMax', label: 'bystander (other doc) max', unit: 'ms', better: 'lower', headline: true },
    { key: 'editP99', label: 'edit → reader p99', unit: 'ms', better: 'lower', headline: true },
    { key: 'editMax', label: 'edit → reader max', unit: 'ms', better: 'lower' },
    { key: 'ackP99', label: 'durable ack p99 (Skein)', unit: 'ms', better: 'lower', headline: true },
    { key: 'ackMax', label: 'durable ack max (Skein)', unit: 'ms', better: 'lower' },
    { key: 'compactions', label: 'compactions completed in the window (Skein)', unit: 'count' },
    { key: 'peakRssMB', label: 'server peak RSS', unit: 'MB', better: 'lower' },
    { key: 'serverCpuPct', label: 'server CPU', unit: '%' },
    { key: 'windowS', label: 'window', unit: 's' },
  ],
  // S9: bystander round trips idle and during the burst; `m…`: the 10-socket variant.
  S9: [
    { key: 'idleP99', label: 'bystander p99 idle', unit: 'ms', better: 'lower' },
    { key: 'burstP50', label: 'bystander p50 in burst', unit: 'ms', better: 'lower' },
    { key: 'burstP99', label: 'bystander p99 in burst', unit: 'ms', better: 'lower', headline: true },
    { key: 'burstMax', label: 'bystander max in burst', unit: 'ms', better: 'lower', headline: true },
    { key: 'readerMs', label: 'new reader has received all', unit: 'ms', better: 'lower', headline: true },
    { key: 'peakRssMB', label: 'server peak RSS', unit: 'MB', better: 'lower', headline: true },
    { key: 'eldP99', label: 'server event-loop delay p99 in burst', unit: 'ms', better: 'lower', headline: true },
    { key: 'eldMax', label: 'server event-loop delay max in burst', unit: 'ms', better: 'lower' },
    { key: 'disconnects', label: 'burster disconnected', unit: 'count' },
    { key: 'mBurstP99', label: '10 sockets: bystander p99', unit: 'ms', better: 'lower', headline: true },
    { key: 'mBurstMax', label: '10 sockets: bystander max', unit: 'ms', better: 'lower' },
    { key: 'mReaderMs', label: '10 sockets: readers have all', unit: 'ms', better: 'lower', headline: true },
    { key: 'mPeakRssMB', label: '10 sockets: peak RSS', unit: 'MB', better: 'lower' },
    { key: 'mEldP99', label: '10 sockets: event-loop delay p99', unit: 'ms', better: 'lower', headline: true },
    { key: 'mDisconnects', label: '10 sockets: disconnected', unit: 'count' },
  ],
};

/**
 * Per (scenario, target): status and, per metric, {median, min, max, n} over the repeats
 * that succeeded.
 */
export function aggregate(report) {
  /** @type {Record<string, Record<string, any>>} */
  const out = {};
  for (const s of report.scenarios) {
    out[s.id] = {};
    const targetIds = [...new Set(report.runs.filter((r) => r.scenario === s.id).map((r) => r.target))];
    for (const t of targetIds) {
      const runs = report.runs.filter((r) => r.scenario === s.id && r.target === t);
      const skipped = runs.find((r) => r.skipped)?.skipped;
      const okRuns = runs.filter((r) => r.ok);
      const failures = runs.filter((r) => !r.ok && !r.skipped).map((r) => `repeat ${r.repeat}: ${r.failure}`);
      /** @type {Record<string, any>} */
      const metrics = {};
      for (const m of METRICS[s.id] ?? []) {
        // A metric with `samples` pools every sample of every repeat (S5: each cold load).
        const xs = okRuns.flatMap((r) => (m.samples && Array.isArray(r.metrics?.[m.samples]) ? r.metrics[m.samples] : [r.metrics?.[m.key]]))
          .filter((x) => typeof x === 'number' && Number.isFinite(x));
        if (xs.length > 0) metrics[m.key] = { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
      }
      const loads = runs.map((r) => r.loadAvg).filter((x) => typeof x === 'number');
      out[s.id][t] = {
        status: skipped ? 'skipped' : failures.length > 0 ? 'FAILED' : 'ok',
        skipped, failures, metrics, repeats: okRuns.length,
        loadAvg: loads.length ? Math.round(median(loads) * 100) / 100 : null,
      };
    }
  }
  return out;
}

/** Scenarios whose repeat count differs from the run's, e.g. " (S5: 1 repeat)". */
function exceptions(report) {
  const odd = report.scenarios.filter((s) => s.repeats !== undefined && s.repeats !== report.repeats);
  return odd.length === 0 ? '' : ` (${odd.map((s) => `${s.id}: ${s.repeats} repeat${s.repeats === 1 ? '' : 's'}`).join(', ')})`;
}

/** The markdown report of one run. */
export function markdown(report, agg) {
  const label = (id) => report.targets.find((t) => t.id === id)?.label ?? id;
  const lines = [];
  lines.push(`Run \`${report.runId}\` — ${report.mode === 'full' ? 'full run (`pnpm bench --full`)' : 'short run (`pnpm bench`)'}, ${report.repeats} interleaved repeats per target${exceptions(report)}, ${report.durationS} s in all.`);
  lines.push(`Machine: ${report.machine.cpus} × ${report.machine.cpuModel}, ${report.machine.memGB} GB, ${report.machine.platform}; benchmark processes at nice ${report.priority}.`);
  lines.push('Cells: median over repeats, (min–max) when there was more than one; `FAILED` = a repeat failed its correctness check or did not finish; ≈ after a ratio = the min–max ranges overlap (no clear difference).');
  lines.push('');

  lines.push('### Goals');
  lines.push('');
  lines.push('Issue 15\'s goals against the peers of **this** run: *best peer* = the best of every Hocuspocus major and the y-websocket server in the same scenario '
    + '(same storage class first; for S7, which no peer runs, the disk\'s own fdatasync at the same rate, measured in the same run with no server). '
    + '"Within noise": met (or missed) on the medians, but the min–max ranges straddle the threshold.');
  lines.push('');
  lines.push('| goal | Skein | threshold | met? | best peer (same run) | Skein ÷ best peer |');
  lines.push('|---|---|---|---|---|---|');
  for (const g of goals(report, agg)) lines.push(`| ${g.goal} | ${g.value} | ${g.threshold} | ${verdict(g)} | ${g.peer} | ${g.vsPeer} |`);
  lines.push('');

  // The matrix: headline metric rows × targets, plus ratios.
  const targetIds = report.targets.map((t) => t.id).filter((id) => report.scenarios.some((s) => agg[s.id]?.[id]));
  lines.push('### Every scenario × target (headline figures)');
  lines.push('');
  lines.push(`| scenario · figure | ${targetIds.map(label).join(' | ')} | Skein (memory) ÷ best peer | Skein (memory) ÷ relay |`);
  lines.push(`|---|${targetIds.map(() => '---').join('|')}|---|---|`);
  for (const s of report.scenarios) {
    for (const m of (METRICS[s.id] ?? []).filter((x) => x.headline)) {
      const cells = targetIds.map((id) => {
        const a = agg[s.id]?.[id];
        if (!a) return '';
        if (a.status === 'skipped') return 'pending';
        if (a.status === 'FAILED') return `FAILED${a.metrics[m.key] ? ` ${cell(a.metrics[m.key])}` : ''}`;
        return cell(a.metrics[m.key]);
      });
      const skeinId = s.id === 'S5' || s.id === 'S7' ? null : 'skein-memory';
      const sk = skeinId ? agg[s.id]?.[skeinId] : undefined;
      const skm = sk?.status === 'ok' ? sk.metrics[m.key] : undefined;
      const peer = skeinId && m.better ? bestPeer(report, agg, s.id, m.key, m.better, false) : null;
      const relay = agg[s.id]?.['raw-relay']?.status === 'ok' ? agg[s.id]['raw-relay'].metrics[m.key] : undefined;
      lines.push(`| ${s.id} · ${m.label} (${m.unit}) | ${cells.join(' | ')} | ${peer ? fmtRatio(ratio(skm, peer.m)) : '–'} | ${relay && skm ? fmtRatio(ratio(skm, relay)) : '–'} |`);
    }
  }
  lines.push('');

  lines.push('### Per scenario');
  for (const s of report.scenarios) {
    lines.push('');
    lines.push(`#### ${s.id} — ${s.title}${s.scaled ? ` *(scaled: ${s.scaled})*` : ''}`);
    lines.push('');
    const ms = METRICS[s.id] ?? [];
    lines.push(`| target | status | ${ms.map((m) => `${m.label} (${m.unit})`).join(' | ')} | load avg |`);
    lines.push(`|---|---|${ms.map(() => '---').join('|')}|---|`);
    for (const [id, a] of Object.entries(agg[s.id] ?? {})) {
      const status = a.status === 'skipped' ? 'pending' : a.status === 'FAILED' ? '**FAILED**' : 'ok';
      lines.push(`| ${label(id)} | ${status} | ${ms.map((m) => cell(a.metrics[m.key])).join(' | ')} | ${a.loadAvg ?? '–'} |`);
    }
    const notes = Object.entries(agg[s.id] ?? {}).flatMap(([id, a]) => [
      ...(a.skipped ? [`${label(id)}: ${a.skipped}`] : []),
      ...a.failures.map((f) => `${label(id)}: ${f}`),
    ]);
    if (notes.length > 0) {
      lines.push('');
      for (const n of notes) lines.push(`- ${n}`);
    }
    if (s.id === 'S8') lines.push(...jwtOverhead(report, agg));
  }
  lines.push('');
  lines.push('### Versions');
  lines.push('');
  lines.push('| component | version |');
  lines.push('|---|---|');
  for (const [k, v] of Object.entries(report.versions)) lines.push(`| ${k} | ${v ?? '–'} |`);
  return lines.join('\n');
}

/** JWT targets of S8 and the Skein target without access control they are compared with. */
const JWT_TARGETS = ['skein-jwt-hs256', 'skein-jwt-es256'];
const NO_AUTH = 'skein-memory';

/**
 * S8: the cost of access tokens as ratios JWT ÷ auth none (per figure, medians; ≈ when the
 * min–max ranges overlap), and the correctness checks of every repeat: sync step 1 received
 * on every connection, and the bad-token probes' HTTP status.
 */
function jwtOverhead(report, agg) {
  const label = (id) => report.targets.find((t) => t.id === id)?.label ?? id;
  const base = agg.S8?.[NO_AUTH];
  const rows = JWT_TARGETS.filter((id) => agg.S8?.[id]);
  if (rows.length === 0) return [];
  const keys = ['cpuMsPerSetup', 'setupsPerS', 'ttfsP50', 'ttfsP99', 'setupP99'];
  const ms = keys.map((k) => METRICS.S8.find((m) => m.key === k));
  const out = ['', `JWT overhead, ratio to ${label(NO_AUTH)} (no access control): CPU per setup above 1 is the cost of verifying a token. `
    + 'It is the figure to read on a shared machine: setups/s and the times (50 setups in flight, so the times are mostly queueing) '
    + 'follow whatever else runs on the cores (*other CPU*).', ''];
  out.push(`| target | ${ms.map((m) => `${m?.label} (JWT ÷ none)`).join(' | ')} |`);
  out.push(`|---|${ms.map(() => '---').join('|')}|`);
  for (const id of rows) {
    const a = agg.S8[id];
    const cells = keys.map((k) => (a.status === 'ok' && base?.status === 'ok' ? fmtRatio(ratio(a.metrics[k], base.metrics[k])) : '–'));
    out.push(`| ${label(id)} | ${cells.join(' | ')} |`);
  }
  const checkRuns = (report.runs ?? []).filter((r) => r.scenario === 'S8' && r.checks);
  if (checkRuns.length > 0) {
    out.push('');
    out.push('| target | repeat | tokens | sync step 1 received | bad-token probes (HTTP status) |');
    out.push('|---|---|---|---|---|');
    for (const r of checkRuns) {
      const c = r.checks;
      const probes = c.badTokenProbes ? Object.entries(c.badTokenProbes).map(([k, v]) => `${k} ${v}`).join(', ') : 'n/a (no access control)';
      out.push(`| ${label(r.target)} | ${r.repeat} | ${c.tokens} | ${c.gotSyncStep1} / ${c.connections} | ${probes} |`);
    }
  }
  return out;
}

/** Charts of the headline figures; returns [file, title] pairs. */
function charts(report, agg, dir) {
  mkdirSync(dir, { recursive: true });
  const files = [];
  for (const s of report.scenarios) {
    for (const m of (METRICS[s.id] ?? []).filter((x) => x.headline)) {
      const bars = Object.entries(agg[s.id] ?? {})
        .filter(([, a]) => a.metrics[m.key] !== undefined)
        .map(([id, a]) => {
          const t = report.targets.find((x) => x.id === id);
          return { label: t?.label ?? id, family: t?.family ?? 'peer', failed: a.status === 'FAILED', ...a.metrics[m.key] };
        });
      if (bars.length === 0) continue;
      const title = `${s.id} ${m.label} (${m.unit}) — ${m.better === 'higher' ? 'higher' : 'lower'} is better`;
      const file = path.join(dir, `${s.id.toLowerCase()}-${m.key}.svg`);
      const over = m.samples ? 'all cold loads' : `${s.repeats ?? report.repeats} repeats`;
      writeFileSync(file, barChart({ title, subtitle: `${s.title}${s.scaled ? ' (scaled)' : ''}; median, whiskers min–max over ${over}`, unit: m.unit, bars }));
      files.push([file, title]);
    }
  }
  return files;
}

const MARK = (mode, edge) => `<!-- bench:${mode}:${edge} -->`;

/**
 * Write everything for one run. Returns the paths written.
 * @param {any} report @param {{updateDocs: boolean}} opts
 */
export function writeReports(report, opts) {
  const dir = path.join(BENCH_DIR, 'results');
  mkdirSync(dir, { recursive: true });
  const agg = aggregate(report);
  report.aggregate = agg;
  const written = [];
  const json = path.join(dir, `run-${report.runId}.json`);
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  written.push(json);
  if (!opts.updateDocs) {
    // A partial run (--only / --targets): its own markdown next to its JSON, nothing else.
    const md = path.join(dir, `run-${report.runId}.md`);
    writeFileSync(md, `${markdown(report, agg)}\n`);
    written.push(md);
    return written;
  }
  const latestJson = path.join(dir, `latest-${report.mode}.json`);
  copyFileSync(json, latestJson);
  written.push(latestJson);
  const chartDir = path.join(dir, 'charts', report.mode);
  const chartFiles = charts(report, agg, chartDir);
  written.push(`${chartDir}/ (${chartFiles.length} charts)`);
  const body = markdown(report, agg);
  const chartMd = chartFiles.map(([f, title]) => `![${title}](${path.relative(path.join(ROOT_DIR, 'docs'), f)})`).join('\n');
  const md = path.join(dir, `latest-${report.mode}.md`);
  writeFileSync(md, `# Skein benchmark — latest ${report.mode} run\n\n${body}\n\n### Charts\n\n${chartFiles.map(([f, t]) => `![${t}](${path.relative(dir, f)})`).join('\n')}\n`);
  written.push(md);

  const doc = path.join(ROOT_DIR, 'docs', 'performance.md');
  if (existsSync(doc)) {
    const text = readFileSync(doc, 'utf8');
    const start = MARK(report.mode, 'start');
    const end = MARK(report.mode, 'end');
    const i = text.indexOf(start);
    const j = text.indexOf(end);
    if (i >= 0 && j > i) {
      const section = `${start}\n${body}\n\n#### Charts\n\n${chartMd}\n${end}`;
      writeFileSync(doc, text.slice(0, i) + section + text.slice(j + end.length));
      written.push(doc);
    }
  }
  return written;
}
