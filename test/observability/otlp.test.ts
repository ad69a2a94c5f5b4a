import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { RawClient } from '../helpers/raw-client.js';
import { RedisProcess, redisAvailable } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';
import { ATTR, SPAN } from '../../server/src/telemetry/names.js';
import { Editor, OtlpReceiver, otlpAttr, serveWithEnv, type OtlpSpan, type ServeProcess } from './helpers.js';

/**
 * Over the wire: real `skein serve` processes configured only by the standard OTEL_*
 * environment variables export their spans with the OTLP/HTTP JSON exporter to a real
 * receiver (a node:http server decoding the JSON the exporter sends).
 */

const SPAN_KIND_SERVER = 2; // OTLP's enum (SPAN_KIND_SERVER), not the API's
const SPAN_KIND_INTERNAL = 1;
const SPAN_KIND_PRODUCER = 4;
const SPAN_KIND_CONSUMER = 5;

let receiver: OtlpReceiver;
const dirs: string[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  receiver = await OtlpReceiver.start();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await receiver.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'skein-otlp-'));
  dirs.push(dir);
  return dir;
}

/** The OTEL_* environment of a traced node (the SDK reads OTEL_BSP_* itself: export within 100 ms). */
function otelEnv(instance: string): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_SERVICE_NAME: 'skein-otlp-test',
    OTEL_RESOURCE_ATTRIBUTES: `deployment.environment=test,skein.test.instance=${instance}`,
    OTEL_TRACES_SAMPLER: 'parentbased_always_on',
    OTEL_BSP_SCHEDULE_DELAY: '100',
  };
}

async function serve(args: readonly string[], env: Record<string, string>): Promise<ServeProcess> {
  const server = await serveWithEnv(args, env);
  cleanups.push(() => server.stop());
  return server;
}

const spansOf = (instance: string, name: string): OtlpSpan[] => receiver.spans.filter((s) => s.instance === instance && s.name === name);

describe('OTLP/HTTP export', () => {
  it('one node: an edit exports its apply and write spans in one trace; logs carry the trace id', async () => {
    const server = await serve(['--data-dir', dataDir(), '--node-id', 'solo', '--log-level', 'debug'], otelEnv('solo'));
    const editor = new Editor(501);
    const client = await RawClient.connect(`ws://127.0.0.1:${server.port}`, 'otlp/doc');
    cleanups.push(() => client.dispose());
    client.send(editor.syncStep1());
    client.send(editor.edit('k', 'v'));
    await waitFor(() => spansOf('solo', SPAN.persistenceWrite).length >= 1 && spansOf('solo', SPAN.connectionUpgrade).length === 1, {
      what: 'spans exported', timeoutMs: 10_000,
    });
    client.send(editor.edit('k2', 'v2'));
    await waitFor(() => spansOf('solo', SPAN.persistenceWrite).length >= 2, { what: 'second write exported', timeoutMs: 10_000 });

    expect(receiver.requests.every((r) => r.path === '/v1/traces' && r.contentType.startsWith('application/json'))).toBe(true);
    const upgrade = spansOf('solo', SPAN.connectionUpgrade)[0]!;
    expect(upgrade.kind).toBe(SPAN_KIND_SERVER);
    expect(upgrade.service).toBe('skein-otlp-test');
    expect(otlpAttr(upgrade, ATTR.documentName)).toBe('otlp/doc');
    const load = spansOf('solo', SPAN.documentLoad)[0]!;
    expect(load.traceId).toBe(upgrade.traceId);
    expect(load.parentSpanId).toBe(upgrade.spanId);

    const later = spansOf('solo', SPAN.updateApply).find((s) => s.traceId !== upgrade.traceId)!;
    expect(later, 'an update applied after the connection opened').toBeDefined();
    expect(later.links?.map((l) => l.spanId)).toEqual([upgrade.spanId]);
    const write = spansOf('solo', SPAN.persistenceWrite).find((w) => w.traceId === later.traceId)!;
    expect(write.parentSpanId).toBe(later.spanId);
    expect(write.kind).toBe(SPAN_KIND_INTERNAL);
    expect(otlpAttr(write, ATTR.persistStrategy)).toBe('immediate');
    expect(otlpAttr(write, ATTR.persistBatchUpdates)).toBe(1);

    // Log lines written inside a span carry its ids: the load is logged (debug) in the connection's trace.
    const lines = server.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const loaded = lines.find((l) => l.msg === 'document loaded');
    expect(loaded?.trace_id).toBe(upgrade.traceId);
    expect(loaded?.span_id).toBe(upgrade.spanId);
    expect(lines.find((l) => l.msg === 'listening')).not.toHaveProperty('trace_id');
  });

  it('tracing off when no endpoint is set: nothing is exported', async () => {
    const before = receiver.requests.length;
    const server = await serve(['--storage', 'memory'], { OTEL_SERVICE_NAME: 'skein-untraced', OTEL_BSP_SCHEDULE_DELAY: '50' });
    const editor = new Editor(502);
    const client = await RawClient.connect(`ws://127.0.0.1:${server.port}`, 'untraced/doc');
    client.send(editor.syncStep1());
    client.send(editor.edit('k', 1));
    await client.roundTrip();
    await client.dispose();
    await server.stop();
    expect(receiver.requests.length).toBe(before);
  });
});

/** Whether the updates a client received contain map key `key`. */
function received(client: RawClient, key: string): boolean {
  const doc = new Y.Doc();
  for (const m of client.decoded()) if (m.type === 'sync-step2' || m.type === 'sync-update') Y.applyUpdate(doc, m.update);
  const has = doc.getMap('m').has(key);
  doc.destroy();
  return has;
}

