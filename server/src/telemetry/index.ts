/**
 * Public surface of telemetry: traces, metrics and the health model (the logger is in logging/).
 * See docs/observability.md.
 */
export {
  Telemetry, createTelemetry, type ConnectionTrace, type LoadTrace, type MetricsSetup, type TelemetryOptions, type TraceContext, type TracedItem,
  type TracingSetup,
} from './telemetry.js';
export { telemetryOptions } from './from-config.js';
export { serverSources, type ClusterSnapshot, type StoreSnapshot, type TelemetrySources } from './sources.js';
export type { HealthOptions, HealthReason, HealthReport, HealthStatus, Severity } from './health.js';
export type { IntegrityResult, IntegrityState } from './integrity.js';
export { extractTraceContext, formatTraceparent, injectTraceContext, parseTraceparent } from './trace-context.js';
export { ATTR, HEALTH_CODE, INSTRUMENTATION_SCOPE, LOG_EVENT, METRIC, SPAN, type HealthCode } from './names.js';
export {
  DEFAULT_LATENCY_THRESHOLDS, SAMPLERS, parseLatencyThresholds, type LatencyThresholds, type SamplerName, type StrategyName,
} from '../config/telemetry-parsers.js';
