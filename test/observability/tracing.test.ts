import { afterEach, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait.js';
import { MemoryKv } from '../../server/src/persistence/index.js';
import type { SkeinServer } from '../../server/src/server.js';
import { ATTR, METRIC, SPAN } from '../../server/src/telemetry/names.js';
import {
  SpanKind, SpanStatusCode, activeSpan, createTestTelemetry, metricValue, type ReadableSpan, type TestTelemetry,
} from '../../server/src/telemetry/testing.js';
import { capturingLogger, Editor, FaultyKv, levelStoreOn, LoadGate, startInProcess } from './helpers.js';

/**
 * In-process tracing and metrics: a real server (LevelDB engine over an in-memory KV) with
 * telemetry whose spans go to the SDK's InMemorySpanExporter and whose metrics are read with
 * a MetricReader's collect(). Names, attributes, links and parent/child structure.
 */

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: { gate?: boolean } = {}): Promise<{ t: TestTelemetry; server: SkeinServer; gate: LoadGate | undefined }> {
  const t = await createTestTelemetry();
  const level = await levelStoreOn(new MemoryKv(), t.telemetry);
  const gate = opts.gate === true ? new LoadGate(level) : undefined;
  // A generous turn budget: these tests count one apply span per message, and messages that
  // arrive in one slow turn (cold code) would be merged into one change (transport/inbound-queue.ts).
  const server = await startInProcess({ store: gate ?? level, telemetry: t.telemetry }, { turnMaxMs: 10_000 });
  cleanups.push(() => t.telemetry.close(), () => server.close());
  return { t, server, gate };
}

const named = (spans: readonly ReadableSpan[], name: string): ReadableSpan[] => spans.filter((s) => s.name === name);
const one = (spans: readonly ReadableSpan[], name: string): ReadableSpan => {
  const found = named(spans, name);
  expect(found, `spans named ${name}`).toHaveLength(1);
  return found[0]!;
};
const parentId = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;

