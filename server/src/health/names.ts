import type { ErrorCode } from '../errors/registry.js';

/**
 * Health reasons and alert codes (stable SkeinError codes, see `errors/registry.ts`), and the
 * log messages of alert events. `docs/observability.md` documents each of them; a test fails
 * when one is missing from that page.
 */
export const HEALTH_CODE = {
  persistenceFailing: 'SKEIN_ERR_HEALTH_PERSISTENCE_FAILING',
  persistenceErrorRate: 'SKEIN_ERR_HEALTH_PERSISTENCE_ERROR_RATE',
  persistenceSlow: 'SKEIN_ERR_HEALTH_PERSISTENCE_SLOW',
  recordsQuarantined: 'SKEIN_ERR_HEALTH_RECORDS_QUARANTINED',
  /** The integrity scan found damaged records (left in place: a scan never writes). */
  recordsDamaged: 'SKEIN_ERR_STORAGE_CORRUPT_RECORD',
  integrityMismatch: 'SKEIN_ERR_HEALTH_INTEGRITY_MISMATCH',
  integrityScanFailed: 'SKEIN_ERR_HEALTH_INTEGRITY_SCAN_FAILED',
  eventLoopLag: 'SKEIN_ERR_HEALTH_EVENT_LOOP_LAG',
  storeClosed: 'SKEIN_ERR_STORAGE_CLOSED',
  clusterUnavailable: 'SKEIN_ERR_CLUSTER_UNAVAILABLE',
  webhookDeadLetters: 'SKEIN_ERR_WEBHOOK_DEAD_LETTER',
  webhookEndpointDown: 'SKEIN_ERR_WEBHOOK_ENDPOINT_DOWN',
} as const satisfies Record<string, ErrorCode>;
export type HealthCode = (typeof HEALTH_CODE)[keyof typeof HEALTH_CODE];

/** Log messages of alert events (`msg` field of the JSON log line). */
export const LOG_EVENT = {
  alertRaised: 'health alert raised',
  alertResolved: 'health alert resolved',
  healthChanged: 'health status changed',
} as const;
