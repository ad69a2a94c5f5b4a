/**
 * Public surface of telemetry: traces and metrics. Telemetry implements the probe ports the
 * modules declare (`documents/probes.ts`, `transport/probes.ts`, `persistence/probes.ts`,
 * `cluster/probes.ts`, `health/probes.ts`); the logger is in `logging/`, the health model in
 * `health/`. See docs/observability.md.
 */
export {
  Telemetry, createTelemetry, type ConnectionTrace, type LoadTrace, type MetricsSetup, type TelemetryOptions, type TraceContext, type TracedItem,
  type TracingSetup,
} from './telemetry.js';
export { telemetryOptions } from './from-config.js';
export type { ClusterSnapshot, StoreSnapshot, TelemetrySources, WriteListener } from './sources.js';
export { extractTraceContext, formatTraceparent, injectTraceContext, parseTraceparent } from './trace-context.js';
export { ATTR, INSTRUMENTATION_SCOPE, METRIC, SPAN } from './names.js';
