import {
  MAX_MUX_CHANNEL,
  MUX_PROTOCOL,
  decodeMuxControl,
  decodeMuxFrame,
  encodeMuxControl,
  encodeMuxFrame,
  isCutShortMuxPayload,
} from '@skein/protocol';
import { OPEN, bytesOf, connectionUrl, fetchToken, platformWebSocket, type WebSocketConstructor, type WebSocketLike } from './websocket.js';

/** Options of {@link SkeinConnection}. */
export interface SkeinConnectionOptions {
  /** The server's WebSocket URL, e.g. `wss://sync.example.com` (no document name: channels name them). */
  readonly url: string;
  /**
   * Sent as the `token` query parameter of the socket; a function is called before each new
   * socket (so it can refresh an expiring token). Its access claims decide each document.
   */
  readonly token?: string | (() => string | Promise<string>);
  /** Extra query parameters of the socket's URL. */
  readonly params?: Readonly<Record<string, string>>;
  /** The WebSocket class. Default: `globalThis.WebSocket` (pass `ws` in Node < 22). */
  readonly WebSocket?: WebSocketConstructor;
}

const CONNECTING = 0;
const CLOSED = 3;
/** What a channel reports when the socket under it could not be opened (as a WebSocket does). */
const ABNORMAL = 1006;

/**
 * Many documents over one WebSocket: the multiplexed sub-protocol `skein-mux.v1`
 * (docs/protocol.md, "Many documents over one socket"). Give it to every `SkeinProvider` that
 * should share the socket (`new SkeinProvider({ connection, name, doc })`): each provider's
 * document is a channel, with the same sync, awareness and durable acks as a socket of its
 * own. The socket is opened when the first channel is and closed when the last one is; when it
 * drops, every provider reconnects as usual (with its backoff) and the first one opens a new
 * socket for all.
 */
export class SkeinConnection {
  readonly #opts: SkeinConnectionOptions;
  readonly #WebSocket: WebSocketConstructor;
  #socket: WebSocketLike | undefined;
  /** A token is being fetched for the next socket. */
  #opening = false;
  readonly #channels = new Map<number, MuxChannel>();
  #nextChannel = 1;
  #destroyed = false;

  constructor(options: SkeinConnectionOptions) {
    const WebSocketClass = options.WebSocket ?? platformWebSocket();
    if (WebSocketClass === undefined) throw new TypeError('SkeinConnection: no WebSocket implementation; pass options.WebSocket');
    this.#WebSocket = WebSocketClass;
    this.#opts = options;
  }

  /** Channels (documents) open or opening on this connection. */
  get channelCount(): number {
    return this.#channels.size;
  }

  /** A new socket asks for a new token (the `token` option is a function). */
  get renewsToken(): boolean {
    return typeof this.#opts.token === 'function';
  }

  /** The socket is open. */
  get open(): boolean {
    return this.#socket?.readyState === OPEN;
  }

  /**
   * A WebSocket class whose instances are channels on this connection for document `name`
   * (the URL they are given is ignored). `SkeinProvider` uses it when given `connection`.
   */
  channelClass(name: string): WebSocketConstructor {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the class below is bound to this connection
    const connection = this;
    return class extends MuxChannel {
      constructor() {
        super(connection, name);
      }
    };
  }

  /** Close the socket and every channel on it; channels opened later open a new socket. */
  close(): void {
    this.#socket?.close(1000);
    this.#dropSocket(1000);
  }

  /** Close for good: no new socket is opened after this. */
  destroy(): void {
    this.#destroyed = true;
    this.close();
  }

