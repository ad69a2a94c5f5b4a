import { z } from 'zod';
import type { OptionSpec } from './schema.js';

/** The event types a webhook may subscribe to (documents/events.ts has the same list). */
export const WEBHOOK_EVENT_TYPES = ['document.created', 'document.changed', 'document.deleted', 'version.created', 'version.restored'] as const;

/** One webhook endpoint: where to POST, which events, which documents. */
export interface WebhookTarget {
  readonly url: string;
  /** Event types delivered to it; empty: every type. */
  readonly events: readonly string[];
  /** Document-name globs (`*` matches any run, e.g. `board/*`); empty: every document. */
  readonly docs: readonly string[];
}

const httpUrl = z.string().refine((text) => {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}, { message: 'expected an http:// or https:// URL' });

const target = z.union([
  httpUrl.transform((url): WebhookTarget => ({ url, events: [], docs: [] })),
  z.object({
    url: httpUrl,
    events: z.array(z.enum(WEBHOOK_EVENT_TYPES)).default([]),
    docs: z.array(z.string().min(1).max(255)).default([]),
  }).strict(),
]);

/**
 * `--webhook-url` (repeatable), `SKEIN_WEBHOOK_URL` (URLs separated by whitespace) or the
 * config file's `webhookUrl`: a URL, or a list of URLs and `{url, events, docs}` objects.
 */
const webhookTargets = z.preprocess(
  (value) => (typeof value === 'string' ? value.split(/\s+/).filter((part) => part !== '') : value),
  z.array(target).max(32),
).refine((targets) => new Set(targets.map((t) => t.url)).size === targets.length, { message: 'the same webhook URL is listed twice' });

/** `whsec_` (optional) + base64 of 24..64 bytes (webhooks/signature.ts parses it); empty: unset. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const webhookSecret = z.string().refine((text) => {
  if (text === '') return true;
  const body = text.startsWith('whsec_') ? text.slice(6) : text;
  const bytes = BASE64.test(body) ? Buffer.from(body, 'base64').length : 0;
  return bytes >= 24 && bytes <= 64;
}, { message: 'expected whsec_ followed by base64 of 24 to 64 bytes' });

/** A duration: `500ms`, `2s`, `5m`, or a whole number of milliseconds. */
const DURATION = /^(\d+)\s*(ms|s|m)?$/;
const duration = (max: number): z.ZodType<number> => z.union([z.number(), z.string()]).transform((value, ctx) => {
  const match = typeof value === 'number' ? [String(value), String(value), 'ms'] : DURATION.exec(value.trim());
  const n = match === null ? NaN : Number(match[1]) * ({ ms: 1, s: 1000, m: 60_000 }[match[2] ?? 'ms'] ?? NaN);
  if (!Number.isSafeInteger(n) || n < 1 || n > max) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like 500ms, 2s or 5m (1 ms to ${max / 60_000} min)` });
    return z.NEVER;
  }
  return n;
});

const positiveInt = (max: number) => z.coerce.number().int().min(1).max(max);

/** Webhooks (webhooks/, docs/webhooks.md). Off while `webhookUrl` is empty. */
export const WEBHOOK_OPTIONS = [
  { key: 'webhookUrl', flag: 'webhook-url', env: 'SKEIN_WEBHOOK_URL', schema: webhookTargets, default: [] as readonly WebhookTarget[],
    repeatable: true,
    description:
      'Webhook endpoint to POST document events to (repeat the flag for several; in the environment separate URLs by spaces). ' +
      'In a config file: a list of URLs or {"url", "events": [types], "docs": [name globs]} objects. Empty: no webhooks.' },
  { key: 'webhookSecret', flag: 'webhook-secret', env: 'SKEIN_WEBHOOK_SECRET', schema: webhookSecret, default: '', sensitive: true,
    description: 'Signing secret of the webhooks (Standard Webhooks): whsec_ followed by base64 of 24 to 64 random bytes. Required with --webhook-url.' },
  { key: 'webhookDebounce', flag: 'webhook-debounce', env: 'SKEIN_WEBHOOK_DEBOUNCE', schema: duration(3_600_000), default: 2_000,
    description: 'document.changed is sent once a document has been quiet this long (500ms, 2s, 5m or milliseconds)…' },
  { key: 'webhookMaxWait', flag: 'webhook-max-wait', env: 'SKEIN_WEBHOOK_MAX_WAIT', schema: duration(3_600_000), default: 10_000,
    description: '…and at the latest this long after the first change since the previous event.' },
  { key: 'webhookTimeout', flag: 'webhook-timeout', env: 'SKEIN_WEBHOOK_TIMEOUT', schema: duration(600_000), default: 10_000,
    description: 'A delivery attempt without a response after this long counts as failed.' },
  { key: 'webhookMaxAttempts', flag: 'webhook-max-attempts', env: 'SKEIN_WEBHOOK_MAX_ATTEMPTS', schema: positiveInt(100), default: 12,
    description: 'Failed attempts after which an event goes to the dead-letter list (per endpoint).' },
  { key: 'webhookRetryInitial', flag: 'webhook-retry-initial', env: 'SKEIN_WEBHOOK_RETRY_INITIAL', schema: duration(3_600_000), default: 1_000,
    description: 'Delay before the first retry; it doubles per failed attempt (with jitter)…' },
  { key: 'webhookRetryMax', flag: 'webhook-retry-max', env: 'SKEIN_WEBHOOK_RETRY_MAX', schema: duration(86_400_000), default: 300_000,
    description: '…up to this cap (also the cap of an endpoint\'s circuit-breaker backoff).' },
] as const satisfies readonly OptionSpec[];
