import type { Meter, Tracer } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { MetricReader } from '@opentelemetry/sdk-metrics';
import type { Sampler, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ServerResponse } from 'node:http';
import { installContextManager } from './context-manager.js';
import { INSTRUMENTATION_SCOPE } from './names.js';
import type { SamplerName } from '../config/telemetry-parsers.js';

/**
 * The OpenTelemetry SDK parts, loaded with dynamic imports only when they are used: with
 * tracing off the trace SDK and the OTLP exporter are never loaded; with metrics off neither
 * is the metrics SDK nor the Prometheus exporter.
 */


export interface ResourceOptions {
  readonly serviceName: string;
  readonly serviceVersion: string;
  readonly serviceInstanceId?: string;
  /** `OTEL_RESOURCE_ATTRIBUTES`; `service.name` here is overridden by `serviceName`. */
  readonly attributes?: Readonly<Record<string, string>>;
}

export async function buildResource(options: ResourceOptions): Promise<Resource> {
  const { defaultResource, resourceFromAttributes } = await import('@opentelemetry/resources');
  return defaultResource().merge(
    resourceFromAttributes({
      ...options.attributes,
      'service.name': options.serviceName,
      'service.version': options.serviceVersion,
      ...(options.serviceInstanceId === undefined ? {} : { 'service.instance.id': options.serviceInstanceId }),
    }),
  );
}

export interface TracingSetup {
  /** OTLP/HTTP (JSON) traces URL; empty or absent: no OTLP exporter. */
  readonly url?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** More span processors (tests: a SimpleSpanProcessor over an InMemorySpanExporter). */
  readonly spanProcessors?: readonly SpanProcessor[];
  readonly sampler: SamplerName;
  /** Ratio of the `traceidratio` samplers, 0 to 1. */
  readonly samplerArg: number;
}

export interface TracingHandle {
  readonly tracer: Tracer;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * A tracer provider of our own (not registered as the global one, so several servers in one
 * process keep their spans apart), batching to OTLP/HTTP. The batch processor's tuning
 * (`OTEL_BSP_*`) and the exporter's transport settings (`OTEL_EXPORTER_OTLP_TIMEOUT`,
 * `…_COMPRESSION`, `…_CERTIFICATE`) are read from the environment by the SDK itself.
 */
export async function startTracing(setup: TracingSetup, resource: Resource, version: string): Promise<TracingHandle> {
  const sdk = await import('@opentelemetry/sdk-trace-base');
  const processors: SpanProcessor[] = [...(setup.spanProcessors ?? [])];
  if (setup.url !== undefined && setup.url !== '') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    const exporter = new OTLPTraceExporter({ url: setup.url, headers: { ...setup.headers } });
    processors.push(new sdk.BatchSpanProcessor(exporter));
  }
  const ratio = Math.min(1, Math.max(0, setup.samplerArg));
  const samplers: Record<SamplerName, () => Sampler> = {
    always_on: () => new sdk.AlwaysOnSampler(),
    always_off: () => new sdk.AlwaysOffSampler(),
    traceidratio: () => new sdk.TraceIdRatioBasedSampler(ratio),
    parentbased_always_on: () => new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() }),
    parentbased_always_off: () => new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() }),
    parentbased_traceidratio: () => new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(ratio) }),
  };
  const provider = new sdk.BasicTracerProvider({ resource, sampler: samplers[setup.sampler](), spanProcessors: processors });
  installContextManager();
  return {
    tracer: provider.getTracer(INSTRUMENTATION_SCOPE, version),
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

export interface MetricsSetup {
  /** Serve the Prometheus text format (the `/metrics` route). */
  readonly prometheus: boolean;
  /** More readers (tests: one whose `collect()` they call). */
  readonly readers?: readonly MetricReader[];
}

export interface MetricsHandle {
  readonly meter: Meter;
  /** Answers a scrape (Prometheus text format); undefined without the Prometheus reader. */
  readonly serve: ((res: ServerResponse) => void) | undefined;
  shutdown(): Promise<void>;
}

export async function startMetrics(setup: MetricsSetup, resource: Resource, version: string): Promise<MetricsHandle> {
  const { MeterProvider } = await import('@opentelemetry/sdk-metrics');
  const readers: MetricReader[] = [...(setup.readers ?? [])];
  let serve: MetricsHandle['serve'];
  if (setup.prometheus) {
    const { PrometheusExporter } = await import('@opentelemetry/exporter-prometheus');
    // No second port: Skein's own HTTP server answers /metrics through this handler.
    const exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
    readers.push(exporter);
    serve = (res) => exporter.getMetricsRequestHandler(res.req, res);
  }
  const provider = new MeterProvider({ resource, readers });
  return { meter: provider.getMeter(INSTRUMENTATION_SCOPE, version), serve, shutdown: () => provider.shutdown() };
}