  /** @internal A channel was made: open it on the socket (opening the socket first if need be). */
  attach(channel: MuxChannel): number {
    if (this.#destroyed) {
      queueMicrotask(() => channel.ended(ABNORMAL));
      return 0;
    }
    const id = this.#allocate();
    this.#channels.set(id, channel);
    if (this.#socket?.readyState === OPEN) this.#start(id, channel);
    else this.#ensureSocket();
    return id;
  }

  /** @internal A channel's message. */
  send(id: number, data: Uint8Array): void {
    const socket = this.#socket;
    if (socket?.readyState === OPEN && this.#channels.has(id)) socket.send(encodeMuxFrame(id, data));
  }

  /** @internal The provider closed its channel. */
  detach(id: number): void {
    if (!this.#channels.delete(id)) return;
    const socket = this.#socket;
    if (socket?.readyState === OPEN) socket.send(encodeMuxControl({ op: 'close', channel: id }));
    // The last channel gone: so is the socket (a new one opens with the next channel).
    if (this.#channels.size === 0 && socket !== undefined && !this.#opening) {
      socket.close(1000);
      this.#dropSocket(1000);
    }
  }

  /** @internal A channel's liveness check failed: the socket under every channel is dead. */
  terminate(): void {
    const socket = this.#socket;
    if (socket === undefined) return;
    if (socket.terminate !== undefined) socket.terminate();
    else socket.close(4000);
    this.#dropSocket(ABNORMAL);
  }

  #allocate(): number {
    for (;;) {
      const id = this.#nextChannel;
      this.#nextChannel = id >= MAX_MUX_CHANNEL ? 1 : id + 1;
      if (!this.#channels.has(id)) return id;
    }
  }

  #start(id: number, channel: MuxChannel): void {
    this.#socket?.send(encodeMuxControl({ op: 'open', channel: id, name: channel.name }));
    channel.opened();
  }

  #ensureSocket(): void {
    if (this.#socket !== undefined || this.#opening) return;
    this.#opening = true;
    fetchToken(this.#opts.token).then(
      (value) => {
        this.#opening = false;
        if (this.#channels.size === 0 || this.#destroyed) return;
        this.#connect(value);
      },
      () => {
        // Every waiting channel fails like a socket that could not connect; providers retry.
        this.#opening = false;
        this.#dropSocket(ABNORMAL);
      },
    );
  }

  #connect(token: string | undefined): void {
    let socket: WebSocketLike;
    try {
      // The URL of a one-document socket without the document: `<url>/?token=…`.
      socket = new this.#WebSocket(connectionUrl(this.#opts.url, '', this.#opts.params, token), MUX_PROTOCOL);
    } catch {
      this.#dropSocket(ABNORMAL);
      return;
    }
    this.#socket = socket;
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => {
      for (const [id, channel] of this.#channels) if (channel.readyState === CONNECTING) this.#start(id, channel);
    };
    socket.onmessage = (event: { data?: unknown }) => this.#onMessage(socket, event.data);
    socket.onclose = (event: { code?: unknown }) => {
      if (this.#socket === socket) this.#dropSocket(typeof event.code === 'number' ? event.code : ABNORMAL);
    };
    socket.onerror = () => undefined; // a close event follows
  }

  #onMessage(socket: WebSocketLike, data: unknown): void {
    const bytes = bytesOf(data);
    if (bytes === undefined) return;
    try {
      const frame = decodeMuxFrame(bytes);
      if (frame.channel !== 0) {
        // A reply the server ended early (its channel closed mid-reply): its Closed follows and
        // ends the channel with the real close code; decoding it would report a protocol error.
        if (isCutShortMuxPayload(frame.payload)) return;
        this.#channels.get(frame.channel)?.received(frame.payload);
        return;
      }
      const control = decodeMuxControl(frame.payload);
      if (control.op !== 'closed') return;
      const channel = this.#channels.get(control.channel);
      if (channel === undefined) return;
      this.#channels.delete(control.channel);
      channel.ended(control.code);
    } catch {
      // A server that breaks the sub-protocol: drop the socket (every channel reconnects).
      socket.close(4400);
      this.#dropSocket(4400);
    }
  }

  /** The socket is gone: every channel closes with `code`. */
  #dropSocket(code: number): void {
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket !== undefined) {
      socket.onopen = null;
      socket.onmessage = null;
      socket.onclose = null;
      socket.onerror = () => undefined;
    }
    const channels = [...this.#channels.values()];
    this.#channels.clear();
    for (const channel of channels) channel.ended(code);
  }
}

/**
 * One channel of a {@link SkeinConnection}, shaped like a WebSocket (websocket.ts): what a
 * provider's session runs over.
 */
export class MuxChannel implements WebSocketLike {
  binaryType = 'arraybuffer';
  onopen: ((event: never) => void) | null = null;
  onmessage: ((event: never) => void) | null = null;
  onclose: ((event: never) => void) | null = null;
  onerror: ((event: never) => void) | null = null;
  readonly name: string;
  readonly #connection: SkeinConnection;
  readonly #id: number;
  #state = CONNECTING;

  constructor(connection: SkeinConnection, name: string) {
    this.name = name;
    this.#connection = connection;
    this.#id = connection.attach(this);
  }

  get readyState(): number {
    return this.#state;
  }

  send(data: Uint8Array): void {
    if (this.#state !== OPEN) throw new Error('the channel is not open');
    this.#connection.send(this.#id, data);
  }

  close(code = 1000): void {
    if (this.#state === CLOSED) return;
    this.#state = CLOSED;
    this.#connection.detach(this.#id);
    queueMicrotask(() => (this.onclose as ((event: { code: number }) => void) | null)?.({ code }));
  }

  /** The server stopped answering (a liveness timeout): the whole socket is dropped. */
  terminate(): void {
    if (this.#state === CLOSED) return;
    this.#state = CLOSED;
    this.#connection.terminate();
  }

  /** @internal */
  opened(): void {
    if (this.#state !== CONNECTING) return;
    this.#state = OPEN;
    queueMicrotask(() => {
      if (this.#state === OPEN) (this.onopen as ((event: object) => void) | null)?.({});
    });
  }

  /** @internal */
  received(payload: Uint8Array): void {
    if (this.#state === OPEN) (this.onmessage as ((event: { data: Uint8Array }) => void) | null)?.({ data: payload });
  }

  /** @internal The server closed the channel, or the socket under it closed. */
  ended(code: number): void {
    if (this.#state === CLOSED) return;
    this.#state = CLOSED;
    (this.onclose as ((event: { code: number }) => void) | null)?.({ code });
  }
}
