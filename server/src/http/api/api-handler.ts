import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { RateLimited, type ApiAccess } from '../../auth/api-access.js';
import { SkeinError, toSkeinError } from '../../errors/skein-error.js';
import { readBody } from './body.js';
import { DOC_ROUTES } from './doc-routes.js';
import { buildOpenApi } from './openapi.js';
import type { ApiDeps, Route, RouteInput, RouteResult } from './route.js';
import { DocName, VersionId } from './schemas.js';
import { INSPECTOR_ROUTES } from './inspector-routes.js';
import { VERSION_ROUTES } from './version-routes.js';

export const API_PREFIX = '/api/v1';

/** Every route of `/api/v1`, in the order the OpenAPI document lists them. */
export const API_ROUTES: readonly Route[] = [...DOC_ROUTES, ...VERSION_ROUTES, ...INSPECTOR_ROUTES];

export interface ApiOptions {
  readonly deps: ApiDeps;
  readonly access: ApiAccess;
  /** `--api-max-body-bytes`. */
  readonly maxBodyBytes: number;
  readonly version: string;
}

/**
 * The `/api/v1` driver: match the route, validate path, query and body with the route's
 * schemas, rate-limit, authenticate, check access, run the route, answer. Every refusal is a
 * `SkeinError` answered as `{error:{code,message}}` with the code's status; a request refused
 * before its body is read has its body discarded unread.
 */
export function createApiHandler(options: ApiOptions): (req: IncomingMessage, res: ServerResponse, path: string) => void {
  // Built on the first request for it (it costs ~25 ms of start-up and a few MB of heap otherwise).
  let built: string | undefined;
  const openapi = (): string => (built ??= JSON.stringify(buildOpenApi(API_ROUTES, options.version)));
  return (req, res, path) => {
    void serve(options, openapi, req, res, path).catch((err: unknown) => {
      const e = toSkeinError(err);
      const status = e.spec.httpStatus ?? 500;
      if (status >= 500) options.deps.logger.error({ code: e.code, method: req.method, err: e.message }, 'api request failed');
      req.resume();
      if (e instanceof RateLimited) res.setHeader('Retry-After', String(e.retryAfterS));
      if (!res.headersSent) sendJson(res, status, e.toJSON());
      else res.destroy();
    });
  };
}

async function serve(options: ApiOptions, openapi: () => string, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const sub = path.slice(API_PREFIX.length);
  if (sub === '/openapi.json') {
    if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, ['GET', 'HEAD']);
    return sendText(res, 200, openapi(), req.method === 'HEAD');
  }
  const segments = sub.split('/').slice(1);
  const matched = API_ROUTES.filter((route) => pathMatches(route.path, segments));
  if (matched.length === 0) throw new SkeinError('SKEIN_ERR_NOT_FOUND', `no route ${path}`);
  const route = matched.find((r) => r.method === req.method);
  if (route === undefined) return methodNotAllowed(res, matched.map((r) => r.method));
  const { name, id } = pathParams(route.path, segments);
  const query = parse(route.query, Object.fromEntries(new URL(req.url ?? '/', 'http://x').searchParams), 'query');
  options.access.admit(req);
  const caller = await options.access.identify(req);
  options.access.check(caller, route.level, route.path.includes('{name}') ? name : undefined);
  const body = await readRouteBody(route, req, options.maxBodyBytes);
  const input: RouteInput = { name, id, query, body, caller, request: req };
  send(res, await route.handle(options.deps, input));
}

function pathMatches(template: string, segments: readonly string[]): boolean {
  const parts = template.split('/').slice(1);
  return parts.length === segments.length && parts.every((p, i) => p.startsWith('{') || p === segments[i]);
}

function pathParams(template: string, segments: readonly string[]): { name: string; id: number } {
  let name = '';
  let id = 0;
  template.split('/').slice(1).forEach((part, i) => {
    const raw = segments[i] ?? '';
    if (part === '{name}') {
      let decoded: string;
      try {
        decoded = decodeURIComponent(raw);
      } catch {
        throw new SkeinError('SKEIN_ERR_BAD_DOC_NAME', 'the document name is not valid percent-encoded UTF-8');
      }
      const checked = DocName.safeParse(decoded);
      if (!checked.success) throw new SkeinError('SKEIN_ERR_BAD_DOC_NAME', checked.error.issues[0]?.message ?? 'bad document name');
      name = checked.data;
    } else if (part === '{id}') {
      id = parse(VersionId, raw, template.startsWith('/connections') ? 'connection id' : 'version id');
    }
  });
  return { name, id };
}

function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? what : `${what} ${issue.path.join('.')}`;
  throw new SkeinError('SKEIN_ERR_BAD_REQUEST', `${where}: ${issue?.message ?? 'invalid'}`);
}

async function readRouteBody(route: Route, req: IncomingMessage, maxBytes: number): Promise<unknown> {
  if (route.body === undefined) return undefined;
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
  const bytes = await readBody(req, maxBytes);
  if (route.body.kind === 'binary') {
    if (type !== 'application/octet-stream') throw new SkeinError('SKEIN_ERR_UNSUPPORTED_MEDIA_TYPE', 'send the update as application/octet-stream');
    return bytes;
  }
  if (bytes.byteLength === 0) return parse(route.body.schema, {}, 'body');
  if (type !== 'application/json') throw new SkeinError('SKEIN_ERR_UNSUPPORTED_MEDIA_TYPE', 'send a JSON body as application/json');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new SkeinError('SKEIN_ERR_BAD_REQUEST', 'body: not JSON');
  }
  return parse(route.body.schema, json, 'body');
}

function send(res: ServerResponse, result: RouteResult): void {
  for (const [key, value] of Object.entries(result.headers ?? {})) res.setHeader(key, value);
  if ('json' in result) return sendJson(res, result.status, result.json);
  if ('bytes' in result) {
    res.writeHead(result.status, { 'Content-Type': 'application/octet-stream', 'Content-Length': result.bytes.byteLength });
    res.end(result.bytes);
    return;
  }
  res.writeHead(result.status);
  res.end();
}

function methodNotAllowed(res: ServerResponse, methods: readonly string[]): void {
  res.setHeader('Allow', methods.join(', '));
  sendJson(res, 405, new SkeinError('SKEIN_ERR_METHOD_NOT_ALLOWED').toJSON());
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, JSON.stringify(body), false);
}

function sendText(res: ServerResponse, status: number, text: string, head: boolean): void {
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': res.getHeader('Cache-Control') ?? 'no-store',
  });
  res.end(head ? undefined : text);
}
