import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw-client.js';
import { freePort } from '../helpers/skein-client.js';
import { waitFor } from '../helpers/wait.js';
import { Editor, serveWithEnv, type ServeProcess } from './helpers.js';

/**
 * A real Prometheus server scrapes `/metrics` of a real `skein serve` process; the test asks
 * Prometheus' HTTP API for the connection and update metrics. Under CI a missing prometheus
 * binary fails loudly (.ci/run installs the Debian package); elsewhere the suite is skipped.
 */
function prometheusBinary(): string | undefined {
  for (const bin of ['prometheus', '/usr/bin/prometheus']) {
    if (spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0) return bin;
  }
  if (process.env.CI) throw new Error('prometheus not found: the Prometheus scrape test needs it in CI (apt-get install prometheus)');
  return undefined;
}

const bin = prometheusBinary();

describe.skipIf(bin === undefined)('Prometheus scrapes /metrics', () => {
  let dir: string;
  let server: ServeProcess;
  let prometheus: ChildProcess;
  let promUrl: string;
  const clients: RawClient[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skein-prom-'));
    server = await serveWithEnv(['--data-dir', join(dir, 'data')], { OTEL_SERVICE_NAME: 'skein-prom-test' });
    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    writeFileSync(join(dir, 'prometheus.yml'), [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 900ms',
      'scrape_configs:',
      '  - job_name: skein',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${server.port}']`,
      '',
    ].join('\n'));
    prometheus = spawn(bin!, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--log.level=warn',
    ], { stdio: 'ignore' });
    await waitFor(async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.status === 200, {
      what: 'prometheus ready', timeoutMs: 20_000, intervalMs: 100,
    });
  });

  afterAll(async () => {
    for (const c of clients) await c.dispose();
    if (prometheus !== undefined && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await exited;
    }
    await server?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  /** The value of an instant PromQL query with a single result, or undefined. */
  async function query(promql: string): Promise<number | undefined> {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; data?: { result?: { value: [number, string] }[] } };
    if (body.status !== 'success') throw new Error(`query ${promql} failed: ${JSON.stringify(body)}`);
    const result = body.data?.result ?? [];
    return result.length === 1 ? Number(result[0]!.value[1]) : undefined;
  }

  async function waitQuery(promql: string, expected: number): Promise<void> {
    let last: number | undefined;
    await waitFor(async () => (last = await query(promql)) === expected, {
      what: `${promql} == ${expected} (last ${String(last)})`, timeoutMs: 15_000, intervalMs: 200,
    });
  }

  it('finds the connection and update metrics with the right values', async () => {
    await waitQuery('up{job="skein"}', 1);
    const a = new Editor(11);
    const b = new Editor(12);
    for (const editor of [a, b]) {
      const client = await RawClient.connect(`ws://127.0.0.1:${server.port}`, 'prom/doc');
      clients.push(client);
      client.send(editor.syncStep1());
    }
    const frames = [a.edit('x', 1), a.edit('y', 2), a.edit('z', 3), a.edit('w', 4)];
    // One at a time: frames that arrive in one slow turn are merged into one change (one fan-out).
    for (const f of frames) {
      clients[0]!.send(f);
      await clients[0]!.roundTrip();
    }

    await waitQuery('skein_connections{job="skein"}', 2);
    await waitQuery('skein_documents_loaded{job="skein"}', 1);
    await waitQuery('skein_updates_received_total{job="skein",skein_update_source="client"}', 4);
    await waitQuery('skein_sync_requests_total{job="skein"}', 2);
    await waitQuery('sum(skein_persistence_pending_updates{job="skein"})', 0);
    await waitQuery('skein_health_status{job="skein"}', 0);
    // The fan-out histogram counted the four updates; the bytes counter moved.
    await waitQuery('skein_fanout_duration_seconds_count{job="skein",skein_update_source="client"}', 4);
    expect(await query('skein_updates_received_bytes_total{job="skein",skein_update_source="client"} > 0')).toBeGreaterThan(0);
    expect(await query('target_info{job="skein",service_name="skein-prom-test"}')).toBe(1);

    // One client leaves: the gauge follows.
    await clients.pop()!.dispose();
    await waitQuery('skein_connections{job="skein"}', 1);
  });

  it('accepts every query of the Grafana dashboard', async () => {
    const dashboard = readFileSync(new URL('../../deploy/grafana/skein-dashboard.json', import.meta.url), 'utf8');
    const exprs = [...dashboard.matchAll(/"expr": "((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]!}"`) as string);
    expect(exprs.length).toBeGreaterThan(20);
    for (const expr of exprs) {
      const promql = expr.replaceAll('$instance', '.*').replaceAll('$__rate_interval', '1m');
      const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as { status: string; error?: string };
      expect(body.status, `${promql}: ${body.error ?? ''}`).toBe('success');
    }
  });
});
