import type { Attributes, Counter, Histogram, Meter, ObservableResult } from '@opentelemetry/api';
import { ATTR, METRIC } from './names.js';
import { STRATEGY_KINDS, type StrategyName } from '../config/telemetry-parsers.js';
import { heapStats } from './runtime.js';
import type { TelemetrySources } from './sources.js';
import { WebhookInstruments } from './webhook-instruments.js';

/**
 * Hot-path counters as plain numbers: incrementing one costs what `x++` costs; observable
 * counters read them when metrics are collected (a scrape), never on the hot path.
 */
export class TrafficCounters {
  updatesFromClients = 0;
  updateBytesFromClients = 0;
  updatesFromCluster = 0;
  updateBytesFromCluster = 0;
  awareness = 0;
  readOnlyDropped = 0;
  writesRefused = 0;
  syncRequests = 0;
  messagesSent = 0;
  bytesSent = 0;
}

/** Batch writes of one persistence strategy, as plain numbers (observed at collection). */
export class WriteCounters {
  ok = 0;
  failed = 0;
  updates = 0;
  bytes = 0;
}

/** Seconds buckets for latencies from sub-millisecond fan-out to multi-second loads. */
const SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const CLIENT: Attributes = Object.freeze({ [ATTR.updateSource]: 'client' });
const CLUSTER: Attributes = Object.freeze({ [ATTR.updateSource]: 'cluster' });
export const SOURCE_ATTRS = { client: CLIENT, cluster: CLUSTER } as const;

const HEALTH_VALUE = { healthy: 0, degraded: 1, unhealthy: 2 } as const;
const CIRCUIT_STATES = ['closed', 'half-open', 'open'] as const;

/** Per-strategy attribute objects, built once (the SDK hashes attributes on every record). */
const STRATEGY_ATTRS: Record<StrategyName, Attributes> = {
  immediate: Object.freeze({ [ATTR.persistStrategy]: 'immediate' }),
  debounced: Object.freeze({ [ATTR.persistStrategy]: 'debounced' }),
};
const outcomeAttrs = (strategy: StrategyName): { ok: Attributes; failed: Attributes } => ({
  ok: Object.freeze({ [ATTR.persistStrategy]: strategy, [ATTR.outcome]: 'ok' }),
  failed: Object.freeze({ [ATTR.persistStrategy]: strategy, [ATTR.outcome]: 'failed' }),
});
const OUTCOME_ATTRS: Record<StrategyName, { ok: Attributes; failed: Attributes }> = {
  immediate: outcomeAttrs('immediate'),
  debounced: outcomeAttrs('debounced'),
};

export interface ObservedState {
  readonly sources: () => TelemetrySources | undefined;
}

/** Every instrument Skein records, on the given meter (a no-op meter when metrics are off). */
export class Instruments {
  readonly traffic = new TrafficCounters();
  readonly fanoutDuration: Histogram;
  readonly loadDuration: Histogram;
  readonly loads: Counter;
  readonly upgrades: Counter;
  readonly writeDuration: Histogram;
  /** Per strategy: batch writes by outcome, updates and bytes made durable (hot path: `x++`). */
  readonly written: Record<StrategyName, WriteCounters> = { immediate: new WriteCounters(), debounced: new WriteCounters() };
  readonly writeFailures: Counter;
  readonly clusterPublished: Counter;
  readonly clusterReceived: Counter;
  readonly repairs: Counter;
  readonly alerts: Counter;
  readonly integrityScans: Counter;
  readonly integrityMismatches: Counter;
  readonly limitRefusals: Counter;
  readonly webhooks: WebhookInstruments;

