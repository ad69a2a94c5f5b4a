import { createHmac, timingSafeEqual } from 'node:crypto';
import { SkeinError } from '../errors/skein-error.js';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com/, "Signature scheme"). Pure.
 *
 *   secret        `whsec_` + base64 of 24..64 random bytes (the prefix is optional on input)
 *   signed text   `<webhook-id>.<webhook-timestamp>.<body>`   (timestamp: integer seconds)
 *   signature     `v1,` + base64(HMAC-SHA256(secret bytes, signed text))
 *
 * Headers: `webhook-id`, `webhook-timestamp`, `webhook-signature` (docs/webhooks.md shows how
 * a receiver verifies them).
 */

export const SECRET_PREFIX = 'whsec_';
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A parsed signing secret: the key bytes. Never logged. */
export interface SigningKey {
  readonly bytes: Uint8Array;
}

/**
 * The key bytes of a secret (`whsec_<base64>` or bare base64 of 24..64 bytes).
 * @throws SkeinError `SKEIN_ERR_CONFIG_INVALID` (the message never contains the secret).
 */
export function parseSecret(secret: string): SigningKey {
  const text = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!BASE64.test(text)) {
    throw new SkeinError('SKEIN_ERR_CONFIG_INVALID', `a webhook secret is ${SECRET_PREFIX} followed by base64 (see docs/webhooks.md)`);
  }
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length < MIN_KEY_BYTES || bytes.length > MAX_KEY_BYTES) {
    throw new SkeinError('SKEIN_ERR_CONFIG_INVALID', `a webhook secret must decode to ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} bytes, not ${bytes.length}`);
  }
  return { bytes: new Uint8Array(bytes) };
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. */
export function sign(key: SigningKey, id: string, timestampS: number, body: string): string {
  const mac = createHmac('sha256', key.bytes).update(`${id}.${timestampS}.${body}`, 'utf8').digest('base64');
  return `v1,${mac}`;
}

export interface WebhookHeaders {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
}

/** The three Standard Webhooks headers of one delivery attempt (timestamp: seconds, now). */
export function signedHeaders(key: SigningKey, id: string, timestampS: number, body: string): WebhookHeaders {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampS),
    'webhook-signature': sign(key, id, timestampS, body),
  };
}

/**
 * Check a `webhook-signature` header (space-separated `v1,<sig>` entries, any may match) for
 * `id`, `timestampS` and `body`. Constant-time per comparison. Receivers in Node may use this
 * logic; the test suite also verifies with an independent library.
 */
export function verify(key: SigningKey, id: string, timestampS: number, body: string, header: string): boolean {
  const expected = Buffer.from(sign(key, id, timestampS, body).slice(3), 'base64');
  for (const entry of header.split(' ')) {
    const [version, sig] = entry.split(',', 2);
    if (version !== 'v1' || sig === undefined) continue;
    const got = Buffer.from(sig, 'base64');
    if (got.length === expected.length && timingSafeEqual(got, expected)) return true;
  }
  return false;
}
