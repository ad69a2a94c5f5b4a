import {
  SpanKind, context, createNoopMeter, type Context, type Link, type Tracer,
} from '@opentelemetry/api';
import type { ServerResponse } from 'node:http';
import { Instruments, SOURCE_ATTRS } from './instruments.js';
import type { Logger } from '../logging/logger.js';
import { silentLogger } from '../logging/logger.js';
import { ATTR, SPAN } from './names.js';
import type { StrategyName } from '../config/telemetry-parsers.js';
import {
  buildResource, startMetrics, startTracing, type MetricsHandle, type MetricsSetup, type ResourceOptions, type TracingHandle, type TracingSetup,
} from './sdk.js';
import { ConnTrace, where, type ConnectionTrace } from './connection-trace.js';
import { MAX_LINKS, errorCode, failSpan, inSpan, inSpanAsync, spanContextOf } from './spans.js';
import type { TelemetrySources, WriteListener } from './sources.js';
import type { HealthProbes } from '../health/probes.js';
import type { ClusterProbes } from '../cluster/probes.js';
import type { DocumentProbes, LoadTrace } from '../documents/probes.js';
import type { PersistenceProbes, TraceContext, TracedItem } from '../persistence/probes.js';
import type { TransportProbes } from '../transport/probes.js';
import type { WebhookProbes } from '../webhooks/probes.js';
import { extractTraceContext, formatTraceparent, injectTraceContext } from './trace-context.js';

export interface TelemetryOptions {
  readonly resource: ResourceOptions;
  /** Absent: tracing off (a no-op tracer; hooks cost a branch). */
  readonly tracing?: TracingSetup;
  /** Absent: metrics off (a no-op meter). */
  readonly metrics?: MetricsSetup;
}

/** The opaque TraceContext other modules hold is an OpenTelemetry context underneath. */
const asTraceContext = (ctx: Context): TraceContext => ctx as unknown as TraceContext;
const asContext = (ctx: TraceContext | undefined): Context | undefined => ctx as unknown as Context | undefined;

/** Cluster message kinds traced as spans (others are only counted: heartbeats, awareness, requests). */
const TRACED_KINDS: ReadonlySet<string> = new Set(['update', 'sync-reply']);
const CHANNEL_TEMPLATE = 'skein:{doc}:ch';

/**
 * Skein's telemetry: traces (off unless configured) and metrics (cheap counters, on by
 * default), including the health module's alerts and scans. It implements the probe ports the modules declare
 * (`probes.ts` in each module); the composition root plugs it in. Each probe costs a branch and a few
 * additions while tracing is off.
 */
export class Telemetry implements TransportProbes, DocumentProbes, PersistenceProbes, ClusterProbes, HealthProbes, WebhookProbes {
  /** Tracing is on (spans are recorded per the sampler). */
  readonly tracing: boolean;
  readonly #tracer: Tracer | undefined;
  readonly #tracingHandle: TracingHandle | undefined;
  readonly #metricsHandle: MetricsHandle | undefined;
  readonly #inst: Instruments;
  readonly #logger: Logger;
  #sources: TelemetrySources | undefined;
  #writes: WriteListener | undefined;

  /** @internal use `createTelemetry` or `Telemetry.disabled()`. */
  constructor(logger: Logger, tracing?: TracingHandle, metrics?: MetricsHandle) {
    this.#logger = logger;
    this.#tracingHandle = tracing;
    this.#tracer = tracing?.tracer;
    this.tracing = tracing !== undefined;
    this.#metricsHandle = metrics;
    this.#inst = new Instruments(metrics?.meter ?? createNoopMeter(), { sources: () => this.#sources });
  }

  /** Tracing and metrics off (modules that get no probes use their own no-op defaults instead). */
  static disabled(): Telemetry {
    return (disabled ??= new Telemetry(silentLogger()));
  }

  /** Answers a Prometheus scrape; undefined when metrics are off. */
  get metricsHandler(): ((res: ServerResponse) => void) | undefined {
    return this.#metricsHandle?.serve;
  }

  // --- webhooks --------------------------------------------------------------------------

  webhookDelivered(endpoint: string, type: string, ms: number): void {
    this.#inst.webhooks.delivered(endpoint, type, ms);
  }

