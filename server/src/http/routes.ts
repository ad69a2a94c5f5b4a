import type { IncomingMessage, ServerResponse } from 'node:http';
import { SkeinError } from '../errors/skein-error.js';
import type { StaticFiles } from './static.js';
import { serveHealth, serveMetrics, type ObservabilityRoutes } from './health.js';
import { serveWebhookAdmin, type WebhookAdmin } from './webhook-routes.js';

export interface ReadinessReason {
  readonly code: string;
  readonly message: string;
}

export interface ReadinessReport {
  /** False: take this node out of rotation (503). */
  readonly ready: boolean;
  /** Serving, but something needs attention (e.g. storage writes are being retried). */
  readonly degraded?: boolean;
  readonly reasons: readonly ReadinessReason[];
}

export interface HttpContext extends ObservabilityRoutes {
  readonly version: string;
  readiness(): ReadinessReport;
  stats(): Record<string, number>;
  /** `--static-dir`: files served for every path no route takes (`/` is its index.html). */
  readonly staticFiles?: StaticFiles;
  /** The `/api/v1` routes (`api/api-handler.ts`); absent with `--http-api off`. */
  readonly api?: (req: IncomingMessage, res: ServerResponse, path: string) => void;
  /** Webhooks on: the dead-letter admin routes (`webhook-routes.ts`, need `--admin-token`). */
  readonly webhooks?: WebhookAdmin;
  /** The inspector at `/_skein/` (`inspector.ts`); absent with `--inspector off`. */
  readonly inspector?: (req: IncomingMessage, res: ServerResponse, path: string) => void;
}

/**
 * The HTTP API besides WebSocket upgrades:
 * - `GET /healthz` — the process is alive (always 200 while it can answer).
 * - `GET /readyz` — 200 `{status:"ready"}`, 200 `{status:"degraded", reasons}` (serving, e.g. while
 *   storage writes are retried) or 503 `{status:"not_ready", reasons:[{code,message}]}`.
 * - `GET /health`, `GET /metrics` — the health model and Prometheus metrics (see `health.ts`).
 * - `/api/v1/…` — the HTTP API (docs/http-api.md), when on.
 * - with `webhooks`: `GET /api/v1/webhooks/dead-letters`, `POST /api/v1/webhooks/dead-letters/retry`
 *   (admin token; see `webhook-routes.ts`).
 * - `/_skein/…` — the inspector (docs/inspector.md), unless `--inspector off`.
 * - with `staticFiles`: every other path is a file of that directory (`/` is `index.html`).
 * Errors answer `{ error: { code, message } }` with the code's HTTP status.
 */
export function createRequestHandler(ctx: HttpContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    if (ctx.webhooks !== undefined && path.startsWith('/api/v1/webhooks/')) return void serveWebhookAdmin(ctx.webhooks, req, res, path, { sendJson, sendError });
    if (ctx.api !== undefined && (path === '/api/v1' || path.startsWith('/api/v1/'))) return ctx.api(req, res, path);
    if (ctx.inspector !== undefined && (path === '/_skein' || path.startsWith('/_skein/'))) return ctx.inspector(req, res, path);
    const route = path === '/' && ctx.staticFiles !== undefined ? undefined : ROUTES[path];
    if (route === undefined) {
      if (ctx.staticFiles !== undefined) return void ctx.staticFiles.serve(req, res, path);
      return sendError(res, new SkeinError('SKEIN_ERR_NOT_FOUND', `no route ${path}`));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return sendError(res, new SkeinError('SKEIN_ERR_METHOD_NOT_ALLOWED'));
    }
    route(ctx, res);
  };
}

type Route = (ctx: HttpContext, res: ServerResponse) => void;

const ROUTES: Record<string, Route | undefined> = {
  '/healthz': (ctx, res) => sendJson(res, 200, { status: 'alive', version: ctx.version }),
  '/readyz': (ctx, res) => {
    const { ready, degraded = false, reasons } = ctx.readiness();
    if (!ready) sendJson(res, 503, { status: 'not_ready', reasons });
    else sendJson(res, 200, { status: degraded ? 'degraded' : 'ready', reasons, ...ctx.stats() });
  },
  '/health': (ctx, res) => serveHealth(ctx, res, { sendJson, sendError }),
  '/metrics': (ctx, res) => serveMetrics(ctx, res, { sendJson, sendError }),
  '/': (ctx, res) =>
    sendJson(res, 200, {
      name: 'skein',
      version: ctx.version,
      websocket: 'connect a y-websocket client to ws://<host>:<port>/<document-name>',
    }),
};

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

export function sendError(res: ServerResponse, err: SkeinError): void {
  sendJson(res, err.spec.httpStatus ?? 500, err.toJSON());
}
