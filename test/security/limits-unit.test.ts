/**
 * The pure parts of the edge limits on a manual clock: token bucket, client IP resolution,
 * the upgrade and message-rate decisions, idle-IP eviction, the document quota.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { TokenBucket } from '../../server/src/auth/token-bucket.js';
import { ClientIpResolver, ipLimitKey, normalizeIp, parseTrustedProxies } from '../../server/src/auth/client-ip.js';
import { EdgeLimits, type EdgeLimitOptions, type LimitKind, type UpgradeRequest } from '../../server/src/auth/limits.js';
import { DocQuota } from '../../server/src/documents/quota.js';
import { SkeinError } from '../../server/src/errors/skein-error.js';
import { ManualClock } from '../helpers/manual-clock.js';

const OFF: EdgeLimitOptions = {
  allowedOrigins: [],
  trustedProxies: [],
  maxConnectionsPerIp: 0,
  upgradeRatePerIp: 0,
  upgradeBurstPerIp: 1,
  maxConnectionsPerDoc: 0,
  maxMessagesPerSecond: 0,
  maxBytesPerSecond: 0,
  maxMessageBytes: 1024,
};

function req(over: Partial<UpgradeRequest> = {}): UpgradeRequest {
  return { origin: undefined, socketAddress: '127.0.0.1', forwardedFor: undefined, docName: 'doc', ...over };
}

function limits(over: Partial<EdgeLimitOptions>, clock = new ManualClock()): { l: EdgeLimits; clock: ManualClock; kinds: LimitKind[] } {
  const kinds: LimitKind[] = [];
  return { l: new EdgeLimits({ ...OFF, ...over }, clock, (k) => kinds.push(k)), clock, kinds };
}

describe('TokenBucket', () => {
  it('starts full, refuses when empty, refills at its rate up to its capacity', () => {
    const b = new TokenBucket(10, 5, 0);
    for (let i = 0; i < 5; i++) expect(b.take(0)).toBe(true);
    expect(b.take(0)).toBe(false);
    expect(b.waitMs(0)).toBeCloseTo(100);
    expect(b.take(99)).toBe(false);
    expect(b.take(100)).toBe(true);
    expect(b.isFull(100)).toBe(false);
    expect(b.tokens(10_000)).toBe(5);
    expect(b.isFull(10_000)).toBe(true);
  });

  it('takes n tokens at once or none, and never more than its capacity', () => {
    const b = new TokenBucket(100, 50, 0);
    expect(b.take(0, 51)).toBe(false);
    expect(b.waitMs(0, 51)).toBe(Infinity);
    expect(b.take(0, 30)).toBe(true);
    expect(b.take(0, 30)).toBe(false);
    expect(b.tokens(0)).toBe(20);
  });

  it('a clock stepping back takes nothing away', () => {
    const b = new TokenBucket(1, 2, 1000);
    expect(b.take(1000)).toBe(true);
    expect(b.tokens(500)).toBe(1);
  });
});

describe('client IP', () => {
  it('normalizes IPv4-mapped IPv6, brackets and zones; rejects non-addresses', () => {
    expect(normalizeIp('::ffff:127.0.0.2')).toBe('127.0.0.2');
    expect(normalizeIp('[::1]')).toBe('::1');
    expect(normalizeIp('fe80::1%eth0')).toBe('fe80::1');
    expect(normalizeIp('FD00::AB')).toBe('fd00::ab');
    expect(normalizeIp('example.com')).toBeUndefined();
    expect(normalizeIp('')).toBeUndefined();
  });

  it('keys IPv6 by /64 and IPv4 by address', () => {
    expect(ipLimitKey('10.1.2.3')).toBe('10.1.2.3');
    expect(ipLimitKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(ipLimitKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(ipLimitKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(ipLimitKey('::1')).toBe('0:0:0:0::/64');
  });

  it('without trusted proxies the socket address is the client, X-Forwarded-For is ignored', () => {
    const r = new ClientIpResolver([]);
    expect(r.resolve('::ffff:10.0.0.5', '1.2.3.4')).toBe('10.0.0.5');
  });

  it('behind trusted proxies the client is the rightmost untrusted X-Forwarded-For hop', () => {
    const r = new ClientIpResolver(parseTrustedProxies('10.0.0.0/8, 192.168.1.1'));
    // The client forged "6.6.6.6"; the edge proxy (192.168.1.1) appended 203.0.113.9; the inner proxy 10.0.0.2 connects.
    expect(r.resolve('10.0.0.2', '6.6.6.6, 203.0.113.9, 192.168.1.1')).toBe('203.0.113.9');
    // Several headers are one list.
    expect(r.resolve('10.0.0.2', ['6.6.6.6', '203.0.113.9'])).toBe('203.0.113.9');
    // An untrusted peer's header is ignored.
    expect(r.resolve('203.0.113.50', '1.1.1.1')).toBe('203.0.113.50');
    // Every hop trusted: the leftmost trusted one.
    expect(r.resolve('10.0.0.2', '10.9.9.9, 10.0.0.3')).toBe('10.9.9.9');
    // No header: the proxy itself.
    expect(r.resolve('10.0.0.2', undefined)).toBe('10.0.0.2');
    // Garbage stops the walk at the trusted hop that forwarded it.
    expect(r.resolve('10.0.0.2', 'junk, 10.0.0.3')).toBe('10.0.0.3');
  });

  it('refuses bad --trust-proxy entries', () => {
    expect(() => parseTrustedProxies('10.0.0.0/33')).toThrow(RangeError);
    expect(() => parseTrustedProxies('proxy')).toThrow(RangeError);
    expect(parseTrustedProxies(' ::1 , 10.0.0.0/8 ,')).toEqual(['::1', '10.0.0.0/8']);
  });
});

describe('EdgeLimits.admitUpgrade', () => {
  it('refuses an Origin not on the list (403), allows listed ones and requests without Origin', () => {
    const { l, kinds } = limits({ allowedOrigins: ['https://app.example.com', 'http://localhost:5173/'] });
    const bad = l.admitUpgrade(req({ origin: 'https://evil.example' }));
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.error.code).toBe('SKEIN_ERR_ORIGIN_FORBIDDEN');
      expect(bad.error.spec.httpStatus).toBe(403);
    }
    expect(l.admitUpgrade(req({ origin: 'https://APP.example.com' })).ok).toBe(true);
    expect(l.admitUpgrade(req({ origin: 'http://localhost:5173' })).ok).toBe(true);
    expect(l.admitUpgrade(req({ origin: undefined })).ok).toBe(true);
    expect(l.admitUpgrade(req({ origin: 'null' })).ok).toBe(false);
    expect(kinds).toEqual(['origin', 'origin']);
  });

  it('rate-limits upgrades per IP with a burst, Retry-After from the refill, other IPs unaffected', () => {
    const { l, clock, kinds } = limits({ upgradeRatePerIp: 2, upgradeBurstPerIp: 3 });
    for (let i = 0; i < 3; i++) l.admitUpgrade(req({ socketAddress: '127.0.0.2' }));
    const refused = l.admitUpgrade(req({ socketAddress: '127.0.0.2' }));
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.error.code).toBe('SKEIN_ERR_IP_RATE_LIMITED');
      expect(refused.error.spec.httpStatus).toBe(429);
      expect(refused.retryAfterS).toBe(1);
    }
    expect(l.admitUpgrade(req({ socketAddress: '127.0.0.1' })).ok).toBe(true);
    clock.advance(499);
    expect(l.admitUpgrade(req({ socketAddress: '127.0.0.2' })).ok).toBe(false);
    clock.advance(1);
    expect(l.admitUpgrade(req({ socketAddress: '127.0.0.2' })).ok).toBe(true);
    expect(kinds).toEqual(['ip-upgrade-rate', 'ip-upgrade-rate']);
  });

  it('bounds open connections per IP (IPv6 per /64) until they are released', () => {
    const { l, kinds } = limits({ maxConnectionsPerIp: 2 });
    const a = l.admitUpgrade(req({ socketAddress: '2001:db8::1' }));
    const b = l.admitUpgrade(req({ socketAddress: '2001:db8::2' }));
    const c = l.admitUpgrade(req({ socketAddress: '2001:db8::3' }));
    expect([a.ok, b.ok, c.ok]).toEqual([true, true, false]);
    if (!c.ok) expect(c.error.code).toBe('SKEIN_ERR_IP_CONNECTION_LIMIT');
    expect(l.admitUpgrade(req({ socketAddress: '2001:db8:0:1::1' })).ok).toBe(true);
    if (a.ok) {
      a.release();
      a.release(); // idempotent
    }
    expect(l.admitUpgrade(req({ socketAddress: '2001:db8::4' })).ok).toBe(true);
    expect(l.admitUpgrade(req({ socketAddress: '2001:db8::5' })).ok).toBe(false);
    expect(kinds).toEqual(['ip-connections', 'ip-connections']);
  });

  it('bounds connections per document (503 with Retry-After)', () => {
    const { l, kinds } = limits({ maxConnectionsPerDoc: 1 });
    const first = l.admitUpgrade(req({ docName: 'a' }));
    const second = l.admitUpgrade(req({ docName: 'a' }));
    expect(second.ok).toBe(false);
    if (!second.ok) {
      expect(second.error.code).toBe('SKEIN_ERR_DOC_CONNECTION_LIMIT');
      expect(second.error.spec.httpStatus).toBe(503);
      expect(second.retryAfterS).toBeGreaterThan(0);
    }
    expect(l.admitUpgrade(req({ docName: 'b' })).ok).toBe(true);
    if (first.ok) first.release();
    expect(l.docConnections('a')).toBe(0);
    expect(l.admitUpgrade(req({ docName: 'a' })).ok).toBe(true);
    expect(kinds).toEqual(['doc-connections']);
  });

  it('forgets idle IPs once their bucket is full again (bounded memory)', () => {
    const { l, clock } = limits({ upgradeRatePerIp: 10, upgradeBurstPerIp: 10, maxConnectionsPerIp: 100 });
    for (let i = 0; i < 20_000; i++) {
      const lease = l.admitUpgrade(req({ socketAddress: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }));
      if (lease.ok) lease.release();
    }
    // Between sweeps the map is bounded by the sweep threshold (10 000 idle entries, then doubled by busy ones).
    expect(l.trackedIps).toBeLessThanOrEqual(20_000);
    const held = l.admitUpgrade(req({ socketAddress: '192.0.2.1' }));
    clock.advance(10_000);
    l.admitUpgrade(req({ socketAddress: '192.0.2.2' }));
    // After a sweep only the address with an open connection and the one just seen remain.
    expect(l.trackedIps).toBe(2);
    expect(held.ok).toBe(true);
  });

  it('counts per-IP limits against the forwarded client behind a trusted proxy', () => {
    const { l } = limits({ trustedProxies: ['127.0.0.1'], maxConnectionsPerIp: 1 });
    expect(l.admitUpgrade(req({ forwardedFor: '203.0.113.1' })).ok).toBe(true);
    expect(l.admitUpgrade(req({ forwardedFor: '203.0.113.2' })).ok).toBe(true);
    expect(l.admitUpgrade(req({ forwardedFor: '203.0.113.1' })).ok).toBe(false);
  });
});

describe('EdgeLimits.messageRate', () => {
  it('closes past the message rate (burst: two seconds), refills on the clock', () => {
    const { l, clock, kinds } = limits({ maxMessagesPerSecond: 5 });
    const rate = l.messageRate();
    for (let i = 0; i < 10; i++) expect(rate.admit(10)).toBeUndefined();
    const err = rate.admit(10);
    expect(err).toBeInstanceOf(SkeinError);
    expect(err?.code).toBe('SKEIN_ERR_RATE_LIMITED');
    expect(err?.spec.closeCode).toBe(4530);
    clock.advance(200);
    expect(rate.admit(10)).toBeUndefined();
    expect(kinds).toEqual(['message-rate']);
  });

  it('closes past the byte rate; one message of maxMessageBytes always fits a rested bucket', () => {
    const { l, clock, kinds } = limits({ maxBytesPerSecond: 100, maxMessageBytes: 1000 });
    const rate = l.messageRate();
    expect(rate.admit(1000)).toBeUndefined();
    expect(rate.admit(1)?.code).toBe('SKEIN_ERR_RATE_LIMITED');
    clock.advance(10_000);
    expect(rate.admit(600)).toBeUndefined();
    expect(rate.admit(400)).toBeUndefined();
    expect(rate.admit(50)?.code).toBe('SKEIN_ERR_RATE_LIMITED');
    expect(kinds).toEqual(['byte-rate', 'byte-rate']);
  });

  it('is a no-op when both rates are off', () => {
    const { l } = limits({});
    const rate = l.messageRate();
    for (let i = 0; i < 10_000; i++) expect(rate.admit(1_000_000)).toBeUndefined();
  });
});

describe('DocQuota', () => {
  const local = { source: 'local' } as const;

  it('admits by the upper bound far from the limit without measuring', () => {
    let measured = 0;
    const q = new DocQuota(1000, () => ++measured && 0);
    q.loaded([new Uint8Array(300)]);
    q.admit(600, local);
    q.grew(600);
    expect(q.bound).toBe(900);
    expect(measured).toBe(0);
  });

  it('measures exactly near the limit, refuses with SKEIN_ERR_DOC_TOO_LARGE, never measures twice without a change', () => {
    let size = 200;
    let measured = 0;
    let refused = 0;
    const q = new DocQuota(1000, () => (measured++, size), () => refused++);
    q.loaded([new Uint8Array(700), new Uint8Array(200)]); // bound 900, real 200 (history merged)
    q.admit(500, local); // 900 + 500 > 1000: measure → 200 + 500 fits
    expect(measured).toBe(1);
    q.grew(500);
    size = 700;
    let err: unknown;
    try {
      q.admit(400, local);
    } catch (e) {
      err = e;
    }
    expect((err as SkeinError).code).toBe('SKEIN_ERR_DOC_TOO_LARGE');
    expect((err as SkeinError).spec.closeCode).toBe(4413);
    expect(measured).toBe(2);
    expect(() => q.admit(400, local)).toThrow(SkeinError);
    expect(measured).toBe(2);
    expect(refused).toBe(2);
    // Small updates that fit still pass.
    q.admit(300, local);
  });

  it('never refuses updates from other nodes, but counts them', () => {
    const q = new DocQuota(10, () => 100);
    q.grew(100);
    expect(() => q.admit(50, { source: 'cluster', nodeId: 'n2' })).not.toThrow();
    expect(() => q.admit(50, local)).toThrow(SkeinError);
  });

  it('the bound is an upper bound of the real encoded state under random edits', () => {
    const doc = new Y.Doc();
    const q = new DocQuota(0, () => Y.encodeStateAsUpdate(doc).byteLength);
    doc.on('update', (u: Uint8Array) => q.grew(u.byteLength));
    const text = doc.getText('t');
    const map = doc.getMap('m');
    for (let i = 0; i < 2000; i++) {
      if (i % 3 === 0 && text.length > 5) text.delete(i % text.length, 3);
      else text.insert(i % (text.length + 1), `w${i}`);
      map.set(`k${i % 17}`, i);
      if (i % 100 === 0) expect(Y.encodeStateAsUpdate(doc).byteLength).toBeLessThanOrEqual(q.bound);
    }
    expect(Y.encodeStateAsUpdate(doc).byteLength).toBeLessThanOrEqual(q.bound);
  });
});
