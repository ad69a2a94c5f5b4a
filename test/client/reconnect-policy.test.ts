import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import WebSocket from 'ws';
import type { AddressInfo } from 'node:net';
import { backoffDelay, isPermanentClose, type SkeinProvider } from '@skein/client';
import { CloseCode, decodeMessage } from '@skein/protocol';
import type { SkeinServer } from '@skein/server';
import { startTestServer } from '../helpers/server.js';
import { ScriptedServer } from '../helpers/scripted-server.js';
import { ManualTimers } from '../helpers/manual-timers.js';
import { waitFor } from '../helpers/wait.js';
import { freePort, isSaved, isSynced, openClient, waitStatus } from '../helpers/skein-client.js';

describe('reconnect policy', () => {
  const providers: SkeinProvider[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  const track = (p: SkeinProvider): SkeinProvider => (providers.push(p), p);
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.destroy()));
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('backoff: full jitter below an exponential, capped ceiling', () => {
    const opts = { initialDelayMs: 100, maxDelayMs: 1_000 };
    expect(backoffDelay(0, { ...opts, random: () => 0 })).toBe(0);
    expect(backoffDelay(0, { ...opts, random: () => 0.999_999 })).toBe(99);
    expect(backoffDelay(3, { ...opts, random: () => 0.5 })).toBe(400);
    expect(backoffDelay(4, { ...opts, random: () => 0.999_999 })).toBe(999);
    expect(backoffDelay(10_000, { ...opts, random: () => 0.999_999 })).toBe(999);
  });

  it('close codes: 4400–4499 and non-retryable standard codes are permanent, 1000 and 4500 retry', () => {
    for (const code of [4400, 4403, 4422, 4499, 1002, 1009]) expect(isPermanentClose(code)).toBe(true);
    for (const code of [1000, 1001, 1006, 1011, 4500, 4503, 4508, 4529, 4000]) expect(isPermanentClose(code)).toBe(false);
  });

  for (const code of [4403, CloseCode.MalformedMessage]) {
    it(`a permanent close (${code}) stops retrying and shows in status`, async () => {
      const server = await ScriptedServer.start(() => ({ kind: 'close', code }));
      cleanups.push(() => server.close());
      const timers = new ManualTimers();
      const p = track(openClient(server.url, 'doc', { timers }));
      const status = await waitStatus(p, (s) => s.lastError !== null, 'an error');
      expect(status.lastError?.code).toBe('SKEIN_ERR_CLIENT_CONNECTION_REJECTED');
      expect(status.lastError?.closeCode).toBe(code);
      expect(status.lastError?.permanent).toBe(true);
      expect(status.connection).toBe('disconnected');
      expect(status.reconnectAt).toBeNull();
      // Nothing is scheduled: no retry can ever happen by itself.
      expect(timers.active).toBe(0);
      timers.advance(24 * 3600_000);
      expect(p.status.connection).toBe('disconnected');
      expect(server.connections).toBe(1);
      // An explicit connect() tries again.
      p.connect();
      await waitFor(() => server.connections === 2, { what: 'second connection after connect()' });
    });
  }

  it('a retryable close (4500) reconnects with backoff', async () => {
    const server = await ScriptedServer.start((n) => (n < 2 ? { kind: 'close', code: CloseCode.StorageFailed } : { kind: 'silent' }));
    cleanups.push(() => server.close());
    const timers = new ManualTimers();
    const p = track(openClient(server.url, 'doc', { timers, backoff: { initialDelayMs: 1_000, maxDelayMs: 4_000, random: () => 0.5 } }));
    const first = await waitStatus(p, (s) => s.reconnectAt !== null, 'retry scheduled');
    expect(first.lastError?.code).toBe('SKEIN_ERR_CLIENT_CONNECTION_LOST');
    expect(first.lastError?.closeCode).toBe(CloseCode.StorageFailed);
    expect(first.reconnectAt).toBe(timers.now() + 500);
    timers.advance(499);
    expect(server.connections).toBe(1);
    timers.advance(1);
    await waitFor(() => server.connections === 2, { what: 'second connection' });
    const second = await waitStatus(p, (s) => s.reconnectAt !== null, 'second retry scheduled');
    expect(second.reconnectAt).toBe(timers.now() + 1_000); // attempt 1: ceiling 2 000, jitter 0.5
    timers.advance(1_000);
    await waitFor(() => server.connections === 3, { what: 'third connection' });
  });

  it('liveness: a server that stops answering is dropped within idle + timeout, then retried', async () => {
    const server = await ScriptedServer.start(() => ({ kind: 'silent' }));
    cleanups.push(() => server.close());
    const timers = new ManualTimers();
    // Fixed jitter: with Math.random a retry delay of 0 (one draw in 250) fires inside the same
    // manual advance that drops the connection, and the status is already 'connecting'.
    const backoff = { initialDelayMs: 1_000, random: () => 0.5 };
    const p = track(openClient(server.url, 'doc', { timers, backoff, liveness: { idleMs: 10_000, timeoutMs: 3_000 } }));
    await waitStatus(p, (s) => s.connection === 'connected', 'connected');
    timers.advance(9_999);
    expect(p.status.connection).toBe('connected');
    timers.advance(1); // probe sent
    timers.advance(2_999);
    expect(p.status.connection).toBe('connected');
    timers.advance(1);
    expect(p.status.connection).toBe('disconnected');
    expect(p.status.lastError?.code).toBe('SKEIN_ERR_CLIENT_LIVENESS_TIMEOUT');
    expect(p.status.reconnectAt).toBe(timers.now() + 500);
    timers.advance(500);
    await waitFor(() => server.connections === 2, { what: 'the retry after the liveness drop' });
  });

  it('liveness: the probe is a sync step 1, and its answer keeps the connection', async () => {
    const server = await startTestServer();
    cleanups.push(() => server.close());
    const timers = new ManualTimers();
    let received = 0;
    class CountingWebSocket extends WebSocket {
      constructor(url: string) {
        super(url);
        this.addEventListener('message', () => received++);
      }
    }
    const p = track(
      openClient(server.url, 'alive', { timers, WebSocket: CountingWebSocket, liveness: { idleMs: 10_000, timeoutMs: 3_000 } }),
    );
    await waitStatus(p, isSynced);
    for (let i = 0; i < 5; i++) {
      const before = received;
      // Silent for idleMs since the last message (the previous answer came 3 s before): a probe.
      timers.advance(i === 0 ? 10_000 : 7_000);
      await waitFor(() => received > before, { what: `answer to probe ${i}` });
      timers.advance(3_000);
      expect(p.status.connection).toBe('connected');
    }
    expect(p.status.lastError).toBeNull();
    expect(server.connectionCount()).toBe(1);
  });

  it('connect timeout: a server that never completes the upgrade', async () => {
    const sockets = new Set<Socket>();
    const tcp: Server = createServer((s) => sockets.add(s));
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => tcp.close(r));
    });
    const timers = new ManualTimers();
    const url = `ws://127.0.0.1:${(tcp.address() as AddressInfo).port}`;
    // A fixed jitter: with Math.random a retry delay of ~0 ms fires within the same advance and
    // the provider is connecting again by the time the status is read.
    const p = track(openClient(url, 'doc', { timers, connectTimeoutMs: 5_000, backoff: { initialDelayMs: 1_000, maxDelayMs: 4_000, random: () => 0.5 } }));
    await waitFor(() => sockets.size === 1, { what: 'tcp connection' });
    expect(p.status.connection).toBe('connecting');
    timers.advance(5_000);
    expect(p.status.connection).toBe('disconnected');
    expect(p.status.lastError?.code).toBe('SKEIN_ERR_CLIENT_CONNECT_TIMEOUT');
  });

  it('the online event retries at once instead of waiting out the backoff', async () => {
    const port = await freePort();
    const network = new EventTarget();
    const p = track(
      openClient(`ws://127.0.0.1:${port}`, 'online', {
        network,
        backoff: { initialDelayMs: 600_000, maxDelayMs: 600_000, random: () => 0.999 },
      }),
    );
    p.doc.getMap('m').set('offline', true);
    const waiting = await waitStatus(p, (s) => s.reconnectAt !== null, 'waiting to retry');
    expect(waiting.lastError?.code).toBe('SKEIN_ERR_CLIENT_CONNECT_FAILED');
    expect((waiting.reconnectAt ?? 0) - Date.now()).toBeGreaterThan(500_000);
    const server: SkeinServer = await startTestServer({ port });
    cleanups.push(() => server.close());
    network.dispatchEvent(new Event('online'));
    await waitStatus(p, isSaved, 'saved right after the online event');
  });

  it('token: fetched before every attempt and sent as ?token=; a failing callback is retried', async () => {
    const server = await ScriptedServer.start((n) => (n < 2 ? { kind: 'close', code: CloseCode.GoingAway } : { kind: 'silent' }));
    cleanups.push(() => server.close());
    let calls = 0;
    track(
      openClient(server.url, 'a doc', {
        params: { app: 'x' },
        token: () => {
          calls++;
          if (calls === 2) return Promise.reject(new Error('refresh failed'));
          return Promise.resolve(`t${calls}`);
        },
      }),
    );
    await waitFor(() => server.connections === 3, { what: 'three connections' });
    expect(server.urls).toEqual(['/a%20doc?app=x&token=t1', '/a%20doc?app=x&token=t3', '/a%20doc?app=x&token=t4']);
    expect(calls).toBe(4);
  });

  it('token: the Skein server ignores the query string', async () => {
    const server = await startTestServer();
    cleanups.push(() => server.close());
    const p = track(openClient(server.url, 'with-token', { token: 'secret' }));
    p.doc.getMap('m').set('x', 1);
    await waitStatus(p, isSaved);
    expect(server.registry.get('with-token')?.doc.getMap('m').get('x')).toBe(1);
  });

  it('decodes what it sends: Hello first, then sync step 1', async () => {
    const seen: string[] = [];
    const server = await ScriptedServer.start(() => ({ kind: 'silent' }));
    cleanups.push(() => server.close());
    server.onMessage = (bytes) => seen.push(decodeMessage(bytes).type);
    const p = track(openClient(server.url, 'hello'));
    await waitFor(() => seen.length >= 2, { what: 'two messages' });
    expect(seen.slice(0, 2)).toEqual(['skein-hello', 'sync-step1']);
    expect(p.status.acks).toBeNull();
  });
});
