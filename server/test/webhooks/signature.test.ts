import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { parseSecret, sign, signedHeaders, verify } from '../../src/webhooks/signature.js';

/** The Standard Webhooks reference test vector (the spec's libraries test against it). */
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

describe('Standard Webhooks signing codec', () => {
  it('signs the reference vector byte for byte', () => {
    expect(sign(parseSecret(VECTOR.secret), VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(VECTOR.signature);
  });

  it('pins its own golden signature (HMAC-SHA256 over "id.timestamp.body", key = base64 after whsec_)', () => {
    const key = parseSecret(`whsec_${Buffer.alloc(32, 7).toString('base64')}`);
    const body = '{"type":"document.created","timestamp":"2026-01-01T00:00:00.000Z","data":{"name":"board/1"}}';
    expect(signedHeaders(key, 'msg_0123456789abcdef0123456789abcdef', 1767225600, body)).toEqual({
      'webhook-id': 'msg_0123456789abcdef0123456789abcdef',
      'webhook-timestamp': '1767225600',
      'webhook-signature': `v1,${createHmac('sha256', Buffer.alloc(32, 7)).update(`msg_0123456789abcdef0123456789abcdef.1767225600.${body}`).digest('base64')}`,
    });
    // Computed independently (Python hmac/hashlib).
    expect(sign(key, 'msg_1', 1, '{}')).toBe('v1,gRg0Tb9S+usd0tIS/YxunDQNcWBtyF8BfjDiVx/EhDU=');
  });

  it('is verified by an independent implementation (the standardwebhooks npm package)', () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const body = JSON.stringify({ type: 'document.changed', data: { name: 'n', users: ['ü'] } });
    const now = Math.floor(Date.now() / 1000);
    const headers = signedHeaders(parseSecret(secret), 'msg_abc', now, body);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
    // A tampered body or another secret fails there too.
    expect(() => new Webhook(secret).verify(`${body} `, { ...headers })).toThrow();
    expect(() => new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(body, { ...headers })).toThrow();
  });

  it('verifies its own signatures, any of several v1 entries, and rejects others', () => {
    const key = parseSecret(VECTOR.secret);
    expect(verify(key, VECTOR.id, VECTOR.timestamp, VECTOR.body, VECTOR.signature)).toBe(true);
    expect(verify(key, VECTOR.id, VECTOR.timestamp, VECTOR.body, `v1,AAAA ${VECTOR.signature}`)).toBe(true);
    expect(verify(key, VECTOR.id, VECTOR.timestamp + 1, VECTOR.body, VECTOR.signature)).toBe(false);
    expect(verify(key, VECTOR.id, VECTOR.timestamp, VECTOR.body, VECTOR.signature.replace('v1', 'v2'))).toBe(false);
  });

  it('refuses secrets that are not base64 of 24..64 bytes, without echoing them', () => {
    for (const bad of ['', 'whsec_', 'whsec_not base64!', `whsec_${Buffer.alloc(8).toString('base64')}`, Buffer.alloc(65).toString('base64')]) {
      let caught: unknown;
      try {
        parseSecret(bad);
      } catch (err) {
        caught = err;
      }
      expect(caught).toMatchObject({ code: 'SKEIN_ERR_CONFIG_INVALID' });
      if (bad.length > 8) expect(String((caught as Error).message)).not.toContain(bad);
    }
    expect(parseSecret(Buffer.alloc(24, 1).toString('base64')).bytes).toEqual(new Uint8Array(24).fill(1));
  });
});
