import { Ajv2020 } from 'ajv/dist/2020.js';
import { SignJWT } from 'jose';
import { expect } from 'vitest';

export const JWT_SECRET = 'a-test-secret-of-at-least-32-characters!';
export const ADMIN_TOKEN = 'the-admin-token-0123456789';

/** An HS256 access token with a `docs` claim. */
export function token(docs: Record<string, 'read' | 'write'>, sub = 'alice'): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub, docs, iat, exp: iat + 3600 }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(JWT_SECRET));
}

export interface ApiCall {
  readonly token?: string;
  readonly body?: Uint8Array | string | object;
  readonly type?: string;
  readonly headers?: Record<string, string>;
}

export interface ApiAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly json: unknown;
  readonly bytes: Uint8Array;
}

/** One HTTP request to a server at `base` (`http://127.0.0.1:port`). */
export async function call(base: string, method: string, path: string, options: ApiCall = {}): Promise<ApiAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: Uint8Array | string | undefined;
  if (options.body instanceof Uint8Array) {
    body = options.body;
    headers['content-type'] = options.type ?? 'application/octet-stream';
  } else if (typeof options.body === 'string') {
    body = options.body;
    headers['content-type'] = options.type ?? 'application/json';
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = options.type ?? 'application/json';
  }
  const res = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const bytes = new Uint8Array(await res.arrayBuffer());
  const isJson = (res.headers.get('content-type') ?? '').startsWith('application/json');
  return { status: res.status, headers: res.headers, json: isJson ? JSON.parse(Buffer.from(bytes).toString('utf8')) : undefined, bytes };
}

/** `{error:{code}}` of an answer. */
export function errorCode(answer: ApiAnswer): string | undefined {
  return (answer.json as { error?: { code?: string } } | undefined)?.error?.code;
}

type Operation = {
  parameters?: { name: string; in: string; schema: object }[];
  requestBody?: { content: Record<string, { schema: object }> };
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
};
type OpenApi = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, object> } };

/**
 * Validates real answers against the server's own OpenAPI document (ajv, JSON Schema
 * 2020-12): the documented status must exist for the operation, and a JSON body must match
 * its schema.
 */
export class OpenApiChecker {
  readonly #doc: OpenApi;
  readonly #ajv = new Ajv2020({ strict: false, allErrors: true });
  readonly checked = new Set<string>();

  constructor(doc: unknown) {
    this.#doc = doc as OpenApi;
    this.#ajv.addFormat('date-time', (text: string) => !Number.isNaN(Date.parse(text)) && text.includes('T'));
    this.#ajv.addSchema({ $id: 'openapi', components: this.#doc.components }, 'openapi');
  }

  /**
   * Assert that the request (`path`: its query parameters, `options`: its body) is one the
   * document describes — for a request the server accepted (2xx/304) — and that `answer` is
   * documented for `method template` and matches its schema.
   */
  check(method: string, template: string, answer: ApiAnswer, path = '', options: ApiCall = {}): void {
    const op = this.#doc.paths[`/api/v1${template}`]?.[method.toLowerCase()];
    expect(op, `${method} ${template} is in the OpenAPI document`).toBeDefined();
    if (op !== undefined && (answer.status < 300 || answer.status === 304)) this.#checkRequest(op, method, template, path, options);
    const response = op?.responses[String(answer.status)];
    expect(response, `${method} ${template} documents status ${answer.status}`).toBeDefined();
    this.checked.add(`${method} ${template} ${answer.status}`);
    const schema = response?.content?.['application/json']?.schema;
    if (schema === undefined || answer.json === undefined) return;
    const rebased = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/')) as object;
    const validate = this.#ajv.compile(rebased);
    const ok = validate(answer.json);
    expect(ok, `${method} ${template} ${answer.status}: ${JSON.stringify(validate.errors)}`).toBe(true);
  }

  #checkRequest(op: Operation, method: string, template: string, path: string, options: ApiCall): void {
    const query = new URL(path, 'http://x').searchParams;
    for (const [name, value] of query) {
      const param = op.parameters?.find((p) => p.in === 'query' && p.name === name);
      expect(param, `${method} ${template}: query parameter ${name} is documented`).toBeDefined();
      if (param === undefined) continue;
      const numeric = /^-?\d+$/.test(value) ? Number(value) : value;
      const validate = this.#ajv.compile(param.schema);
      expect(validate(numeric) || validate(value), `${method} ${template}: ?${name}=${value} matches ${JSON.stringify(param.schema)}`).toBe(true);
    }
    if (options.body === undefined) return;
    const type = options.type ?? (options.body instanceof Uint8Array ? 'application/octet-stream' : 'application/json');
    const media = op.requestBody?.content[type];
    expect(media, `${method} ${template}: request body ${type} is documented`).toBeDefined();
    if (media !== undefined && type === 'application/json' && typeof options.body === 'object' && !(options.body instanceof Uint8Array)) {
      const validate = this.#ajv.compile(media.schema);
      expect(validate(options.body), `${method} ${template}: request body matches`).toBe(true);
    }
  }
}