  constructor(meter: Meter, observed: ObservedState) {
    const seconds = { unit: 's', advice: { explicitBucketBoundaries: SECONDS_BUCKETS } };
    this.fanoutDuration = meter.createHistogram(METRIC.fanoutDuration, {
      ...seconds, description: 'Time to apply one update and queue it on every local connection, by source.' });
    this.loadDuration = meter.createHistogram(METRIC.documentLoadDuration, { ...seconds, description: 'Document load time (store and shared tier).' });
    this.loads = meter.createCounter(METRIC.documentLoads, { unit: '{load}', description: 'Document loads, by outcome.' });
    this.upgrades = meter.createCounter(METRIC.connectionUpgrades, { unit: '{connection}', description: 'WebSocket connections opened, by outcome.' });
    this.writeDuration = meter.createHistogram(METRIC.persistenceWriteDuration, {
      ...seconds, description: 'Latency of one synced batch write of a document log, by strategy.' });
    this.writeFailures = meter.createCounter(METRIC.persistenceFailures, { unit: '{batch}', description: 'Failed batch writes (retried), by strategy and error code.' });
    this.clusterPublished = meter.createCounter(METRIC.clusterMessagesPublished, { unit: '{message}', description: 'Messages published to the cluster, by kind.' });
    this.clusterReceived = meter.createCounter(METRIC.clusterMessagesReceived, { unit: '{message}', description: 'Messages received from other nodes, by kind.' });
    this.repairs = meter.createCounter(METRIC.clusterAntiEntropyRepairs, { unit: '{repair}', description: 'Anti-entropy diffs applied (received) or sent, by direction.' });
    this.alerts = meter.createCounter(METRIC.healthAlerts, { unit: '{alert}', description: 'Health alerts raised, by code.' });
    this.integrityScans = meter.createCounter(METRIC.integrityScans, { unit: '{scan}', description: 'Background integrity scans, by outcome.' });
    this.integrityMismatches = meter.createCounter(METRIC.integrityMismatches, { unit: '{document}', description: 'Documents whose stored state did not match memory.' });
    this.limitRefusals = meter.createCounter(METRIC.limitRefusals, { unit: '{refusal}', description: 'Upgrades, messages and updates refused by a limit at the edge, by kind.' });
    this.webhooks = new WebhookInstruments(meter, observed.sources);
    this.#observeTraffic(meter);
    this.#observeState(meter, observed);
  }

  static strategyAttrs(strategy: StrategyName): Attributes {
    return STRATEGY_ATTRS[strategy];
  }