  webhookFailed(endpoint: string, type: string, reason: 'http' | 'timeout' | 'network', ms: number): void {
    this.#inst.webhooks.failure(endpoint, type, reason, ms);
  }

  webhookDeadLettered(endpoint: string, type: string): void {
    this.#inst.webhooks.deadLettered.add(1, { [ATTR.webhookEndpoint]: endpoint, [ATTR.webhookEventType]: type });
  }

  // --- transport -------------------------------------------------------------------------

  upgradeRefused(code: string): void {
    this.#inst.upgrades.add(1, { [ATTR.outcome]: 'refused', [ATTR.errorType]: code });
  }

  /** A limit at the edge refused an upgrade, a message or an update (`kind`: auth/limits.ts `LimitKind`). */
  limitRefused(kind: string): void {
    this.#inst.limitRefusals.add(1, { [ATTR.limitKind]: kind });
  }

  /** One function for every upgrade's trace (not a closure per connection). */
  readonly #countUpgrade = (outcome: string): void => {
    this.#inst.upgrades.add(1, { [ATTR.outcome]: outcome });
  };

  upgradeStarted(docName: string): ConnectionTrace {
    const span = this.#tracer?.startSpan(SPAN.connectionUpgrade, { kind: SpanKind.SERVER, root: true });
    if (span?.isRecording() === true) span.setAttribute(ATTR.documentName, docName);
    return new ConnTrace(span, this.#countUpgrade);
  }

  /** Apply one client update message (`fn`: apply, hand to the fan-out, persist) in its own span. */
  applyUpdate<T>(conn: ConnectionTrace | undefined, type: string, bytes: number, peers: number, fn: () => T): T {
    const t = this.#inst.traffic;
    t.updatesFromClients++;
    t.updateBytesFromClients += bytes;
    const start = performance.now();
    const tracer = this.#tracer;
    const out = tracer === undefined ? fn() : inSpan(tracer, SPAN.updateApply, SpanKind.SERVER, where(conn), (span) => {
      if (span.isRecording()) span.setAttributes({ [ATTR.messageType]: type, [ATTR.updateBytes]: bytes, [ATTR.peers]: peers });
      return fn();
    });
    this.#inst.fanoutDuration.record((performance.now() - start) / 1000, SOURCE_ATTRS.client);
    return out;
  }

  /** A sync step 1 was answered with sync step 2 (`startedAt`: `performance.now()` when it arrived). */
  syncAnswered(conn: ConnectionTrace | undefined, startedAt: number, stateVectorBytes: number, replyBytes: number): void {
    this.#inst.traffic.syncRequests++;
    const tracer = this.#tracer;
    if (tracer === undefined) return;
    const w = where(conn);
    const span = tracer.startSpan(
      SPAN.sync,
      { kind: SpanKind.SERVER, startTime: startedAt, ...(w.parent === undefined ? { root: true, links: [...w.links] } : {}) },
      w.parent,
    );
    if (span.isRecording()) span.setAttributes({ [ATTR.stateVectorBytes]: stateVectorBytes, [ATTR.replyBytes]: replyBytes });
    span.end();
  }

  awarenessReceived(): void {
    this.#inst.traffic.awareness++;
  }

  updatesMerged(messages: number): void {
    this.#inst.traffic.updatesFromClients += messages - 1;
  }

  readOnlyUpdateDropped(): void {
    this.#inst.traffic.readOnlyDropped++;
  }

  writeRefused(): void {
    this.#inst.traffic.writesRefused++;
  }

  messageSent(bytes: number): void {
    const t = this.#inst.traffic;
    t.messagesSent++;
    t.bytesSent += bytes;
  }

  // --- documents ---------------------------------------------------------------------------

  /** A document load starts (in the active context: the opening connection's trace). */
  documentLoadStarted(name: string): LoadTrace {
    const start = performance.now();
    const span = this.#tracer?.startSpan(SPAN.documentLoad, { kind: SpanKind.INTERNAL }, context.active());
    if (span?.isRecording() === true) span.setAttribute(ATTR.documentName, name);
    let ended = false;
    const end = (outcome: string): void => {
      if (ended) return;
      ended = true;
      this.#inst.loads.add(1, { [ATTR.outcome]: outcome });
      this.#inst.loadDuration.record((performance.now() - start) / 1000, { [ATTR.outcome]: outcome });
      span?.end();
    };
    return {
      loaded: (updates, remoteParts) => {
        if (span?.isRecording() === true) {
          let bytes = 0;
          for (const u of updates) bytes += u.byteLength;
          span.setAttributes({ [ATTR.loadUpdates]: updates.length, [ATTR.loadBytes]: bytes, [ATTR.loadRemoteParts]: remoteParts });
        }
        end('ok');
      },
      failed: (code) => {
        if (span !== undefined && !ended) failSpan(span, code);
        end('failed');
      },
    };
  }

  // --- persistence ---------------------------------------------------------------------------

  /** The context an append is accepted in (undefined while tracing is off): its write span's parent or link. */
  captureContext(): TraceContext | undefined {
    return this.#tracer === undefined ? undefined : asTraceContext(context.active());
  }

  /** One synced batch write (`write`) of `items`; feeds the latency histogram, the failure counter and the health model. */
  async persistenceWrite(strategy: StrategyName, items: readonly TracedItem[], attempt: number, write: () => Promise<void>): Promise<void> {
    const start = performance.now();
    const attrs = Instruments.strategyAttrs(strategy);
    try {
      const tracer = this.#tracer;
      if (tracer === undefined) await write();
      else await this.#tracedWrite(tracer, strategy, items, attempt, write);
    } catch (err) {
      const ms = performance.now() - start;
      this.#writes?.writeFinished(strategy, ms, false);
      this.#inst.written[strategy].failed++;
      this.#inst.writeFailures.add(1, { ...attrs, [ATTR.errorType]: errorCode(err) });
      throw err;
    }
    const ms = performance.now() - start;
    this.#writes?.writeFinished(strategy, ms, true);
    this.#inst.writeDuration.record(ms / 1000, attrs);
    const counters = this.#inst.written[strategy];
    counters.ok++;
    counters.updates += items.length;
    for (const item of items) counters.bytes += item.bytes.byteLength;
  }

  #tracedWrite(tracer: Tracer, strategy: StrategyName, items: readonly TracedItem[], attempt: number, write: () => Promise<void>): Promise<void> {
    // The first traced update is the parent (the common one-update batch joins its trace);
    // every traced update of the batch is linked (OpenTelemetry's batch pattern).
    const links: Link[] = [];
    let parent: Context | undefined;
    for (const item of items) {
      const trace = asContext(item.trace);
      const sc = spanContextOf(trace);
      if (sc === undefined) continue;
      parent ??= trace;
      if (links.length < MAX_LINKS) links.push({ context: sc });
    }
    if (parent === undefined) return write();
    return inSpanAsync(tracer, SPAN.persistenceWrite, SpanKind.INTERNAL, { parent, links }, (span) => {
      if (span.isRecording()) {
        let bytes = 0;
        for (const item of items) bytes += item.bytes.byteLength;
        span.setAttributes({ [ATTR.persistStrategy]: strategy, [ATTR.persistBatchUpdates]: items.length, [ATTR.persistBatchBytes]: bytes, [ATTR.persistAttempt]: attempt });
      }
      return write();
    });
  }

  // --- cluster -------------------------------------------------------------------------------

  /**
   * Publish a message to the other nodes: `publish` receives the `traceparent` to put in the
   * envelope. Updates and anti-entropy replies get a PRODUCER span (child of the active span,
   * e.g. the client update that caused it); other kinds carry the active context, if any.
   */
  clusterPublish<T>(docName: string | undefined, kind: string, bytes: number, publish: (traceparent: string) => T): T {
    this.#inst.clusterPublished.add(1, { [ATTR.messagingKind]: kind });
    const tracer = this.#tracer;
    if (tracer === undefined) return publish('');
    if (!TRACED_KINDS.has(kind)) return publish(injectTraceContext());
    const active = context.active();
    const parent = spanContextOf(active) === undefined ? undefined : active;
    return inSpan(tracer, SPAN.clusterPublish, SpanKind.PRODUCER, { parent }, (span) => {
      if (span.isRecording()) span.setAttributes(messagingAttrs('send', 'publish', docName, kind, bytes));
      return publish(formatTraceparent(span.spanContext()));
    });
  }

  /** Process a message another node published, in a CONSUMER span whose parent is the envelope's trace context. */
  clusterProcess<T>(traceparent: string, docName: string | undefined, kind: string, bytes: number, process: () => T): T {
    this.#inst.clusterReceived.add(1, { [ATTR.messagingKind]: kind });
    const isUpdate = kind === 'update';
    if (isUpdate) {
      this.#inst.traffic.updatesFromCluster++;
      this.#inst.traffic.updateBytesFromCluster += bytes;
    }
    const tracer = this.#tracer;
    const start = performance.now();
    let out: T;
    if (tracer === undefined || !TRACED_KINDS.has(kind)) out = process();
    else {
      const remote = extractTraceContext(traceparent);
      const parent = spanContextOf(remote) === undefined ? undefined : remote;
      out = inSpan(tracer, SPAN.clusterProcess, SpanKind.CONSUMER, { parent }, (span) => {
        if (span.isRecording()) span.setAttributes(messagingAttrs('process', 'process', docName, kind, bytes));
        return process();
      });
    }
    if (isUpdate) this.#inst.fanoutDuration.record((performance.now() - start) / 1000, SOURCE_ATTRS.cluster);
    return out;
  }

  /** Anti-entropy healed a gap: a diff was applied here (`received`) or sent to a peer (`sent`). */
  antiEntropyRepair(direction: 'received' | 'sent'): void {
    this.#inst.repairs.add(1, { [ATTR.repairDirection]: direction });
  }

  // --- health -------------------------------------------------------------------------------

  alertRaised(code: string): void {
    this.#inst.alerts.add(1, { [ATTR.healthCode]: code });
  }

  integrityScanned(outcome: 'ok' | 'mismatch' | 'damaged' | 'failed', mismatches: number): void {
    this.#inst.integrityScans.add(1, { [ATTR.outcome]: outcome });
    if (mismatches > 0) this.#inst.integrityMismatches.add(mismatches);
  }

  // --- lifecycle -----------------------------------------------------------------------------

  /**
   * Start observing the server: gauges read `sources`; each batch write's outcome goes to
   * `writes` (the health model). Once.
   */
  attach(sources: TelemetrySources, writes?: WriteListener): void {
    if (this.#sources !== undefined) return;
    this.#sources = sources;
    this.#writes = writes;
  }

  /** Stop reporting to the server (it is closing); spans and metrics still flush in `shutdown`. */
  detach(): void {
    this.#writes = undefined;
  }

  /** Flush pending spans. */
  async forceFlush(): Promise<void> {
    await this.#tracingHandle?.forceFlush();
  }

  /** Stop timers, flush and shut the SDK down. Errors are logged, never thrown. */
  async close(): Promise<void> {
    this.detach();
    const results = await Promise.allSettled([this.#tracingHandle?.shutdown(), this.#metricsHandle?.shutdown()]);
    for (const r of results) {
      if (r.status === 'rejected') this.#logger.warn({ err: r.reason instanceof Error ? r.reason.message : String(r.reason) }, 'telemetry shutdown failed');
    }
  }
}

function messagingAttrs(type: string, name: string, docName: string | undefined, kind: string, bytes: number): Record<string, string | number> {
  return {
    [ATTR.messagingSystem]: 'redis',
    [ATTR.messagingOperationType]: type,
    [ATTR.messagingOperationName]: name,
    [ATTR.messagingDestinationTemplate]: CHANNEL_TEMPLATE,
    [ATTR.messagingBodySize]: bytes,
    [ATTR.messagingKind]: kind,
    ...(docName === undefined ? {} : { [ATTR.documentName]: docName }),
  };
}

let disabled: Telemetry | undefined;

/** Build telemetry: loads the SDK parts that are switched on (dynamic imports), nothing else. */
export async function createTelemetry(options: TelemetryOptions, logger: Logger, version: string): Promise<Telemetry> {
  if (options.tracing === undefined && options.metrics === undefined) return new Telemetry(logger);
  const resource = await buildResource(options.resource);
  const tracing = options.tracing === undefined ? undefined : await startTracing(options.tracing, resource, version);
  const metrics = options.metrics === undefined ? undefined : await startMetrics(options.metrics, resource, version);
  return new Telemetry(logger, tracing, metrics);
}

export type { ConnectionTrace, LoadTrace, MetricsSetup, TraceContext, TracedItem, TracingSetup };
