/**
 * Every limit at the edge, through a real server: its refusal carries its code (HTTP status
 * and JSON `error.code` before the upgrade, close code and reason after it) and counts in
 * `skein.limit.refusals`. Time-based limits run on the manual clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { CloseCode, encodeQueryAwareness, encodeSyncUpdate } from '@skein/protocol';
import type { Config, SkeinServer } from '@skein/server';
import { startTestServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-client.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { waitFor } from '../helpers/wait.js';
import { connectProvider, destroyAll, synced } from '../helpers/clients.js';
import { attemptUpgrade, errorCode } from './edge.js';
import type { WebsocketProvider } from 'y-websocket';

let server: SkeinServer | undefined;
const raws: RawClient[] = [];
const providers: WebsocketProvider[] = [];

afterEach(async () => {
  destroyAll(providers.splice(0));
  await Promise.all(raws.splice(0).map((c) => c.dispose()));
  await server?.close();
  server = undefined;
});

async function start(overrides: Partial<Config>, clock?: ManualClock): Promise<SkeinServer> {
  server = await startTestServer(overrides, clock === undefined ? {} : { clock });
  return server;
}

async function raw(s: SkeinServer, doc: string): Promise<RawClient> {
  const c = await RawClient.connect(s.url, doc);
  raws.push(c);
  return c;
}

/** `skein_limit_refusals_total` by kind, from the Prometheus endpoint. */
async function refusals(s: SkeinServer): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^skein_limit_refusals_total\{[^}]*skein_limit_kind="([^"]+)"[^}]*\} (\d+)/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

function textUpdate(chars: number): Uint8Array {
  const doc = new Y.Doc();
  doc.getText('t').insert(0, 'x'.repeat(chars));
  return Y.encodeStateAsUpdate(doc);
}

