import type { ServerResponse } from 'node:http';
import { SkeinError } from '../errors/skein-error.js';

/**
 * The observability routes (docs/observability.md), wired into `routes.ts`:
 * - `GET /health` — the health model: `{status: healthy|degraded|unhealthy, reasons:[{code,
 *   severity, message}], checks:{…}}`; 200 while healthy or degraded, 503 when unhealthy.
 * - `GET /metrics` — Prometheus text format; 404 when metrics are switched off.
 */
/** What the route needs of a health report (the health module's `HealthReport` has this shape and more). */
export interface HealthBody {
  readonly status: 'healthy' | 'degraded' | 'unhealthy';
}

export interface ObservabilityRoutes {
  /** Evaluates the health model. */
  readonly health?: () => HealthBody;
  /** Answers a Prometheus scrape. */
  readonly metrics?: ((res: ServerResponse) => void) | undefined;
}

interface Responders {
  sendJson(res: ServerResponse, status: number, body: unknown): void;
  sendError(res: ServerResponse, err: SkeinError): void;
}

export function serveHealth(routes: ObservabilityRoutes, res: ServerResponse, send: Responders): void {
  if (routes.health === undefined) return send.sendError(res, new SkeinError('SKEIN_ERR_NOT_FOUND', 'no route /health'));
  const report = routes.health();
  send.sendJson(res, report.status === 'unhealthy' ? 503 : 200, report);
}

export function serveMetrics(routes: ObservabilityRoutes, res: ServerResponse, send: Responders): void {
  if (routes.metrics === undefined) {
    return send.sendError(res, new SkeinError('SKEIN_ERR_NOT_FOUND', 'metrics are switched off (--disable-metrics)'));
  }
  res.setHeader('Cache-Control', 'no-store');
  routes.metrics(res);
}
