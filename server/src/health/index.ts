/**
 * Health and readiness (docs/observability.md, docs/architecture.md), owned by the composition
 * root: it reads the modules through the read-only views of `views.ts`.
 */
export { HealthService, type HealthServiceOptions } from './health.js';
export { healthOptions } from './from-config.js';
export { HEALTH_CODE, LOG_EVENT, type HealthCode } from './names.js';
export type { HealthOptions, HealthReason, HealthReport, HealthStatus, Severity, HealthInputs } from './model.js';
export type { IntegrityResult, IntegrityState } from './integrity.js';
export type { EventLoopSample } from './event-loop.js';
export { NO_HEALTH_PROBES, type HealthProbes } from './probes.js';
export { readiness, type ReadinessReason, type ReadinessReport } from './readiness.js';
export type { ClusterSnapshot, ClusterView, HealthViews, RegistryView, StoreSnapshot, StoreView } from './views.js';