describe('traces of one connection and one edit', () => {
  it('upgrade → load → initial sync and backlog apply as children; later updates are roots linked to the connection', async () => {
    const { t, server, gate } = await setup({ gate: true });
    const editor = new Editor(101);
    const client = await RawClient.connect(server.url, 'traced/doc');
    cleanups.push(() => client.dispose());
    // Held in `loading`: what the client sends now waits in the load backlog.
    client.send(editor.syncStep1());
    client.send(editor.edit('a', 1));
    await client.roundTrip();
    await waitFor(() => gate!.waiting === 1, { what: 'load started' });
    gate!.release();
    await waitFor(() => named(t.spans.getFinishedSpans(), SPAN.connectionUpgrade).length === 1, { what: 'upgrade span ended' });
    await waitFor(() => named(t.spans.getFinishedSpans(), SPAN.persistenceWrite).length === 1, { what: 'first write span' });

    // A later edit: its own root span, linked to the connection.
    client.send(editor.edit('b', 2));
    await waitFor(() => named(t.spans.getFinishedSpans(), SPAN.persistenceWrite).length === 2, { what: 'second write span' });

    const spans = t.spans.getFinishedSpans();
    const upgrade = one(spans, SPAN.connectionUpgrade);
    expect(upgrade.kind).toBe(SpanKind.SERVER);
    expect(parentId(upgrade)).toBeUndefined();
    expect(upgrade.attributes[ATTR.documentName]).toBe('traced/doc');
    expect(upgrade.attributes[ATTR.connectionId]).toEqual(expect.any(Number));
    expect(upgrade.status.code).toBe(SpanStatusCode.UNSET);
    const traceId = upgrade.spanContext().traceId;

    const load = one(spans, SPAN.documentLoad);
    expect(load.spanContext().traceId).toBe(traceId);
    expect(parentId(load)).toBe(upgrade.spanContext().spanId);
    expect(load.attributes[ATTR.loadUpdates]).toBe(0);

    const sync = one(spans, SPAN.sync);
    expect(parentId(sync)).toBe(upgrade.spanContext().spanId);
    expect(sync.attributes[ATTR.replyBytes]).toEqual(expect.any(Number));

    const applies = named(spans, SPAN.updateApply);
    expect(applies).toHaveLength(2);
    const [first, second] = applies as [ReadableSpan, ReadableSpan];
    // The backlog update was applied while the connection was opening: a child of it.
    expect(parentId(first)).toBe(upgrade.spanContext().spanId);
    // The later update: a root of its own trace, linked to the connection (never an hours-long parent).
    expect(parentId(second)).toBeUndefined();
    expect(second.spanContext().traceId).not.toBe(traceId);
    expect(second.links.map((l) => l.context.spanId)).toEqual([upgrade.spanContext().spanId]);
    expect(second.kind).toBe(SpanKind.SERVER);
    expect(second.attributes[ATTR.messageType]).toBe('sync-update');
    expect(second.attributes[ATTR.updateBytes]).toEqual(expect.any(Number));

    // Each write is a child of the update that caused it, with strategy, batch size and bytes.
    for (const apply of applies) {
      const write = named(spans, SPAN.persistenceWrite).find((w) => parentId(w) === apply.spanContext().spanId);
      expect(write, 'write span under the apply span').toBeDefined();
      expect(write!.spanContext().traceId).toBe(apply.spanContext().traceId);
      expect(write!.attributes[ATTR.persistStrategy]).toBe('immediate');
      expect(write!.attributes[ATTR.persistBatchUpdates]).toBe(1);
      expect(write!.attributes[ATTR.persistBatchBytes]).toBeGreaterThan(0);
      expect(write!.attributes[ATTR.persistAttempt]).toBe(1);
      expect(write!.links.map((l) => l.context.spanId)).toContain(apply.spanContext().spanId);
    }
    // Privacy: no attribute carries update bytes or document content.
    for (const span of spans) {
      for (const value of Object.values(span.attributes)) expect(typeof value === 'string' && value.includes('\u0000')).toBe(false);
    }
  });

  it('a batch write of several traced updates links every one of them', async () => {
    const t = await createTestTelemetry();
    const kv = new FaultyKv();
    const level = await levelStoreOn(kv, t.telemetry);
    // A generous turn budget: this test is about one apply span per message, which a slow turn
    // would merge into one change (transport/inbound-queue.ts); so is a socket read that brings
    // several, so each edit below is sent once the one before it was applied.
    const server = await startInProcess({ store: level, telemetry: t.telemetry }, { turnMaxMs: 10_000 });
    cleanups.push(() => t.telemetry.close(), () => server.close());
    const editor = new Editor(202);
    const client = await RawClient.connect(server.url, 'batch/doc');
    cleanups.push(() => client.dispose());
    client.send(editor.syncStep1());
    await waitFor(() => named(t.spans.getFinishedSpans(), SPAN.connectionUpgrade).length === 1, { what: 'opened' });
    // Slow disk: while one batch is in flight, the next edits group into one batch (group commit).
    kv.delayMs = 100;
    for (let i = 0; i < 5; i++) {
      client.send(editor.edit(`k${i}`, i));
      await waitFor(() => named(t.spans.getFinishedSpans(), SPAN.updateApply).length === i + 1, { what: `edit ${i} applied` });
    }
    await waitFor(
      () => named(t.spans.getFinishedSpans(), SPAN.persistenceWrite).reduce((n, s) => n + Number(s.attributes[ATTR.persistBatchUpdates]), 0) === 5,
      { what: 'all five written', timeoutMs: 5_000 },
    );
    const writes = named(t.spans.getFinishedSpans(), SPAN.persistenceWrite);
    const grouped = writes.find((w) => Number(w.attributes[ATTR.persistBatchUpdates]) > 1);
    expect(grouped, 'a grouped batch').toBeDefined();
    expect(grouped!.links).toHaveLength(Number(grouped!.attributes[ATTR.persistBatchUpdates]));
    const applyIds = new Set(named(t.spans.getFinishedSpans(), SPAN.updateApply).map((s) => s.spanContext().spanId));
    for (const link of grouped!.links) expect(applyIds.has(link.context.spanId)).toBe(true);
  });

  it('a failed write is a failed span with the error code; the retry is attempt 2', async () => {
    const t = await createTestTelemetry();
    const kv = new FaultyKv();
    const level = await levelStoreOn(kv, t.telemetry);
    const server = await startInProcess({ store: level, telemetry: t.telemetry });
    cleanups.push(() => t.telemetry.close(), () => server.close());
    const editor = new Editor(303);
    const client = await RawClient.connect(server.url, 'failing/doc');
    cleanups.push(() => client.dispose());
    client.send(editor.syncStep1());
    await waitFor(() => named(t.spans.getFinishedSpans(), SPAN.connectionUpgrade).length === 1, { what: 'opened' });
    kv.failBatches = 1;
    client.send(editor.edit('x', 1));
    await waitFor(() => named(t.spans.getFinishedSpans(), SPAN.persistenceWrite).length === 2, { what: 'failed write and retry' });
    const [failed, retried] = named(t.spans.getFinishedSpans(), SPAN.persistenceWrite) as [ReadableSpan, ReadableSpan];
    expect(failed.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed.attributes[ATTR.errorType]).toBe('LEVEL_IO_ERROR');
    expect(failed.attributes[ATTR.persistAttempt]).toBe(1);
    expect(retried.status.code).toBe(SpanStatusCode.UNSET);
    expect(retried.attributes[ATTR.persistAttempt]).toBe(2);
    expect(parentId(retried)).toBe(parentId(failed));
    const m = (await t.reader.collect()).resourceMetrics;
    expect(metricValue(m, METRIC.persistenceFailures, { [ATTR.persistStrategy]: 'immediate', [ATTR.errorType]: 'LEVEL_IO_ERROR' })).toBe(1);
    expect(metricValue(m, METRIC.persistenceWrites, { [ATTR.persistStrategy]: 'immediate', [ATTR.outcome]: 'ok' })).toBe(1);
  });
});

