import { z } from 'zod';
import { ERRORS, type ErrorCode, type ErrorSpec } from '../../errors/registry.js';
import type { Route } from './route.js';
import { ConnectionId, DocName, ErrorBody, VersionId } from './schemas.js';

/** Codes any route may answer with (auth, limits, the server itself). */
export const COMMON_ERRORS: readonly ErrorCode[] = [
  'SKEIN_ERR_BAD_REQUEST', 'SKEIN_ERR_BAD_DOC_NAME', 'SKEIN_ERR_AUTH_MISSING', 'SKEIN_ERR_AUTH_MALFORMED', 'SKEIN_ERR_AUTH_SIGNATURE',
  'SKEIN_ERR_AUTH_EXPIRED', 'SKEIN_ERR_AUTH_CLAIMS', 'SKEIN_ERR_FORBIDDEN', 'SKEIN_ERR_API_RATE_LIMITED', 'SKEIN_ERR_DOC_LOAD_FAILED',
  'SKEIN_ERR_SHUTTING_DOWN', 'SKEIN_ERR_INTERNAL',
];
const WRITE_ERRORS: readonly ErrorCode[] = ['SKEIN_ERR_API_WRITE_DISABLED', 'SKEIN_ERR_STORAGE_WRITE'];

/** A JSON Schema (2020-12) of a zod schema, as OpenAPI 3.1 embeds it. */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'output'): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}

/**
 * The OpenAPI 3.1 document of `/api/v1`, generated from the route table and the same zod
 * schemas that validate requests (served at `GET /api/v1/openapi.json`).
 */
export function buildOpenApi(routes: readonly Route[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const item = (paths[`/api/v1${route.path}`] ??= {});
    item[route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Skein HTTP API', version, description: 'Documents beyond the socket: read, write, delete and version Yjs documents (docs/http-api.md).' },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token (the WebSocket rules), or the --admin-token.' },
      },
      schemas: { Error: jsonSchema(ErrorBody) },
    },
    security: [{ bearer: [] }, {}],
    paths,
  };
}

function operation(route: Route): Record<string, unknown> {
  const parameters: Record<string, unknown>[] = [];
  if (route.path.includes('{name}')) parameters.push({ name: 'name', in: 'path', required: true, schema: jsonSchema(DocName, 'input'), description: DocName.description });
  if (route.path.includes('{id}')) parameters.push({ name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 }, description: (route.path.startsWith('/connections') ? ConnectionId : VersionId).description });
  const query = jsonSchema(route.query, 'input') as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  for (const [name, schema] of Object.entries(query.properties ?? {})) {
    const { description, ...rest } = schema;
    parameters.push({ name, in: 'query', required: query.required?.includes(name) ?? false, schema: rest, ...(description === undefined ? {} : { description }) });
  }
  const responses: Record<string, unknown> = {};
  for (const [status, body] of Object.entries(route.responses)) {
    if (body === 'empty') responses[status] = { description: 'Not modified.' };
    else if (body === 'binary') responses[status] = { description: 'A Yjs update (v1 encoding).', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } };
    else responses[status] = { description: 'OK', content: { 'application/json': { schema: jsonSchema(body) } } };
  }
  const codes = [...new Set([...route.errors, ...COMMON_ERRORS, ...(route.level === 'write' || route.level === 'admin' ? WRITE_ERRORS : [])])];
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = (ERRORS[code] as ErrorSpec).httpStatus ?? 500;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[String(status)] = { description: list.join(', '), content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  }
  return {
    operationId: operationId(route),
    summary: route.summary,
    'x-skein-access': route.level,
    ...(parameters.length === 0 ? {} : { parameters }),
    ...(route.body === undefined
      ? {}
      : {
          requestBody: {
            required: route.body.kind === 'binary',
            content:
              route.body.kind === 'binary'
                ? { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } }
                : { 'application/json': { schema: jsonSchema(route.body.schema, 'input') } },
          },
        }),
    responses,
  };
}

function operationId(route: Route): string {
  const words = route.path.split('/').filter((p) => p !== '').map((p) => (p.startsWith('{') ? 'By' + cap(p.slice(1, -1)) : cap(p)));
  return route.method.toLowerCase() + words.join('');
}

function cap(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
