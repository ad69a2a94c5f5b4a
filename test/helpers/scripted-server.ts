import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/** What a scripted server does with connection number `n` (0-based). */
export type Behaviour =
  | { readonly kind: 'close'; readonly code: number }
  /** Accept and never send anything (a frozen server). */
  | { readonly kind: 'silent' };

/**
 * A raw WebSocket server for client tests: records each connection's URL and behaves as the
 * script says (e.g. close with 4403 at once, or accept and stay silent).
 */
export class ScriptedServer {
  readonly urls: string[] = [];
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  readonly #sockets = new Set<WebSocket>();
  readonly #script: (n: number) => Behaviour;
  /** Called with every binary message a client sends. */
  onMessage: ((bytes: Uint8Array) => void) | undefined;

  private constructor(http: Server, wss: WebSocketServer, script: (n: number) => Behaviour) {
    this.#http = http;
    this.#wss = wss;
    this.#script = script;
  }

  static async start(script: (n: number) => Behaviour): Promise<ScriptedServer> {
    const http = createServer();
    const wss = new WebSocketServer({ server: http });
    const server = new ScriptedServer(http, wss, script);
    wss.on('connection', (ws, req) => server.#accept(ws, req.url ?? ''));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    return server;
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.#http.address() as AddressInfo).port}`;
  }

  get connections(): number {
    return this.urls.length;
  }

  #accept(ws: WebSocket, url: string): void {
    const n = this.urls.length;
    this.urls.push(url);
    this.#sockets.add(ws);
    ws.on('close', () => this.#sockets.delete(ws));
    ws.on('message', (data: Buffer) => this.onMessage?.(new Uint8Array(data)));
    const behaviour = this.#script(n);
    if (behaviour.kind === 'close') ws.close(behaviour.code, 'scripted');
  }

  async close(): Promise<void> {
    for (const ws of this.#sockets) ws.terminate();
    this.#wss.close();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }
}
