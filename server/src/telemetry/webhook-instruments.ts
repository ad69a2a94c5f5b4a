import type { Counter, Histogram, Meter } from '@opentelemetry/api';
import { ATTR, METRIC } from './names.js';
import type { TelemetrySources } from './sources.js';

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const CIRCUIT_STATES = ['closed', 'half-open', 'open'] as const;

/** The webhooks' instruments: attempts sent and failed, their latency, dead letters, queue depth, circuits. */
export class WebhookInstruments {
  readonly sent: Counter;
  readonly failed: Counter;
  readonly duration: Histogram;
  readonly deadLettered: Counter;

  constructor(meter: Meter, sources: () => TelemetrySources | undefined) {
    this.sent = meter.createCounter(METRIC.webhookSent, { unit: '{attempt}', description: 'Webhook deliveries answered 2xx, by endpoint and event type.' });
    this.failed = meter.createCounter(METRIC.webhookFailed, { unit: '{attempt}', description: 'Failed webhook attempts (retried), by endpoint, event type and reason.' });
    this.duration = meter.createHistogram(METRIC.webhookDuration, {
      unit: 's', advice: { explicitBucketBoundaries: SECONDS_BUCKETS }, description: 'Latency of one webhook attempt, by endpoint and outcome.' });
    this.deadLettered = meter.createCounter(METRIC.webhookDeadLettered, { unit: '{event}', description: 'Events moved to the dead-letter list, by endpoint and event type.' });
    const hooks = (): ReturnType<NonNullable<TelemetrySources['webhooks']>> | undefined => sources()?.webhooks?.();
    meter.createObservableGauge(METRIC.webhookQueueDepth, { unit: '{event}', description: 'Events in this node\'s webhook outbox.' }).addCallback((r) => {
      const h = hooks();
      if (h !== undefined) r.observe(h.queue);
    });
    meter.createObservableGauge(METRIC.webhookDeadLetters, { unit: '{event}', description: 'Webhook dead letters kept.' }).addCallback((r) => {
      const h = hooks();
      if (h !== undefined) r.observe(h.deadLetters);
    });
    meter.createObservableGauge(METRIC.webhookCircuitState, { unit: '1', description: 'Webhook endpoint circuit: 1 for the current state, 0 for the others.' }).addCallback((r) => {
      for (const e of hooks()?.endpoints ?? []) {
        for (const state of CIRCUIT_STATES) r.observe(e.breaker === state ? 1 : 0, { [ATTR.webhookEndpoint]: e.endpoint, [ATTR.webhookCircuitState]: state });
      }
    });
  }

  delivered(endpoint: string, type: string, ms: number): void {
    this.sent.add(1, { [ATTR.webhookEndpoint]: endpoint, [ATTR.webhookEventType]: type });
    this.duration.record(ms / 1000, { [ATTR.webhookEndpoint]: endpoint, [ATTR.outcome]: 'ok' });
  }

  failure(endpoint: string, type: string, reason: string, ms: number): void {
    this.failed.add(1, { [ATTR.webhookEndpoint]: endpoint, [ATTR.webhookEventType]: type, [ATTR.webhookFailure]: reason });
    this.duration.record(ms / 1000, { [ATTR.webhookEndpoint]: endpoint, [ATTR.outcome]: 'failed' });
  }
}
