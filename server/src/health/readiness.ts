import type { HealthViews } from './views.js';

export interface ReadinessReason {
  readonly code: string;
  readonly message: string;
}

/** The answer of `GET /readyz` (the http driver declares the same shape). */
export interface ReadinessReport {
  /** False: take this node out of rotation (503). */
  readonly ready: boolean;
  /** Serving, but something needs attention (e.g. storage writes are being retried). */
  readonly degraded?: boolean;
  readonly reasons: readonly ReadinessReason[];
}

/**
 * Readiness: can this node take traffic? Not while shutting down, nor with the store closed,
 * nor while it refuses writes because too many bytes wait for storage (new clients belong on
 * another node; connected ones keep reading). Redis unreachable or storage writes being
 * retried still serve (local editing continues, acknowledgements wait), so the node is ready
 * but degraded, with reasons.
 */
export function readiness(views: HealthViews): ReadinessReport {
  if (views.shuttingDown()) {
    return { ready: false, reasons: [{ code: 'SKEIN_ERR_SHUTTING_DOWN', message: 'the server is shutting down' }] };
  }
  const health = views.store.health?.();
  const budget = views.budget;
  const budgetReasons = budget?.exhausted === true
    ? [{ code: 'SKEIN_ERR_UNPERSISTED_LIMIT', message: `${budget.bytes} bytes wait for storage (limit ${budget.maxBytes}); new writes are refused` }]
    : [];
  const clusterReasons = (views.cluster?.snapshot().reasons ?? []).map((message) => ({ code: 'SKEIN_ERR_CLUSTER_UNAVAILABLE', message }));
  const storeReasons =
    health === undefined || health.status === 'ok'
      ? []
      : health.reasons.map((message) => ({
          code: health.lastErrorCode ?? (health.status === 'closed' ? 'SKEIN_ERR_STORAGE_CLOSED' : 'SKEIN_ERR_STORAGE_WRITE'),
          message,
        }));
  const reasons = [...storeReasons, ...budgetReasons, ...clusterReasons];
  if (reasons.length === 0) return { ready: true, reasons: [] };
  return { ready: health?.status !== 'closed' && budget?.exhausted !== true, degraded: true, reasons };
}
