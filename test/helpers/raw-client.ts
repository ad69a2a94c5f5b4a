import WebSocket, { type ClientOptions } from 'ws';
import { decodeMessage, type Message } from '@skein/protocol';

export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

/**
 * A bare WebSocket speaking raw protocol frames: collects every binary message it receives
 * and exposes the open and the close (code and reason) as promises. For tests that must
 * control the exact bytes on the wire.
 */
export class RawClient {
  readonly ws: WebSocket;
  /** Every binary message received, in order. */
  readonly messages: Uint8Array[] = [];
  readonly errors: Error[] = [];
  /** Resolves on open; rejects when the connection could not be established. */
  readonly opened: Promise<void>;
  /** Resolves when the socket closed, with the close code and reason the peer sent. */
  readonly closed: Promise<CloseInfo>;
  #closeInfo: CloseInfo | undefined;

  constructor(url: string, options: ClientOptions = {}) {
    this.ws = new WebSocket(url, { perMessageDeflate: false, ...options });
    this.ws.binaryType = 'nodebuffer';
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.messages.push(new Uint8Array(data));
    });
    this.ws.on('error', (err) => this.errors.push(err));
    this.opened = new Promise<void>((resolve, reject) => {
      this.ws.once('open', () => resolve());
      // A refused upgrade makes ws emit 'error' then 'close' (no 'unexpected-response' listener).
      this.ws.once('close', () => reject(new Error('closed before open')));
    });
    this.opened.catch(() => undefined);
    this.closed = new Promise<CloseInfo>((resolve) => {
      this.ws.once('close', (code: number, reason: Buffer) => {
        this.#closeInfo = { code, reason: reason.toString() };
        resolve(this.#closeInfo);
      });
    });
  }

  /** Open a raw client on `docName` of the server at `serverUrl` (ws://host:port). */
  static async connect(serverUrl: string, docName: string, options: ClientOptions = {}): Promise<RawClient> {
    const client = new RawClient(`${serverUrl}/${encodeURIComponent(docName)}`, options);
    await client.opened;
    return client;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** The close info once closed, else undefined. */
  get closeInfo(): CloseInfo | undefined {
    return this.#closeInfo;
  }

  /** Every message received, decoded. */
  decoded(): Message[] {
    return this.messages.map((m) => decodeMessage(m));
  }

  send(bytes: Uint8Array | readonly number[]): void {
    this.ws.send(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes), { binary: true });
  }

  /** Send every frame in order without waiting. */
  sendAll(frames: readonly Uint8Array[]): void {
    for (const f of frames) this.send(f);
  }

  /**
   * Round trip through the server's WebSocket layer: resolves when the pong for a ping sent
   * now arrives. Frames are read in order, so every message sent before has been handled.
   */
  roundTrip(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onPong = (): void => {
        this.ws.off('close', onClose);
        resolve();
      };
      const onClose = (): void => {
        this.ws.off('pong', onPong);
        reject(new Error('closed during round trip'));
      };
      this.ws.once('pong', onPong);
      this.ws.once('close', onClose);
      this.ws.ping();
    });
  }

  /** Close (if open) and wait until closed. Idempotent. */
  async dispose(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.terminate();
    await this.closed;
  }
}
