import { request } from '../api.js';
import { Sparkline } from '../chart.js';
import { fill, h } from '../dom.js';
import { meanBetween, parseMetrics, rate, type Samples } from '../metrics.js';
import { describeError, poll } from '../poll.js';

interface Health {
  status: string;
  reasons: { code: string; severity?: string; message: string }[];
  checks?: Record<string, unknown>;
}
interface Ready {
  status: string;
  reasons: { code: string; message: string }[];
  connections?: number;
  documents?: number;
  clusterNodes?: number;
  clusterOutbox?: number;
}

const EVERY_MS = 2000;

/** Overview: health and readiness with reasons, counts, and live charts from /metrics. */
export function overview(root: HTMLElement): () => void {
  const status = h('section', { class: 'cards' });
  const reasons = h('section', { class: 'reasons' });
  const charts = {
    connections: new Sparkline('connections', 'Connections', (v) => String(Math.round(v))),
    documents: new Sparkline('documents', 'Loaded documents', (v) => String(Math.round(v))),
    updates: new Sparkline('updates', 'Updates / s', (v) => v.toFixed(1)),
    durable: new Sparkline('durable', 'Durable write latency', (v) => `${(v * 1000).toFixed(1)} ms`),
    fanout: new Sparkline('fanout', 'Fan-out latency', (v) => `${(v * 1000).toFixed(2)} ms`),
  };
  const error = h('p', { class: 'error', hidden: true });
  fill(root, h('h1', {}, 'Overview'), error, status, h('section', { class: 'charts' }, ...Object.values(charts).map((c) => c.el)), reasons);
  let prev: { at: number; samples: Samples } | undefined;
  return poll(async () => {
    const [health, ready, metricsText] = await Promise.all([
      fetch('/health', { cache: 'no-store' }).then((r) => r.json() as Promise<Health>),
      fetch('/readyz', { cache: 'no-store' }).then((r) => r.json() as Promise<Ready>),
      request('/metrics').then((r) => r.text()).catch(() => ''),
    ]);
    error.hidden = true;
    const now = performance.now();
    const samples = parseMetrics(metricsText);
    fill(status,
      card('Health', health.status, health.status),
      card('Readiness', ready.status, ready.status),
      card('Connections', String(ready.connections ?? '—')),
      card('Documents loaded', String(ready.documents ?? '—')),
      ready.clusterNodes === undefined ? card('Cluster', 'single node') : card('Cluster nodes', String(ready.clusterNodes)),
      ready.clusterOutbox === undefined ? null : card('Cluster outbox', String(ready.clusterOutbox)),
      card('Pending writes', samples.has('skein_persistence_pending_updates') ? String(samples.get('skein_persistence_pending_updates')) : '—'),
    );
    const all = [...health.reasons, ...ready.reasons.filter((r) => !health.reasons.some((x) => x.code === r.code))];
    fill(reasons, h('h2', {}, 'Reasons'), all.length === 0
      ? h('p', { class: 'muted' }, 'None: the node is healthy and ready.')
      : h('ul', {}, ...all.map((r) => h('li', {}, h('code', {}, r.code), ' ', r.message))));
    charts.connections.push(ready.connections ?? NaN);
    charts.documents.push(ready.documents ?? NaN);
    if (prev !== undefined) {
      const seconds = (now - prev.at) / 1000;
      charts.updates.push(rate(prev.samples, samples, 'skein_updates_received_total', seconds));
      charts.durable.push(meanBetween(prev.samples, samples, 'skein_persistence_write_duration_seconds'));
      charts.fanout.push(meanBetween(prev.samples, samples, 'skein_fanout_duration_seconds'));
    }
    prev = { at: now, samples };
  }, EVERY_MS, (err) => {
    error.hidden = false;
    error.textContent = describeError(err);
  });
}

function card(title: string, value: string, state?: string): HTMLElement {
  return h('div', { class: 'card', 'data-state': state }, h('div', { class: 'card-title' }, title), h('div', { class: 'card-value' }, value));
}
