import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedHook {
  readonly id: string;
  readonly timestamp: string;
  readonly signature: string;
  readonly body: string;
  /** Verified with the independent `standardwebhooks` library. */
  readonly verified: boolean;
  /** What the receiver answered: a status, or `slow` (held until released or the sender gave up). */
  answer: number | 'slow';
}

export type ReceiverMode = 'ok' | '500' | 'slow';

/**
 * A real local HTTP webhook receiver on a fixed loopback port: it can be `down()` (not
 * listening: connections are refused), answer 500, hold requests (`slow`), or answer 200.
 * Dedupe by `webhook-id` is the receiver's side of the at-least-once contract: `accepted`
 * holds each id answered 2xx.
 */
export class WebhookReceiver {
  mode: ReceiverMode = 'ok';
  readonly received: ReceivedHook[] = [];
  readonly accepted = new Map<string, ReceivedHook[]>();
  readonly #verifier: Webhook;
  readonly #sockets = new Set<Socket>();
  readonly #held: { res: ServerResponse; hook: ReceivedHook }[] = [];
  #server: Server | undefined;
  #port = 0;

  private constructor(secret: string) {
    this.#verifier = new Webhook(secret);
  }

  static async start(secret: string, mode: ReceiverMode = 'ok'): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver(secret);
    receiver.mode = mode;
    await receiver.up();
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}/hooks`;
  }

  count(answer: number | 'slow'): number {
    return this.received.filter((r) => r.answer === answer).length;
  }

  /** Listen (again, on the same port once one was chosen). */
  async up(): Promise<void> {
    if (this.#server !== undefined) return;
    const server = createServer((req, res) => void this.#handle(req, res));
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Stop listening and cut every connection: the sender sees refused / reset connections. */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    for (const { res } of this.#held.splice(0)) res.destroy();
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Answer the held (slow) requests with 200 (the sender may have given up on them already: an
   * answer that reaches it counts as accepted).
   */
  release(): void {
    for (const { res, hook } of this.#held.splice(0)) {
      if (res.destroyed) continue;
      res.on('finish', () => {
        if (!res.socket?.destroyed) this.#accept(hook);
      });
      res.writeHead(200).end();
    }
  }

  #accept(hook: ReceivedHook): void {
    this.accepted.set(hook.id, [...(this.accepted.get(hook.id) ?? []), hook]);
  }

  async close(): Promise<void> {
    await this.down();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const headers = {
      'webhook-id': String(req.headers['webhook-id'] ?? ''),
      'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
      'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
    };
    let verified = true;
    try {
      this.#verifier.verify(body, headers);
    } catch {
      verified = false;
    }
    const hook: ReceivedHook = {
      id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], signature: headers['webhook-signature'], body, verified,
      answer: this.mode === 'slow' ? 'slow' : this.mode === '500' ? 500 : 200,
    };
    this.received.push(hook);
    if (hook.answer === 'slow') {
      this.#held.push({ res, hook });
      return;
    }
    if (hook.answer === 200) this.#accept(hook);
    res.writeHead(hook.answer).end();
  }
}
