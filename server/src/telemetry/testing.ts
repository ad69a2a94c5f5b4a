import { context, trace, type Span } from '@opentelemetry/api';
import { MetricReader, type DataPoint, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Logger } from '../logging/logger.js';
import { silentLogger } from '../logging/logger.js';
import type { SamplerName } from '../config/telemetry-parsers.js';
import { createTelemetry, type Telemetry } from './telemetry.js';

/**
 * Test support (never loaded by the server itself): telemetry whose spans land in the SDK's
 * `InMemorySpanExporter` and whose metrics are read with a `MetricReader`'s `collect()`.
 */
export { InMemorySpanExporter, type ReadableSpan };
export { SpanKind, SpanStatusCode } from '@opentelemetry/api';

/** The span active in the current context, if any. */
export function activeSpan(): Span | undefined {
  return trace.getSpan(context.active());
}

/** A metric reader that only collects on demand. */
export class CollectingReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }

  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

export interface TestTelemetryOptions {
  readonly tracing?: boolean;
  readonly sampler?: SamplerName;
  readonly prometheus?: boolean;
  readonly logger?: Logger;
  readonly serviceInstanceId?: string;
}

export interface TestTelemetry {
  readonly telemetry: Telemetry;
  readonly spans: InMemorySpanExporter;
  readonly reader: CollectingReader;
}

export async function createTestTelemetry(options: TestTelemetryOptions = {}): Promise<TestTelemetry> {
  const spans = new InMemorySpanExporter();
  const reader = new CollectingReader();
  const telemetry = await createTelemetry(
    {
      resource: { serviceName: 'skein-test', serviceVersion: '0.0.0-test', ...(options.serviceInstanceId === undefined ? {} : { serviceInstanceId: options.serviceInstanceId }) },
      ...(options.tracing === false
        ? {}
        : { tracing: { spanProcessors: [new SimpleSpanProcessor(spans)], sampler: options.sampler ?? 'parentbased_always_on', samplerArg: 1 } }),
      metrics: { prometheus: options.prometheus ?? false, readers: [reader] },
    },
    options.logger ?? silentLogger(),
    '0.0.0-test',
  );
  return { telemetry, spans, reader };
}

/** Every data point of metric `name` in a collection. */
export function dataPoints(metrics: ResourceMetrics, name: string): DataPoint<unknown>[] {
  const out: DataPoint<unknown>[] = [];
  for (const scope of metrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name === name) out.push(...(metric.dataPoints as DataPoint<unknown>[]));
    }
  }
  return out;
}

/** The value of a counter or gauge data point whose attributes include `attrs` (summed over matches); undefined when none. */
export function metricValue(metrics: ResourceMetrics, name: string, attrs: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const point of dataPoints(metrics, name)) {
    if (!Object.entries(attrs).every(([k, v]) => point.attributes[k] === v)) continue;
    if (typeof point.value === 'number') sum = (sum ?? 0) + point.value;
    else if (typeof point.value === 'object' && point.value !== null && 'count' in point.value && typeof point.value.count === 'number') {
      sum = (sum ?? 0) + point.value.count;
    }
  }
  return sum;
}
