import { z } from 'zod';
import type { OptionSpec } from './schema.js';

/**
 * The HTTP API (`/api/v1`, docs/http-api.md) and version history, spread into `OPTIONS` by
 * `schema.ts`.
 */

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `30s`, `10m`, `2h`, `7d` → milliseconds; `0` → 0. Throws a RangeError otherwise. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  const match = /^(\d{1,9})(ms|s|m|h|d)$/.exec(trimmed);
  if (match === null) throw new RangeError(`expected a duration like 500ms, 30s, 10m, 2h or 7d (or 0), got "${text}"`);
  return Number(match[1]) * (UNITS[match[2] ?? 'ms'] ?? 1);
}

/** `--history-keep`: how many automatic versions to keep and/or for how long. */
export interface HistoryKeep {
  /** Keep at most this many automatic versions per document (0: no count bound). */
  readonly count: number;
  /** Drop automatic versions older than this (0: no age bound). */
  readonly maxAgeMs: number;
}

/** `50`, `30d`, `50,30d` (comma-separated; at most one count and one age). */
export function parseHistoryKeep(text: string): HistoryKeep {
  let count = 0;
  let maxAgeMs = 0;
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    if (/^\d{1,9}$/.test(part)) count = Number(part);
    else maxAgeMs = parseDuration(part);
  }
  return { count, maxAgeMs };
}

const duration = z.string().superRefine((text, ctx) => {
  try {
    parseDuration(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
  }
});

const keep = z.string().superRefine((text, ctx) => {
  try {
    parseHistoryKeep(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
  }
});

export const API_OPTIONS = [
  { key: 'httpApi', flag: 'http-api', env: 'SKEIN_HTTP_API', schema: z.enum(['auto', 'open', 'read-only', 'off']), default: 'auto',
    description:
      'The HTTP API under /api/v1: auto (on; with --auth none on a non-loopback host only its read routes), open (write and admin ' +
      'routes on even with --auth none beyond loopback), read-only (read routes only), off (no /api/v1).' },
  { key: 'adminToken', flag: 'admin-token', env: 'SKEIN_ADMIN_TOKEN',
    schema: z.string().refine((s) => s === '' || s.length >= 16, { message: 'must be empty or at least 16 characters' }),
    default: '', sensitive: true,
    description: 'Bearer token of the admin routes of the HTTP API (e.g. DELETE a document, webhook dead letters); it may also read and write every document. Empty: no admin token (admin routes answer 403, the webhook dead-letter routes 404).' },
  { key: 'apiMaxBodyBytes', flag: 'api-max-body-bytes', env: 'SKEIN_API_MAX_BODY_BYTES',
    schema: z.coerce.number().int().min(1024).max(2 ** 31), default: 16 * 1024 * 1024,
    description: 'Largest HTTP API request body (e.g. a posted update); larger is refused with 413 (SKEIN_ERR_BODY_TOO_LARGE).' },
  { key: 'apiRatePerToken', flag: 'api-rate-per-token', env: 'SKEIN_API_RATE_PER_TOKEN',
    schema: z.coerce.number().int().min(0).max(1_000_000), default: 100,
    description: 'HTTP API requests per second per token (per client IP without one); past it 429 with Retry-After (SKEIN_ERR_API_RATE_LIMITED). 0: no bound.' },
  { key: 'apiBurstPerToken', flag: 'api-burst-per-token', env: 'SKEIN_API_BURST_PER_TOKEN',
    schema: z.coerce.number().int().min(1).max(1_000_000), default: 200,
    description: 'HTTP API requests one token may make at once (token bucket capacity).' },
  { key: 'inspector', flag: 'inspector', env: 'SKEIN_INSPECTOR', schema: z.enum(['off', 'admin', 'open']), default: 'admin',
    description:
      'The inspector web UI at /_skein/ (docs/inspector.md): admin (the page asks for the admin token; the inspector\'s API routes ' +
      'need it), open (anyone who may use the HTTP API may also list connections and presence; actions still need their rights), ' +
      'off (no /_skein/).' },
  { key: 'inspectorDir', flag: 'inspector-dir', env: 'SKEIN_INSPECTOR_DIR', schema: z.string().refine((text) => !text.includes('\0'), { message: 'a directory path must not contain NUL' }), default: '',
    description:
      'Directory of the built inspector app served at /_skein/ (e.g. /app/inspector in the container image). Empty: ' +
      'examples/inspector/dist of this checkout.' },
  { key: 'historyInterval', flag: 'history-interval', env: 'SKEIN_HISTORY_INTERVAL', schema: duration, default: '10m',
    description: 'Take an automatic version of each document edited within this period (e.g. 10m, 1h). 0: no automatic versions.' },
  { key: 'historyKeep', flag: 'history-keep', env: 'SKEIN_HISTORY_KEEP', schema: keep, default: '100,30d',
    description:
      'Retention of automatic versions (and "before restore" ones) per document: a count, an age, or both (e.g. 50, 7d, 50,7d). ' +
      'Named versions are kept until the document is deleted.' },
] as const satisfies readonly OptionSpec[];