describe.skipIf(!redisAvailable())('two nodes behind one Redis', () => {
  it("one edit's spans on both nodes share a trace id: apply → publish (A) → process → write (B)", async () => {
    const redis = await RedisProcess.start();
    cleanups.push(() => redis.stop());
    const common = ['--redis-url', redis.url, '--cluster-heartbeat-ms', '200', '--cluster-node-timeout-ms', '1000'];
    const a = await serve(['--data-dir', dataDir(), '--node-id', 'node-a', ...common], otelEnv('node-a'));
    const b = await serve(['--data-dir', dataDir(), '--node-id', 'node-b', ...common], otelEnv('node-b'));
    const ea = new Editor(601);
    const eb = new Editor(602);
    const ca = await RawClient.connect(`ws://127.0.0.1:${a.port}`, 'cluster/doc');
    const cb = await RawClient.connect(`ws://127.0.0.1:${b.port}`, 'cluster/doc');
    cleanups.push(() => ca.dispose(), () => cb.dispose());
    ca.send(ea.syncStep1());
    cb.send(eb.syncStep1());
    // Warm up both ways: both nodes have the document loaded and subscribed.
    cb.send(eb.edit('ready-b', 1));
    await waitFor(() => received(ca, 'ready-b'), { what: 'A sees B', timeoutMs: 15_000 });
    ca.send(ea.edit('ready-a', 1));
    await waitFor(() => received(cb, 'ready-a'), { what: 'B sees A', timeoutMs: 15_000 });

    // The edit under test, made on A, reaching B's client through Redis.
    ca.send(ea.edit('traced-edit', 'v'));
    await waitFor(() => received(cb, 'traced-edit'), { what: 'B receives the edit', timeoutMs: 15_000 });

    let chain: { apply: OtlpSpan; publish: OtlpSpan; process: OtlpSpan; writeB: OtlpSpan; writeA: OtlpSpan } | undefined;
    await waitFor(() => {
      for (const process of spansOf('node-b', SPAN.clusterProcess)) {
        const apply = spansOf('node-a', SPAN.updateApply).find((s) => s.traceId === process.traceId);
        const publish = spansOf('node-a', SPAN.clusterPublish).find((s) => s.traceId === process.traceId);
        const writeB = spansOf('node-b', SPAN.persistenceWrite).find((s) => s.traceId === process.traceId);
        const writeA = spansOf('node-a', SPAN.persistenceWrite).find((s) => s.traceId === process.traceId);
        if (apply && publish && writeB && writeA) {
          chain = { apply, publish, process, writeB, writeA };
          return true;
        }
      }
      return false;
    }, { what: 'the cross-node trace exported by both nodes', timeoutMs: 15_000 });

    const { apply, publish, process, writeB, writeA } = chain!;
    expect(apply.instance).toBe('node-a');
    expect(process.instance).toBe('node-b');
    // A: the update, its local write and its publish.
    expect(publish.kind).toBe(SPAN_KIND_PRODUCER);
    expect(publish.parentSpanId).toBe(apply.spanId);
    expect(writeA.parentSpanId).toBe(apply.spanId);
    // B: the consumer is the producer's child (context carried in the envelope), the write is the consumer's.
    expect(process.kind).toBe(SPAN_KIND_CONSUMER);
    expect(process.parentSpanId).toBe(publish.spanId);
    expect(writeB.parentSpanId).toBe(process.spanId);
    for (const span of [publish, process]) {
      expect(otlpAttr(span, ATTR.messagingSystem)).toBe('redis');
      expect(otlpAttr(span, ATTR.messagingDestinationTemplate)).toBe('skein:{doc}:ch');
      expect(otlpAttr(span, ATTR.messagingKind)).toBe('update');
      expect(otlpAttr(span, ATTR.messagingBodySize)).toBeGreaterThan(0);
    }
    expect(otlpAttr(publish, ATTR.messagingOperationType)).toBe('send');
    expect(otlpAttr(process, ATTR.messagingOperationType)).toBe('process');

    // The cluster's figures: metrics and the health model see the Redis link.
    const metrics = await (await fetch(`http://127.0.0.1:${a.port}/metrics`)).text();
    expect(metrics).toMatch(/^skein_cluster_link_up 1$/m);
    expect(metrics).toMatch(/^skein_cluster_nodes 1$/m);
    expect(metrics).toMatch(/^skein_cluster_circuit_state\{skein_cluster_circuit_state="closed"\} 1$/m);
    expect(metrics).toMatch(/^skein_cluster_messages_published_total\{skein_cluster_message_kind="update"\} [1-9]/m);
    // B received the traced edit through pub/sub (its CONSUMER span proves it).
    const metricsB = await (await fetch(`http://127.0.0.1:${b.port}/metrics`)).text();
    expect(metricsB).toMatch(/^skein_updates_received_total\{skein_update_source="cluster"\} [1-9]/m);
    expect(metricsB).toMatch(/^skein_cluster_messages_received_total\{skein_cluster_message_kind="update"\} [1-9]/m);
    const healthOf = async (port: number): Promise<{ status: string; reasons: { code: string }[] }> =>
      (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { status: string; reasons: { code: string }[] };
    expect((await healthOf(a.port)).status).toBe('healthy');
    await redis.kill();
    await waitFor(async () => (await healthOf(a.port)).reasons.some((r) => r.code === 'SKEIN_ERR_CLUSTER_UNAVAILABLE'), { what: 'A degraded without Redis', timeoutMs: 10_000 });
    expect((await healthOf(a.port)).status).toBe('degraded');
    expect(await (await fetch(`http://127.0.0.1:${a.port}/metrics`)).text()).toMatch(/^skein_cluster_link_up 0$/m);
    await redis.restart();
    await waitFor(async () => (await healthOf(a.port)).status === 'healthy', { what: 'A healthy again', timeoutMs: 15_000 });
  });
});
