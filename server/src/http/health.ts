import type { ServerResponse } from 'node:http';
import { SkeinError } from '../errors/skein-error.js';
import type { HealthReport } from '../telemetry/index.js';

/**
 * The observability routes (docs/observability.md), wired into `routes.ts`:
 * - `GET /health` — the health model: `{status: healthy|degraded|unhealthy, reasons:[{code,
 *   severity, message}], checks:{…}}`; 200 while healthy or degraded, 503 when unhealthy.
 * - `GET /metrics` — Prometheus text format; 404 when metrics are switched off.
 */
export interface ObservabilityRoutes {
  /** Evaluates the health model. */
  readonly health?: () => HealthReport;
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
