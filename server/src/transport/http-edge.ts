import { STATUS_CODES, type Server, type ServerOptions } from 'node:http';
import type { Duplex } from 'node:stream';
import { SkeinError } from '../errors/skein-error.js';
import type { ErrorCode } from '../errors/registry.js';
import type { Logger } from '../logging/logger.js';

export interface HttpEdgeOptions {
  /** Complete request headers — and, for plain HTTP requests, the body — must arrive within this. */
  readonly handshakeTimeoutMs: number;
  /** Node's `maxHeaderSize`: the largest header block a request may have. */
  readonly maxHeaderBytes: number;
}

/**
 * Options of the Node HTTP server, set deliberately (docs/security.md):
 * - `headersTimeout` and `requestTimeout` = the handshake timeout: a peer that trickles its
 *   headers (slowloris) or its body is answered 408 and closed at the timeout, instead of
 *   Node's defaults of 60 s and 300 s;
 * - `connectionsCheckingInterval`: Node checks those timeouts on this period (default 30 s, far
 *   coarser than the timeout itself), so it is set to a quarter of the timeout (≤ 1 s);
 * - `maxHeaderSize`: the header block bound (431 past it) instead of the process-wide default.
 */
export function httpServerOptions(o: HttpEdgeOptions): ServerOptions {
  const timeout = o.handshakeTimeoutMs;
  return {
    maxHeaderSize: o.maxHeaderBytes,
    headersTimeout: timeout,
    requestTimeout: timeout,
    connectionsCheckingInterval: Math.max(25, Math.min(1_000, Math.floor(timeout / 4))),
  };
}

/**
 * Answer HTTP parse errors and timeouts ourselves (a `clientError` listener replaces Node's
 * default answer): 408 for a header or request timeout, 431 for an oversized header block,
 * with the JSON error body and code; 400 for any other malformed request. Each is reported
 * (`report` → the `skein.limit.refusals` counter for the two limits).
 */
export function guardClientErrors(
  server: Server,
  logger: Logger,
  report: (kind: 'handshake-timeout' | 'header-size') => void,
): void {
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    let code: ErrorCode | undefined;
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      code = 'SKEIN_ERR_HANDSHAKE_TIMEOUT';
      report('handshake-timeout');
    } else if (err.code === 'HPE_HEADER_OVERFLOW') {
      code = 'SKEIN_ERR_HEADERS_TOO_LARGE';
      report('header-size');
    }
    logger.debug({ code: code ?? 'bad request', httpCode: err.code }, 'HTTP client error');
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    // As Node does by default: write the answer (a small one goes out at once), then destroy —
    // never wait for a peer that does not read.
    if (code === undefined) {
      socket.write('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    } else {
      const e = new SkeinError(code);
      const status = e.spec.httpStatus ?? 400;
      const body = JSON.stringify(e.toJSON());
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  });
}