describe('limits at the edge: each refusal has its code', () => {
  it('--allowed-origins: another Origin gets 403 SKEIN_ERR_ORIGIN_FORBIDDEN before the upgrade; listed or absent Origins connect', async () => {
    const s = await start({ allowedOrigins: 'https://app.example.com,http://localhost:5173' });
    const bad = await attemptUpgrade(s.port, '/doc', { origin: 'https://evil.example' });
    expect(bad.status).toBe(403);
    expect(errorCode(bad)).toBe('SKEIN_ERR_ORIGIN_FORBIDDEN');
    expect((await attemptUpgrade(s.port, '/doc', { origin: 'https://app.example.com' })).status).toBe(101);
    expect((await attemptUpgrade(s.port, '/doc')).status).toBe(101);
    expect((await refusals(s)).origin).toBe(1);
  });

  it('--max-connections-per-ip: past it 429 SKEIN_ERR_IP_CONNECTION_LIMIT with Retry-After; a closed connection frees its slot', async () => {
    const s = await start({ maxConnectionsPerIp: 2 });
    const a = await raw(s, 'd1');
    await raw(s, 'd2');
    const refused = await attemptUpgrade(s.port, '/d3');
    expect(refused.status).toBe(429);
    expect(errorCode(refused)).toBe('SKEIN_ERR_IP_CONNECTION_LIMIT');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // Another loopback address is another client.
    expect((await attemptUpgrade(s.port, '/d3', { localAddress: '127.0.0.2' })).status).toBe(101);
    await a.dispose();
    await waitFor(() => s.connectionCount() === 1, { what: 'the closed connection to leave' });
    expect((await attemptUpgrade(s.port, '/d3')).status).toBe(101);
    expect((await refusals(s))['ip-connections']).toBe(1);
  });

  it('--trust-proxy: behind a trusted proxy the per-IP limits count the rightmost untrusted X-Forwarded-For hop; elsewhere the header is ignored', async () => {
    const s = await start({ trustProxy: '127.0.0.1', maxConnectionsPerIp: 1 });
    const keep = { keep: true } as const;
    const first = await attemptUpgrade(s.port, '/p', { ...keep, headers: { 'X-Forwarded-For': '6.6.6.6, 203.0.113.1' } });
    expect(first.status).toBe(101);
    // Same client behind the proxy (whatever it forged on the left): refused.
    const again = await attemptUpgrade(s.port, '/p', { headers: { 'X-Forwarded-For': '7.7.7.7, 203.0.113.1' } });
    expect(again.status).toBe(429);
    expect(errorCode(again)).toBe('SKEIN_ERR_IP_CONNECTION_LIMIT');
    // Another client behind the same proxy: admitted.
    const other = await attemptUpgrade(s.port, '/p', { ...keep, headers: { 'X-Forwarded-For': '203.0.113.2' } });
    expect(other.status).toBe(101);
    // 127.0.0.2 is not a trusted proxy: its header is ignored and it counts as itself.
    const direct = await attemptUpgrade(s.port, '/p', { ...keep, localAddress: '127.0.0.2', headers: { 'X-Forwarded-For': '203.0.113.9' } });
    expect(direct.status).toBe(101);
    const spoof = await attemptUpgrade(s.port, '/p', { localAddress: '127.0.0.2', headers: { 'X-Forwarded-For': '203.0.113.10' } });
    expect(spoof.status).toBe(429);
    for (const a of [first, other, direct]) a.socket?.destroy();
  });

  it('--upgrade-rate-per-ip / --upgrade-burst-per-ip: past the burst 429 SKEIN_ERR_IP_RATE_LIMITED with Retry-After, refilled on the clock', async () => {
    const clock = new ManualClock();
    const s = await start({ upgradeRatePerIp: 1, upgradeBurstPerIp: 2 }, clock);
    expect((await attemptUpgrade(s.port, '/r')).status).toBe(101);
    expect((await attemptUpgrade(s.port, '/r')).status).toBe(101);
    const refused = await attemptUpgrade(s.port, '/r');
    expect(refused.status).toBe(429);
    expect(errorCode(refused)).toBe('SKEIN_ERR_IP_RATE_LIMITED');
    expect(refused.headers['retry-after']).toBe('1');
    clock.advance(999);
    expect((await attemptUpgrade(s.port, '/r')).status).toBe(429);
    clock.advance(1);
    expect((await attemptUpgrade(s.port, '/r')).status).toBe(101);
    expect((await refusals(s))['ip-upgrade-rate']).toBe(2);
  });

  it('--max-connections-per-doc: past it 503 SKEIN_ERR_DOC_CONNECTION_LIMIT with Retry-After; other documents open', async () => {
    const s = await start({ maxConnectionsPerDoc: 1 });
    await raw(s, 'full');
    const refused = await attemptUpgrade(s.port, '/full');
    expect(refused.status).toBe(503);
    expect(errorCode(refused)).toBe('SKEIN_ERR_DOC_CONNECTION_LIMIT');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect((await attemptUpgrade(s.port, '/other')).status).toBe(101);
    expect((await refusals(s))['doc-connections']).toBe(1);
  });

  it('--max-messages-per-second: past the burst the socket closes with 4530 SKEIN_ERR_RATE_LIMITED; refilled on the clock', async () => {
    const clock = new ManualClock();
    const s = await start({ maxMessagesPerSecond: 5 }, clock);
    const c = await raw(s, 'm');
    for (let i = 0; i < 10; i++) c.send(encodeQueryAwareness());
    await c.roundTrip();
    expect(c.isOpen).toBe(true);
    clock.advance(200); // one more token
    c.send(encodeQueryAwareness());
    await c.roundTrip();
    expect(c.isOpen).toBe(true);
    c.send(encodeQueryAwareness());
    const closed = await c.closed;
    expect(closed).toEqual({ code: CloseCode.RateLimited, reason: 'SKEIN_ERR_RATE_LIMITED' });
    expect((await refusals(s))['message-rate']).toBe(1);
  });

  it('--max-bytes-per-second: past the burst the socket closes with 4530 SKEIN_ERR_RATE_LIMITED', async () => {
    const clock = new ManualClock();
    const s = await start({ maxBytesPerSecond: 2048, maxMessageBytes: 4096 }, clock);
    const c = await raw(s, 'b');
    const update = encodeSyncUpdate(textUpdate(1900));
    expect(update.byteLength).toBeGreaterThan(1366); // three of them pass the 4096-byte bucket
    c.send(update);
    c.send(update);
    await c.roundTrip();
    expect(c.isOpen).toBe(true);
    c.send(update);
    expect(await c.closed).toEqual({ code: CloseCode.RateLimited, reason: 'SKEIN_ERR_RATE_LIMITED' });
    expect((await refusals(s))['byte-rate']).toBe(1);
  });

  it('--max-doc-bytes: an update that would pass the quota closes with 4413 SKEIN_ERR_DOC_TOO_LARGE; nothing of it is applied or stored', async () => {
    const s = await start({ maxDocBytes: 4096 });
    const writer = connectProvider(s.url, 'quota');
    providers.push(writer);
    await synced(writer);
    writer.doc.getText('t').insert(0, 'a'.repeat(1000));
    await waitFor(() => s.registry.get('quota')?.doc.getText('t').length === 1000, { what: 'the small edit' });

    const c = await raw(s, 'quota');
    const before = Y.encodeStateVector(s.registry.get('quota')!.doc);
    c.send(encodeSyncUpdate(textUpdate(5000)));
    expect(await c.closed).toEqual({ code: CloseCode.DocumentTooLarge, reason: 'SKEIN_ERR_DOC_TOO_LARGE' });
    const handle = s.registry.get('quota')!;
    expect(Y.encodeStateVector(handle.doc)).toEqual(before);
    expect(handle.doc.getText('t').length).toBe(1000);

    // The edit path refuses synchronously for every writer, keeping nothing.
    expect(() => handle.submit(textUpdate(5000), { source: 'local' })).toThrow(expect.objectContaining({ code: 'SKEIN_ERR_DOC_TOO_LARGE' }));
    // Small edits keep working.
    writer.doc.getText('t').insert(0, 'b');
    await waitFor(() => handle.doc.getText('t').length === 1001, { what: 'a small edit after the refusal' });
    await handle.submit(new Uint8Array([0, 0]), { source: 'local' }); // empty update: waits for earlier writes
    const stored = new Y.Doc();
    for (const u of await s.store.load('quota')) Y.applyUpdate(stored, u);
    expect(stored.getText('t').length).toBe(1001);
    expect((await refusals(s))['doc-bytes']).toBe(2);
  });

  it('--max-header-bytes: a larger header block is answered 431 SKEIN_ERR_HEADERS_TOO_LARGE', async () => {
    const s = await start({ maxHeaderBytes: 4096 });
    const refused = await attemptUpgrade(s.port, '/h', { headers: { 'X-Big': 'a'.repeat(5000) } });
    expect(refused.status).toBe(431);
    expect(errorCode(refused)).toBe('SKEIN_ERR_HEADERS_TOO_LARGE');
    expect((await attemptUpgrade(s.port, '/h', { headers: { 'X-Small': 'a'.repeat(1000) } })).status).toBe(101);
    expect((await refusals(s))['header-size']).toBe(1);
  });
});
