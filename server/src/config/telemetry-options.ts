import { z } from 'zod';
import {
  SAMPLERS, isHttpUrlOrEmpty, parseKeyValueList, parseLatencyThresholds,
} from './telemetry-parsers.js';

/**
 * Telemetry settings (docs/observability.md), spread into `OPTIONS` by `schema.ts`.
 *
 * Tracing follows the OpenTelemetry SDK environment specification: its settings are read from
 * the standard `OTEL_*` variables (here, like every other option — flags and the config file
 * work too). Tracing is on only when a traces endpoint is configured. The SDK itself still
 * reads its tuning variables (`OTEL_BSP_*`, `OTEL_EXPORTER_OTLP_TIMEOUT`, `…_COMPRESSION`,
 * `…_CERTIFICATE`, `OTEL_*_LIMIT`) from the environment: the one documented exception to
 * "only config/ reads the environment".
 */

const keyValueList = z.string().superRefine((text, ctx) => {
  try {
    parseKeyValueList(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `expected key=value,key=value: ${err instanceof Error ? err.message : String(err)}` });
  }
});
const httpUrl = z.string().refine(isHttpUrlOrEmpty, { message: 'expected empty or an http:// or https:// URL' });
const latencyThresholds = z.string().superRefine((text, ctx) => {
  try {
    parseLatencyThresholds(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
  }
});
const ms = (min: number) => z.coerce.number().int().min(min).max(24 * 60 * 60 * 1000);

export const TELEMETRY_OPTIONS = [
  { key: 'otelSdkDisabled', flag: 'otel-sdk-disabled', env: 'OTEL_SDK_DISABLED', schema: z.boolean(), default: false,
    description: 'Switch tracing off whatever else is set (OpenTelemetry standard variable).' },
  { key: 'otelServiceName', flag: 'otel-service-name', env: 'OTEL_SERVICE_NAME', schema: z.string().min(1), default: 'skein',
    description: 'service.name of the spans and metrics.' },
  { key: 'otelResourceAttributes', flag: 'otel-resource-attributes', env: 'OTEL_RESOURCE_ATTRIBUTES', schema: keyValueList, default: '',
    description: 'More resource attributes, key=value,… (e.g. deployment.environment=prod).' },
  { key: 'otelTracesExporter', flag: 'otel-traces-exporter', env: 'OTEL_TRACES_EXPORTER', schema: z.enum(['otlp', 'none']), default: 'otlp',
    description: 'otlp: export spans over OTLP/HTTP when an endpoint is set; none: no tracing.' },
  { key: 'otelExporterOtlpEndpoint', flag: 'otel-exporter-otlp-endpoint', env: 'OTEL_EXPORTER_OTLP_ENDPOINT', schema: httpUrl, default: '',
    description: 'Base URL of the OTLP/HTTP receiver (spans go to <url>/v1/traces). Empty (and no traces endpoint): tracing off.' },
  { key: 'otelExporterOtlpTracesEndpoint', flag: 'otel-exporter-otlp-traces-endpoint', env: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    schema: httpUrl, default: '',
    description: 'Full URL for spans (overrides the base endpoint), e.g. http://collector:4318/v1/traces.' },
  { key: 'otelExporterOtlpProtocol', flag: 'otel-exporter-otlp-protocol', env: 'OTEL_EXPORTER_OTLP_PROTOCOL',
    schema: z.enum(['http/json']), default: 'http/json',
    description: 'OTLP transport; Skein ships the OTLP/HTTP JSON exporter (collectors, Jaeger and Tempo accept it on 4318).' },
  { key: 'otelExporterOtlpHeaders', flag: 'otel-exporter-otlp-headers', env: 'OTEL_EXPORTER_OTLP_HEADERS', schema: keyValueList,
    default: '', sensitive: true,
    description: 'Headers of the export requests, key=value,… (e.g. an API key).' },
  { key: 'otelTracesSampler', flag: 'otel-traces-sampler', env: 'OTEL_TRACES_SAMPLER', schema: z.enum(SAMPLERS),
    default: 'parentbased_always_on',
    description: 'Which traces are recorded: always_on, always_off, traceidratio, or parentbased_* of those.' },
  { key: 'otelTracesSamplerArg', flag: 'otel-traces-sampler-arg', env: 'OTEL_TRACES_SAMPLER_ARG',
    schema: z.coerce.number().min(0).max(1), default: 1,
    description: 'Ratio of traces kept by the traceidratio samplers (0 to 1).' },
  { key: 'disableMetrics', flag: 'disable-metrics', env: 'SKEIN_DISABLE_METRICS', schema: z.boolean(), default: false,
    description: 'Switch metrics off (no /metrics route). Metrics are on by default.' },
  { key: 'healthWindowMs', flag: 'health-window-ms', env: 'SKEIN_HEALTH_WINDOW_MS', schema: ms(100), default: 60_000,
    description: 'Window of the persistence success rate and latency percentiles of /health.' },
  { key: 'healthPersistLatencyMs', flag: 'health-persist-latency-ms', env: 'SKEIN_HEALTH_PERSIST_LATENCY_MS', schema: latencyThresholds,
    default: 'immediate=100,debounced=250',
    description: 'p95 storage write latency per strategy above which /health is degraded (10x: unhealthy).' },
  { key: 'healthFailureThreshold', flag: 'health-failure-threshold', env: 'SKEIN_HEALTH_FAILURE_THRESHOLD',
    schema: z.coerce.number().int().min(1).max(1000), default: 5,
    description: 'Consecutive failed storage writes from which /health is unhealthy (one is degraded).' },
  { key: 'healthEventLoopLagMs', flag: 'health-event-loop-lag-ms', env: 'SKEIN_HEALTH_EVENT_LOOP_LAG_MS',
    schema: z.coerce.number().int().min(1).max(60_000), default: 200,
    description: 'Event-loop delay p99 above which /health is degraded (5x: unhealthy).' },
  { key: 'integrityScanIntervalMs', flag: 'integrity-scan-interval-ms', env: 'SKEIN_INTEGRITY_SCAN_INTERVAL_MS', schema: ms(0),
    default: 60_000,
    description: 'Period of the background integrity scan (stored state vs memory for a sample of loaded documents). 0: off.' },
  { key: 'integrityScanSample', flag: 'integrity-scan-sample', env: 'SKEIN_INTEGRITY_SCAN_SAMPLE',
    schema: z.coerce.number().int().min(1).max(1000), default: 8,
    description: 'Loaded documents checked per integrity scan (round robin).' },
] as const;
