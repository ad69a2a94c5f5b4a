import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Clock } from '../clock/clock.js';

export interface DeliveryRequest {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
}

/** `ok`: a 2xx answer. Anything else (another status, a timeout, a network error) is a failure. */
export type DeliveryOutcome =
  | { readonly ok: true; readonly status: number }
  | { readonly ok: false; readonly status?: number; readonly error: string };

/** One POST; never rejects. */
export type Send = (request: DeliveryRequest) => Promise<DeliveryOutcome>;

const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POST over node:http / node:https with keep-alive agents. Redirects are not followed (a 3xx
 * is a failure: the endpoint's URL is the configured one). The response body is read and
 * discarded (up to 64 KiB, then the socket is dropped). The timeout runs on the injected clock.
 */
export function httpSender(clock: Clock): Send & { close(): void } {
  const agents = { http: new HttpAgent({ keepAlive: true, maxSockets: 16 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 16 }) };
  const send: Send = (req) => new Promise<DeliveryOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: DeliveryOutcome): void => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      resolve(outcome);
    };
    const secure = req.url.protocol === 'https:';
    const body = Buffer.from(req.body, 'utf8');
    const outgoing = (secure ? httpsRequest : httpRequest)(req.url, {
      method: 'POST',
      agent: secure ? agents.https : agents.http,
      headers: { ...req.headers, 'content-type': 'application/json', 'content-length': String(body.length), 'user-agent': 'skein-webhooks' },
    }, (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      let seen = 0;
      res.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > MAX_RESPONSE_BYTES) res.destroy();
      });
      const done = (): void => finish(status >= 200 && status < 300 ? { ok: true, status } : { ok: false, status, error: `http ${status}` });
      res.on('end', done);
      res.on('close', done);
      res.on('error', done);
    });
    const timer = clock.setTimeout(() => {
      finish({ ok: false, error: 'timeout' });
      outgoing.destroy();
    }, req.timeoutMs);
    outgoing.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, error: `network ${err.code ?? 'error'}` }));
    outgoing.end(body);
  });
  return Object.assign(send, {
    close: () => {
      agents.http.destroy();
      agents.https.destroy();
    },
  });
}
