/**
 * Slowloris: peers that trickle or stall their request are closed at --handshake-timeout-ms
 * (Node's headersTimeout / requestTimeout, checked every quarter timeout), answered 408 with
 * SKEIN_ERR_HANDSHAKE_TIMEOUT; an established WebSocket is not subject to it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import type { SkeinServer } from '@skein/server';
import { startTestServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-client.js';
import { ManualClock } from '../helpers/manual-clock.js';

const TIMEOUT_MS = 300;
/** Node checks the timeouts every TIMEOUT_MS / 4; generous slack for a loaded 2-core machine. */
const LATEST_MS = TIMEOUT_MS + 2_000;

let server: SkeinServer;

beforeAll(async () => {
  server = await startTestServer({ handshakeTimeoutMs: TIMEOUT_MS });
});
afterAll(async () => {
  await server.close();
});

interface Outcome {
  readonly elapsedMs: number;
  readonly answer: string;
}

/** Open a raw socket, let `drive` write to it, resolve on its 'close' event. */
function slowPeer(drive: (socket: Socket) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect(server.port, '127.0.0.1');
    let answer = '';
    let started = 0;
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('connect', () => {
      started = performance.now();
      drive(socket);
    });
    socket.on('close', () => resolve({ elapsedMs: performance.now() - started, answer }));
  });
}

function expectTimedOut(o: Outcome): void {
  expect(o.elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
  expect(o.elapsedMs).toBeLessThan(LATEST_MS);
  expect(o.answer.startsWith('HTTP/1.1 408 ')).toBe(true);
  const body = JSON.parse(o.answer.slice(o.answer.indexOf('\r\n\r\n') + 4)) as { error: { code: string } };
  expect(body.error.code).toBe('SKEIN_ERR_HANDSHAKE_TIMEOUT');
}

describe('slow peers are closed at the handshake timeout', () => {
  it('a peer that stops in the middle of its upgrade headers', async () => {
    expectTimedOut(await slowPeer((s) => s.write('GET /doc HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n')));
  });

  it('a peer that trickles its headers (one byte per 20 ms: activity does not extend the deadline)', async () => {
    const request = `GET /doc HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(1000)}\r\n\r\n`;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await slowPeer((s) => {
      let i = 0;
      timer = setInterval(() => {
        if (i < request.length && !s.destroyed) s.write(request[i++]!);
      }, 20);
    });
    clearInterval(timer);
    expectTimedOut(outcome);
  });

  it('a peer that sends its headers and stalls in the body', async () => {
    // The route may answer before reading the body (here: 404, no such route yet); the
    // connection is still closed at the request timeout, not kept alive for the rest.
    const o = await slowPeer((s) => s.write('POST /api/v1/docs/a/update HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc'));
    expect(o.elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
    expect(o.elapsedMs).toBeLessThan(LATEST_MS);
    expect(o.answer.startsWith('HTTP/1.1 ')).toBe(true);
  });

  it('a peer that connects and sends nothing', async () => {
    expectTimedOut(await slowPeer(() => undefined));
  });

  it('an established WebSocket outlives the handshake timeout', async () => {
    const ws = await RawClient.connect(server.url, 'long-lived');
    // A slow peer opened after the WebSocket is closed at the timeout, so by then the WebSocket is older than it.
    expectTimedOut(await slowPeer((s) => s.write('GET / HTTP/1.1\r\n')));
    await ws.roundTrip();
    expect(ws.isOpen).toBe(true);
    await ws.dispose();
  });

  it('counts each as a handshake-timeout refusal', async () => {
    const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    const m = /^skein_limit_refusals_total\{[^}]*skein_limit_kind="handshake-timeout"[^}]*\} (\d+)/m.exec(text);
    expect(Number(m?.[1])).toBe(5);
  });
});

describe('the upgrade deadline (between the upgrade request and the 101)', () => {
  it('is disarmed when the upgrade completes: a WebSocket outlives it on the manual clock, no timer is left', async () => {
    const clock = new ManualClock();
    const s = await startTestServer({ handshakeTimeoutMs: 1_000 }, { clock });
    try {
      const first = await RawClient.connect(s.url, 'deadline');
      const timers = clock.active;
      const others = await Promise.all(Array.from({ length: 5 }, () => RawClient.connect(s.url, 'deadline')));
      // Each admitted upgrade armed a deadline and disarmed it at the 101.
      expect(clock.active).toBe(timers);
      clock.advance(5_000);
      for (const ws of [first, ...others]) {
        await ws.roundTrip();
        expect(ws.isOpen).toBe(true);
      }
      await Promise.all([first, ...others].map((ws) => ws.dispose()));
    } finally {
      await s.close();
    }
  });
});
