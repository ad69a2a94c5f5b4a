import type { IncomingMessage, ServerResponse } from 'node:http';
import { SkeinError } from '../errors/skein-error.js';

export interface ReadinessReason {
  readonly code: string;
  readonly message: string;
}

export interface HttpContext {
  readonly version: string;
  /** Reasons the server is not ready; empty when ready. */
  readiness(): readonly ReadinessReason[];
  stats(): Record<string, number>;
}

/**
 * The HTTP API besides WebSocket upgrades:
 * - `GET /healthz` — the process is alive (always 200 while it can answer).
 * - `GET /readyz` — 200 `{status:"ready"}` or 503 `{status:"not_ready", reasons:[{code,message}]}`.
 * Errors answer `{ error: { code, message } }` with the code's HTTP status.
 */
export function createRequestHandler(ctx: HttpContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const route = ROUTES[path];
    if (route === undefined) return sendError(res, new SkeinError('SKEIN_ERR_NOT_FOUND', `no route ${path}`));
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
    const reasons = ctx.readiness();
    if (reasons.length === 0) sendJson(res, 200, { status: 'ready', ...ctx.stats() });
    else sendJson(res, 503, { status: 'not_ready', reasons });
  },
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
