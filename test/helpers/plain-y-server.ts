import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import * as Y from 'yjs';
import * as syncProtocol from 'y-protocols/sync';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';

/**
 * A plain y-websocket server (the reference server's message handling, one document per
 * path): sync and awareness, no Skein extensions. Unknown message types (Skein's Hello) are
 * ignored, as the reference server does. Used to test the degraded "no acks" mode.
 */
export class PlainYServer {
  readonly docs = new Map<string, Y.Doc>();
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  readonly #sockets = new Set<WebSocket>();
  /** Message types received (to see what clients sent). */
  readonly received: number[] = [];

  private constructor(http: Server, wss: WebSocketServer) {
    this.#http = http;
    this.#wss = wss;
  }

  static async start(): Promise<PlainYServer> {
    const http = createServer();
    const wss = new WebSocketServer({ server: http });
    const server = new PlainYServer(http, wss);
    wss.on('connection', (ws, req) => server.#accept(ws, decodeURIComponent((req.url ?? '/').slice(1).split('?')[0] ?? '')));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    return server;
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.#http.address() as AddressInfo).port}`;
  }

  doc(name: string): Y.Doc {
    let doc = this.docs.get(name);
    if (doc === undefined) {
      doc = new Y.Doc();
      this.docs.set(name, doc);
    }
    return doc;
  }

  #accept(ws: WebSocket, name: string): void {
    this.#sockets.add(ws);
    const doc = this.doc(name);
    const send = (bytes: Uint8Array): void => {
      if (ws.readyState === ws.OPEN) ws.send(bytes);
    };
    const onUpdate = (update: Uint8Array, origin: unknown): void => {
      if (origin === ws) return;
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, 0);
      syncProtocol.writeUpdate(e, update);
      send(encoding.toUint8Array(e));
    };
    doc.on('update', onUpdate);
    ws.on('message', (data: Buffer) => {
      const decoder = decoding.createDecoder(new Uint8Array(data));
      const type = decoding.readVarUint(decoder);
      this.received.push(type);
      if (type !== 0) return; // awareness relaying is not needed here; Hello (100) is ignored
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, 0);
      syncProtocol.readSyncMessage(decoder, e, doc, ws);
      if (encoding.length(e) > 1) send(encoding.toUint8Array(e));
    });
    ws.on('close', () => {
      doc.off('update', onUpdate);
      this.#sockets.delete(ws);
    });
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 0);
    syncProtocol.writeSyncStep1(e, doc);
    send(encoding.toUint8Array(e));
  }

  async close(): Promise<void> {
    for (const ws of this.#sockets) ws.terminate();
    this.#wss.close();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }
}
