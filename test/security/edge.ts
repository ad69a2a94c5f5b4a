import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';

/** How one raw upgrade attempt ended. */
export interface UpgradeAnswer {
  /** HTTP status of the answer (101: upgraded); 0 when the socket closed without an answer. */
  readonly status: number;
  readonly headers: Record<string, string>;
  /** The body of a refusal, parsed as JSON when it is. */
  readonly body: unknown;
  /** For 101: the open socket (the caller destroys it). */
  readonly socket: Socket | undefined;
}

export interface AttemptOptions {
  readonly origin?: string;
  /** Bind the client socket to this loopback address (e.g. 127.0.0.2). */
  readonly localAddress?: string;
  readonly headers?: Record<string, string>;
  /** Keep the socket of a 101 open (else it is destroyed at once). */
  readonly keep?: boolean;
}

/**
 * One WebSocket upgrade request over a raw TCP socket, resolved with the server's answer.
 * Cheap enough for floods (no WebSocket client machinery) and exact about status, headers
 * and the JSON body of a refusal.
 */
export function attemptUpgrade(port: number, path: string, o: AttemptOptions = {}): Promise<UpgradeAnswer> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', ...(o.localAddress === undefined ? {} : { localAddress: o.localAddress }) });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (answer: UpgradeAnswer): void => {
      if (done) return;
      done = true;
      resolve(answer);
    };
    socket.on('error', () => undefined);
    socket.on('connect', () => {
      const extra = Object.entries({ ...(o.origin === undefined ? {} : { Origin: o.origin }), ...o.headers })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
      );
    });
    const tryParse = (final: boolean): void => {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (final) finish({ status: 0, headers: {}, body: undefined, socket: undefined });
        return;
      }
      const [statusLine = '', ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      if (status === 101) {
        if (o.keep !== true) socket.destroy();
        finish({ status, headers, body: undefined, socket: o.keep === true ? socket : undefined });
        return;
      }
      const length = Number(headers['content-length'] ?? 0);
      const body = buf.subarray(end + 4);
      if (body.length < length && !final) return;
      let parsed: unknown = body.toString('utf8');
      try {
        parsed = JSON.parse(parsed as string);
      } catch {
        // not JSON
      }
      socket.destroy();
      finish({ status, headers, body: parsed, socket: undefined });
    };
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      tryParse(false);
    });
    socket.on('close', () => tryParse(true));
  });
}

/** The `error.code` of a refusal body. */
export function errorCode(answer: UpgradeAnswer): string | undefined {
  const body = answer.body as { error?: { code?: unknown } } | undefined;
  return typeof body?.error?.code === 'string' ? body.error.code : undefined;
}

/** p-th percentile (0..100) of `values` (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
