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
 * Readiness: can this node take traffic? Not while shutting down, nor with the store closed.
 * Redis unreachable or storage writes being retried still serve (local editing continues,
 * acknowledgements wait), so the node is ready but degraded, with reasons.
 */
export function readiness(views: HealthViews): ReadinessReport {
  if (views.shuttingDown()) {
    return { ready: false, reasons: [{ code: 'SKEIN_ERR_SHUTTING_DOWN', message: 'the server is shutting down' }] };
  }
  const health = views.store.health?.();
  const clusterReasons = (views.cluster?.snapshot().reasons ?? []).map((message) => ({ code: 'SKEIN_ERR_CLUSTER_UNAVAILABLE', message }));
  if (health === undefined || health.status === 'ok') {
    return clusterReasons.length === 0 ? { ready: true, reasons: [] } : { ready: true, degraded: true, reasons: clusterReasons };
  }
  const code = health.lastErrorCode ?? (health.status === 'closed' ? 'SKEIN_ERR_STORAGE_CLOSED' : 'SKEIN_ERR_STORAGE_WRITE');
  const reasons = [...health.reasons.map((message) => ({ code, message })), ...clusterReasons];
  // Degraded still serves (edits apply in memory, acks wait for the retried writes); closed does not.
  return { ready: health.status !== 'closed', degraded: true, reasons };
}