describe('metrics', () => {
  it('count connections, documents, updates and bytes in and out, writes by strategy', async () => {
    const { t, server } = await setup();
    const a = new Editor(1);
    const b = new Editor(2);
    const ca = await RawClient.connect(server.url, 'metrics/doc');
    const cb = await RawClient.connect(server.url, 'metrics/doc');
    cleanups.push(() => ca.dispose(), () => cb.dispose());
    ca.send(a.syncStep1());
    cb.send(b.syncStep1());
    await waitFor(() => named(t.spans.getFinishedSpans(), SPAN.connectionUpgrade).length === 2, { what: 'both open' });
    // Both joins answered before the edits (a join after an edit gets the edit after its reply).
    await waitFor(async () => metricValue((await t.reader.collect()).resourceMetrics, METRIC.syncRequests) === 2, { what: 'both synced' });
    const frames = [a.edit('x', 1), a.edit('y', 2), a.edit('z', 'three')];
    // One at a time: updates that arrive in one socket read are applied as one change (one span).
    for (const [i, f] of frames.entries()) {
      ca.send(f);
      await waitFor(() => named(t.spans.getFinishedSpans(), SPAN.updateApply).length === i + 1, { what: `edit ${i} applied` });
    }
    await waitFor(() => named(t.spans.getFinishedSpans(), SPAN.persistenceWrite).length >= 1, { what: 'written' });
    await waitFor(async () => metricValue((await t.reader.collect()).resourceMetrics, METRIC.persistenceWrittenUpdates) === 3, { what: 'written' });
    // The three updates reach b coalesced: one to three frames, depending on how many arrived in one turn.
    await waitFor(async () => (metricValue((await t.reader.collect()).resourceMetrics, METRIC.messagesSent) ?? 0) >= 2 * 2 + 1, { what: 'fanned out' });

    const m = (await t.reader.collect()).resourceMetrics;
    expect(metricValue(m, METRIC.connections)).toBe(2);
    expect(metricValue(m, METRIC.documentsLoaded)).toBe(1);
    expect(metricValue(m, METRIC.documentLoads, { [ATTR.outcome]: 'ok' })).toBe(1);
    expect(metricValue(m, METRIC.connectionUpgrades, { [ATTR.outcome]: 'ok' })).toBe(2);
    expect(metricValue(m, METRIC.updatesReceived, { [ATTR.updateSource]: 'client' })).toBe(3);
    const updateBytes = frames.reduce((n, f) => n + f.byteLength, 0);
    // Update payload bytes (the frame minus its 2-3 header bytes).
    const counted = metricValue(m, METRIC.updatesReceivedBytes, { [ATTR.updateSource]: 'client' }) ?? 0;
    expect(counted).toBeGreaterThan(updateBytes - 3 * 4);
    expect(counted).toBeLessThan(updateBytes);
    expect(metricValue(m, METRIC.syncRequests)).toBe(2);
    expect(metricValue(m, METRIC.messagesSent)).toBeGreaterThanOrEqual(2 * 2 + 1);
    expect(metricValue(m, METRIC.messagesSent)).toBeLessThanOrEqual(2 * 2 + 3);
    expect(metricValue(m, METRIC.messagesSentBytes)).toBeGreaterThan(0);
    expect(metricValue(m, METRIC.fanoutDuration, { [ATTR.updateSource]: 'client' })).toBe(3); // histogram count
    expect(metricValue(m, METRIC.persistenceWriteDuration, { [ATTR.persistStrategy]: 'immediate' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(m, METRIC.persistencePendingUpdates, { [ATTR.persistStrategy]: 'immediate' })).toBe(0);
    expect(metricValue(m, METRIC.healthStatus)).toBe(0);
    expect(metricValue(m, METRIC.heapUsed)).toBeGreaterThan(0);
    // No metric attribute names a document.
    for (const scope of m.scopeMetrics) {
      for (const metric of scope.metrics) {
        for (const point of metric.dataPoints) expect(Object.values(point.attributes)).not.toContain('metrics/doc');
      }
    }
  });

  it('with tracing off nothing is traced and metrics still count', async () => {
    const t = await createTestTelemetry({ tracing: false });
    expect(t.telemetry.tracing).toBe(false);
    const level = await levelStoreOn(new MemoryKv(), t.telemetry);
    const server = await startInProcess({ store: level, telemetry: t.telemetry });
    cleanups.push(() => t.telemetry.close(), () => server.close());
    const editor = new Editor(7);
    const client = await RawClient.connect(server.url, 'untraced');
    cleanups.push(() => client.dispose());
    client.send(editor.syncStep1());
    client.send(editor.edit('k', 1));
    await waitFor(async () => metricValue((await t.reader.collect()).resourceMetrics, METRIC.persistenceWrittenUpdates) === 1, { what: 'written' });
    expect(t.spans.getFinishedSpans()).toHaveLength(0);
  });
});

describe('logs carry the active span', () => {
  it('adds trace_id and span_id inside a span, nothing outside', async () => {
    const t = await createTestTelemetry();
    cleanups.push(() => t.telemetry.close());
    const { logger, lines } = capturingLogger();
    const upgrade = t.telemetry.upgradeStarted('log/doc');
    upgrade.run(() => logger.info('inside'));
    logger.info('outside');
    upgrade.closed();
    const span = one(t.spans.getFinishedSpans(), SPAN.connectionUpgrade);
    const inside = lines.find((l) => l.msg === 'inside');
    expect(inside?.trace_id).toBe(span.spanContext().traceId);
    expect(inside?.span_id).toBe(span.spanContext().spanId);
    expect(inside?.trace_flags).toBe('01');
    const outside = lines.find((l) => l.msg === 'outside');
    expect(outside).toBeDefined();
    expect(outside).not.toHaveProperty('trace_id');
    expect(activeSpan()).toBeUndefined();
  });
});

describe('trace context across nodes (the cluster API)', () => {
  it('publish → traceparent → process: a PRODUCER span on one node is the parent of the CONSUMER span on the other', async () => {
    const a = await createTestTelemetry({ serviceInstanceId: 'a' });
    const b = await createTestTelemetry({ serviceInstanceId: 'b' });
    cleanups.push(() => a.telemetry.close(), () => b.telemetry.close());
    let wire = '';
    const conn = a.telemetry.upgradeStarted('x');
    conn.opened(1);
    a.telemetry.applyUpdate(conn, 'sync-update', 10, 0, () =>
      a.telemetry.clusterPublish('x', 'update', 10, (traceparent) => (wire = traceparent)),
    );
    expect(wire).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    let inside: string | undefined;
    b.telemetry.clusterProcess(wire, 'x', 'update', 10, () => (inside = activeSpan()?.spanContext().traceId));

    const apply = one(a.spans.getFinishedSpans(), SPAN.updateApply);
    const publish = one(a.spans.getFinishedSpans(), SPAN.clusterPublish);
    const process = one(b.spans.getFinishedSpans(), SPAN.clusterProcess);
    expect(publish.kind).toBe(SpanKind.PRODUCER);
    expect(parentId(publish)).toBe(apply.spanContext().spanId);
    expect(process.kind).toBe(SpanKind.CONSUMER);
    expect(process.spanContext().traceId).toBe(apply.spanContext().traceId);
    expect(parentId(process)).toBe(publish.spanContext().spanId);
    expect(inside).toBe(apply.spanContext().traceId);
    expect(process.attributes[ATTR.messagingOperationType]).toBe('process');
    expect(process.attributes[ATTR.documentName]).toBe('x');

    const m = (await b.reader.collect()).resourceMetrics;
    expect(metricValue(m, METRIC.clusterMessagesReceived, { [ATTR.messagingKind]: 'update' })).toBe(1);
    expect(metricValue(m, METRIC.updatesReceived, { [ATTR.updateSource]: 'cluster' })).toBe(1);
    expect(metricValue(m, METRIC.fanoutDuration, { [ATTR.updateSource]: 'cluster' })).toBe(1);
  });

  it('untraced kinds and a missing or malformed traceparent never fail; tracing off sends an empty traceparent', async () => {
    const on = await createTestTelemetry();
    const off = await createTestTelemetry({ tracing: false });
    cleanups.push(() => on.telemetry.close(), () => off.telemetry.close());
    expect(off.telemetry.clusterPublish('x', 'update', 1, (tp) => tp)).toBe('');
    expect(on.telemetry.clusterPublish('x', 'heartbeat', 1, (tp) => tp)).toBe('');
    for (const bad of ['', 'garbage', `00-${'0'.repeat(32)}-${'1'.repeat(16)}-01`]) {
      expect(on.telemetry.clusterProcess(bad, 'x', 'update', 1, () => 42)).toBe(42);
    }
    const roots = named(on.spans.getFinishedSpans(), SPAN.clusterProcess);
    expect(roots).toHaveLength(3);
    for (const span of roots) expect(parentId(span)).toBeUndefined();
    on.telemetry.antiEntropyRepair('received');
    on.telemetry.antiEntropyRepair('sent');
    on.telemetry.antiEntropyRepair('sent');
    const m = (await on.reader.collect()).resourceMetrics;
    expect(metricValue(m, METRIC.clusterAntiEntropyRepairs, { [ATTR.repairDirection]: 'sent' })).toBe(2);
    expect(metricValue(m, METRIC.clusterMessagesPublished, { [ATTR.messagingKind]: 'heartbeat' })).toBe(1);
  });
});