  #observeTraffic(meter: Meter): void {
    const t = this.traffic;
    const counter = (name: string, unit: string, description: string, read: (r: ObservableResult) => void): void =>
      meter.createObservableCounter(name, { unit, description }).addCallback(read);
    counter(METRIC.updatesReceived, '{update}', 'Update messages received, by source (client, cluster).', (r) => {
      r.observe(t.updatesFromClients, CLIENT);
      r.observe(t.updatesFromCluster, CLUSTER);
    });
    counter(METRIC.updatesReceivedBytes, 'By', 'Bytes of the updates received, by source.', (r) => {
      r.observe(t.updateBytesFromClients, CLIENT);
      r.observe(t.updateBytesFromCluster, CLUSTER);
    });
    counter(METRIC.awarenessReceived, '{message}', 'Awareness messages received from clients.', (r) => r.observe(t.awareness));
    counter(METRIC.readOnlyDropped, '{update}', 'Updates sent by read-only sessions and dropped (never applied, stored or forwarded).', (r) => r.observe(t.readOnlyDropped));
    counter(METRIC.writesRefused, '{update}', 'Updates refused because too many bytes waited for storage (--max-unpersisted-bytes).', (r) => r.observe(t.writesRefused));
    counter(METRIC.syncRequests, '{message}', 'Sync step 1 messages answered.', (r) => r.observe(t.syncRequests));
    counter(METRIC.messagesSent, '{message}', 'WebSocket messages sent to clients.', (r) => r.observe(t.messagesSent));
    counter(METRIC.messagesSentBytes, 'By', 'Bytes sent to clients.', (r) => r.observe(t.bytesSent));
    const w = this.written;
    const perStrategy = (read: (c: WriteCounters, strategy: StrategyName) => void): void => {
      for (const strategy of STRATEGY_KINDS) read(w[strategy], strategy);
    };
    counter(METRIC.persistenceWrites, '{batch}', 'Batch writes, by strategy and outcome.', (r) => perStrategy((c, strategy) => {
      r.observe(c.ok, OUTCOME_ATTRS[strategy].ok);
      r.observe(c.failed, OUTCOME_ATTRS[strategy].failed);
    }));
    counter(METRIC.persistenceWrittenUpdates, '{update}', 'Updates made durable, by strategy.', (r) => perStrategy((c, strategy) => r.observe(c.updates, STRATEGY_ATTRS[strategy])));
    counter(METRIC.persistenceWrittenBytes, 'By', 'Update bytes made durable, by strategy.', (r) => perStrategy((c, strategy) => r.observe(c.bytes, STRATEGY_ATTRS[strategy])));
  }

  #observeState(meter: Meter, o: ObservedState): void {
    const gauge = (name: string, unit: string, description: string, read: (r: ObservableResult, s: TelemetrySources) => void): void =>
      meter.createObservableGauge(name, { unit, description }).addCallback((r) => {
        const sources = o.sources();
        if (sources !== undefined) read(r, sources);
      });
    gauge(METRIC.connections, '{connection}', 'Open WebSocket connections.', (r, s) => r.observe(s.connections()));
    gauge(METRIC.documentsLoaded, '{document}', 'Documents loaded in memory.', (r, s) => r.observe(s.documents()));
    gauge(METRIC.documentsDormant, '{document}', 'Loaded documents that keep only their encoded state (no Y.Doc).', (r, s) => r.observe(s.dormantDocuments?.() ?? 0));
    gauge(METRIC.persistencePendingUpdates, '{update}', 'Accepted updates not yet durable (unacknowledged), by strategy.', (r, s) => {
      const stats = s.storeStats?.();
      if (stats !== undefined) for (const k of STRATEGY_KINDS) r.observe(stats.pending[k].updates, STRATEGY_ATTRS[k]);
    });
    gauge(METRIC.persistencePendingBytes, 'By', 'Bytes of the accepted updates not yet durable, by strategy.', (r, s) => {
      const stats = s.storeStats?.();
      if (stats !== undefined) for (const k of STRATEGY_KINDS) r.observe(stats.pending[k].bytes, STRATEGY_ATTRS[k]);
    });
    gauge(METRIC.persistenceConsecutiveFailures, '{batch}', 'Failed batch writes since the last successful one.', (r, s) => {
      const stats = s.storeStats?.();
      if (stats !== undefined) r.observe(stats.consecutiveFailures);
    });
    gauge(METRIC.persistenceQuarantinedRecords, '{record}', 'Damaged records in quarantine.', (r, s) => {
      const stats = s.storeStats?.();
      if (stats !== undefined) r.observe(stats.quarantinedRecords);
    });
    gauge(METRIC.clusterOutboxDepth, '{update}', 'Updates in the outbox, on their way to the shared tier.', (r, s) => {
      const c = s.cluster?.();
      if (c !== undefined) r.observe(c.outbox);
    });
    gauge(METRIC.clusterLinkUp, '1', '1 while the Redis link is up, else 0.', (r, s) => {
      const c = s.cluster?.();
      if (c !== undefined) r.observe(c.linkState === 'up' ? 1 : 0);
    });
    gauge(METRIC.clusterCircuitState, '1', 'Redis circuit breaker: 1 for the current state, 0 for the others.', (r, s) => {
      const c = s.cluster?.();
      if (c !== undefined) for (const state of CIRCUIT_STATES) r.observe(c.breaker === state ? 1 : 0, { [ATTR.circuitState]: state });
    });
    gauge(METRIC.clusterNodes, '{node}', 'Other live nodes of the cluster.', (r, s) => {
      const c = s.cluster?.();
      if (c !== undefined) r.observe(c.nodes);
    });
    gauge(METRIC.healthStatus, '1', '0 healthy, 1 degraded, 2 unhealthy.', (r, s) => r.observe(HEALTH_VALUE[s.healthStatus?.() ?? 'healthy']));
    gauge(METRIC.eventLoopDelayP99, 's', 'Event-loop delay p99 over the last sampling interval.', (r, s) => r.observe((s.eventLoop?.().p99Ms ?? 0) / 1000));
    gauge(METRIC.eventLoopDelayMax, 's', 'Event-loop delay max over the last sampling interval.', (r, s) => r.observe((s.eventLoop?.().maxMs ?? 0) / 1000));
    meter.createObservableGauge(METRIC.heapUsed, { unit: 'By', description: 'V8 heap used.' }).addCallback((r) => r.observe(heapStats().used));
    meter.createObservableGauge(METRIC.heapLimit, { unit: 'By', description: 'V8 heap size limit.' }).addCallback((r) => r.observe(heapStats().limit));
    meter.createObservableCounter(METRIC.persistenceCompactions, { unit: '{compaction}', description: 'Background compactions, by outcome.' })
      .addCallback((r) => {
        const stats = o.sources()?.storeStats?.();
        if (stats === undefined) return;
        r.observe(stats.compactions, { [ATTR.outcome]: 'ok' });
        r.observe(stats.compactionFailures, { [ATTR.outcome]: 'failed' });
      });
  }
}
