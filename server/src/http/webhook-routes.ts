import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SkeinError, toSkeinError } from '../errors/skein-error.js';

/** What the admin routes need of the webhooks (the composition root passes them in). */
export interface WebhookAdmin {
  /** `--admin-token`: the Bearer token the routes require. Empty: the routes answer 404. */
  readonly adminToken: string;
  /** The oldest `limit` dead letters. */
  deadLetters(limit: number): Promise<readonly unknown[]>;
  /** Move dead letters back into the outbox (all when `ids` is absent); resolves with how many. */
  retryDeadLetters(ids?: readonly number[]): Promise<number>;
}

export const DEAD_LETTERS_PATH = '/api/v1/webhooks/dead-letters';
export const RETRY_PATH = '/api/v1/webhooks/dead-letters/retry';
const MAX_BODY_BYTES = 64 * 1024;

type Send = {
  sendJson(res: ServerResponse, status: number, body: unknown): void;
  sendError(res: ServerResponse, err: SkeinError): void;
};

/**
 * - `GET /api/v1/webhooks/dead-letters?limit=100` → `{ deadLetters: [...] }` (oldest first, at most 1000)
 * - `POST /api/v1/webhooks/dead-letters/retry` with `{}` (all) or `{ "ids": [1, 2] }` → `{ retried: n }`
 *
 * Both need `Authorization: Bearer <--admin-token>` (401 `SKEIN_ERR_ADMIN_TOKEN`); without an
 * admin token configured they do not exist (404). Plain request handlers: mount them anywhere.
 */
export async function serveWebhookAdmin(admin: WebhookAdmin, req: IncomingMessage, res: ServerResponse, path: string, send: Send): Promise<void> {
  try {
    if (admin.adminToken === '' || (path !== DEAD_LETTERS_PATH && path !== RETRY_PATH)) throw new SkeinError('SKEIN_ERR_NOT_FOUND', `no route ${path}`);
    if (!authorized(req, admin.adminToken)) throw new SkeinError('SKEIN_ERR_ADMIN_TOKEN', 'this route needs Authorization: Bearer <admin token>');
    const method = path === DEAD_LETTERS_PATH ? 'GET' : 'POST';
    if (req.method !== method) {
      res.setHeader('Allow', method);
      throw new SkeinError('SKEIN_ERR_METHOD_NOT_ALLOWED');
    }
    if (method === 'GET') {
      const limit = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('limit') ?? '100');
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw new SkeinError('SKEIN_ERR_BAD_REQUEST', 'limit is an integer from 1 to 1000');
      send.sendJson(res, 200, { deadLetters: await admin.deadLetters(limit) });
      return;
    }
    const ids = parseIds(await readBody(req));
    send.sendJson(res, 200, { retried: await admin.retryDeadLetters(ids) });
  } catch (err) {
    send.sendError(res, toSkeinError(err));
  }
}

function authorized(req: IncomingMessage, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  const given = Buffer.from(match?.[1] ?? '', 'utf8');
  const expected = Buffer.from(token, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new SkeinError('SKEIN_ERR_BAD_REQUEST', `the body is larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** `{}` or empty → undefined (all); `{ "ids": [positive integers] }` → the ids. */
export function parseIds(text: string): readonly number[] | undefined {
  if (text.trim() === '') return undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new SkeinError('SKEIN_ERR_BAD_REQUEST', 'the body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new SkeinError('SKEIN_ERR_BAD_REQUEST', 'the body is a JSON object');
  const ids = (body as { ids?: unknown }).ids;
  if (ids === undefined) return undefined;
  if (!Array.isArray(ids) || ids.length > 10_000 || !ids.every((id) => Number.isSafeInteger(id) && (id as number) > 0)) {
    throw new SkeinError('SKEIN_ERR_BAD_REQUEST', 'ids is a list of dead-letter ids (positive integers)');
  }
  return ids as number[];
}
