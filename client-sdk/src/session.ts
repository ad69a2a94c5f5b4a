import * as Y from 'yjs';
import { applyAwarenessUpdate, encodeAwarenessUpdate, type Awareness } from 'y-protocols/awareness';
import {
  SkeinFeature,
  decodeMessage,
  encodeAwareness,
  encodeHello,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  isRetryableClose,
  type Message,
} from '@skein/protocol';
import { SkeinClientError } from './errors.js';
import { TimerSlot, type Timers } from './timers.js';
import { OPEN, bytesOf, type WebSocketConstructor, type WebSocketLike } from './websocket.js';

/** What a session needs from its provider. */
export interface SessionHost {
  readonly doc: Y.Doc;
  readonly awareness: Awareness;
  /** The transaction / awareness origin of everything received from the server. */
  readonly origin: object;
  /** Resolves when every local update queued so far is stored and other tabs' entries are adopted. */
  prepareStep2(): Promise<void>;
  /** Keys of the pending entries whose content the document holds. */
  sendableKeys(): string[];
  /** The server acknowledged these entries durable. */
  acked(keys: string[]): void;
  /** `open`, `synced` or `acks` changed. */
  changed(): void;
  /** The session ended by itself (never called after `close()`). */
  closed(error: SkeinClientError): void;
  /** Something to report that does not end the session (e.g. read-only). */
  notice(error: SkeinClientError): void;
}

export interface SessionOptions {
  readonly url: string;
  readonly WebSocket: WebSocketConstructor;
  readonly timers: Timers;
  readonly connectTimeoutMs: number;
  /** Probe after this long without a message from the server. */
  readonly idleMs: number;
  /** Give up when the probe gets no answer within this long. */
  readonly probeTimeoutMs: number;
}

/** The close code this client sends when it gives up on an unresponsive server. */
export const CLIENT_TIMEOUT_CLOSE_CODE = 4000;

interface InFlight {
  readonly seq: number;
  readonly keys: readonly string[];
}

/**
 * One WebSocket connection: Hello, sync steps, updates, awareness, durable acks and the
 * liveness check. Update-bearing messages (step 2 and updates) are numbered from 1, as the
 * server numbers them; each remembers the outbox keys it carries, so a cumulative `Ack(n)`
 * settles exactly those keys. Nothing survives the session: a new one starts again at 1.
 */
export class Session {
  readonly #host: SessionHost;
  readonly #opts: SessionOptions;
  readonly #ws: WebSocketLike;
  readonly #timer: TimerSlot;
  #state: 'connecting' | 'open' | 'closed' = 'connecting';
  #synced = false;
  #acks: boolean | null = null;
  #readOnly = false;
  #seq = 0;
  #inFlight: InFlight[] = [];
  #lastReceivedAt = 0;
  #probeSentAt: number | null = null;

  constructor(host: SessionHost, options: SessionOptions) {
    this.#host = host;
    this.#opts = options;
    this.#timer = new TimerSlot(options.timers);
    const ws = new options.WebSocket(options.url);
    this.#ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => this.#onOpen();
    ws.onmessage = (event: { data?: unknown }) => this.#onMessage(event.data);
    ws.onclose = (event: { code?: unknown }) => this.#onClose(typeof event.code === 'number' ? event.code : 1006);
    ws.onerror = () => undefined; // a close event follows
    this.#timer.set(
      () => this.#fail(new SkeinClientError('SKEIN_ERR_CLIENT_CONNECT_TIMEOUT'), CLIENT_TIMEOUT_CLOSE_CODE),
      options.connectTimeoutMs,
    );
  }

  get open(): boolean {
    return this.#state === 'open';
  }

  /** The server's first sync step 2 arrived: the document holds the server's state. */
  get synced(): boolean {
    return this.#synced;
  }

  /** `true` after a Welcome with durable acks, `false` when the server has none, `null` until known. */
  get acks(): boolean | null {
    return this.#acks;
  }

  /** The server said this session may only read (Welcome with the ReadOnly feature). */
  get readOnly(): boolean {
    return this.#readOnly;
  }

  /** Send a stored pending entry as a sync update (not on a read-only session: it would be dropped). */
  sendUpdate(update: Uint8Array, keys: readonly string[]): void {
    if (this.#readOnly) return;
    this.#sendNumbered(encodeSyncUpdate(update), keys);
  }

  /** Send an awareness update (as made by `encodeAwarenessUpdate`). */
  sendAwareness(update: Uint8Array): void {
    this.#send(encodeAwareness(update));
  }

  /** End the session from this side; `closed` is not reported. */
  close(code = 1000): void {
    if (this.#state === 'closed') return;
    this.#shutdown(code);
  }

  #onOpen(): void {
    if (this.#state !== 'connecting') return;
    this.#state = 'open';
    this.#lastReceivedAt = this.#opts.timers.now();
    const { doc, awareness } = this.#host;
    this.#send(encodeHello(SkeinFeature.DurableAcks));
    this.#send(encodeSyncStep1(Y.encodeStateVector(doc)));
    if (awareness.getLocalState() !== null) {
      this.#send(encodeAwareness(encodeAwarenessUpdate(awareness, [doc.clientID])));
    }
    this.#checkLiveness();
    this.#host.changed();
  }

  #onMessage(data: unknown): void {
    if (this.#state !== 'open') return;
    this.#lastReceivedAt = this.#opts.timers.now();
    const bytes = bytesOf(data);
    if (bytes === undefined) return; // text frames are not part of the protocol
    try {
      this.#dispatch(decodeMessage(bytes));
    } catch (err) {
      this.#fail(new SkeinClientError('SKEIN_ERR_CLIENT_SERVER_PROTOCOL', undefined, { cause: err }), 4400);
    }
  }

  #dispatch(message: Message): void {
    const { doc, awareness, origin } = this.#host;
    switch (message.type) {
      case 'sync-step1':
        void this.#replyStep2(message.stateVector);
        return;
      case 'sync-step2':
        Y.applyUpdate(doc, message.update, origin);
        if (!this.#synced) {
          this.#synced = true;
          // A server that answers without a Welcome first has no durable acknowledgements.
          if (this.#acks === null) this.#setAcks(false);
          this.#host.changed();
        }
        return;
      case 'sync-update':
        Y.applyUpdate(doc, message.update, origin);
        return;
      case 'awareness':
        applyAwarenessUpdate(awareness, message.update, origin);
        return;
      case 'query-awareness':
        this.#send(encodeAwareness(encodeAwarenessUpdate(awareness, [...awareness.getStates().keys()])));
        return;
      case 'auth-denied':
        // A read-only session's writes are dropped; the connection stays open for reading.
        if (message.reason === 'SKEIN_ERR_READ_ONLY') {
          this.#readOnly = true;
          this.#host.notice(new SkeinClientError('SKEIN_ERR_CLIENT_READ_ONLY'));
          this.#host.changed();
          return;
        }
        this.#fail(new SkeinClientError('SKEIN_ERR_CLIENT_PERMISSION_DENIED'), 1000);
        return;
      case 'skein-welcome':
        this.#setAcks((message.features & SkeinFeature.DurableAcks) !== 0);
        if ((message.features & SkeinFeature.ReadOnly) !== 0 && !this.#readOnly) {
          this.#readOnly = true;
          this.#host.notice(new SkeinClientError('SKEIN_ERR_CLIENT_READ_ONLY'));
        }
        this.#host.changed();
        return;
      case 'skein-ack':
        this.#onAck(message.seq);
        return;
      case 'skein-hello':
        return; // only clients send Hello
      default: {
        const unknown: never = message;
        throw new TypeError(`unhandled message ${String(unknown)}`);
      }
    }
  }

  async #replyStep2(stateVector: Uint8Array): Promise<void> {
    await this.#host.prepareStep2();
    if (this.#state !== 'open') return;
    // Covered keys: every pending entry the document holds. What the step 2 does not carry,
    // the server already has; its ack comes after the write holding it is durable.
    if (this.#readOnly) return;
    const keys = this.#host.sendableKeys();
    let update: Uint8Array;
    try {
      update = Y.encodeStateAsUpdate(this.#host.doc, stateVector);
    } catch (err) {
      this.#fail(new SkeinClientError('SKEIN_ERR_CLIENT_SERVER_PROTOCOL', 'invalid state vector', { cause: err }), 4400);
      return;
    }
    this.#sendNumbered(encodeSyncStep2(update), keys);
  }

  #setAcks(acks: boolean): void {
    this.#acks = acks;
    if (!acks) this.#inFlight = [];
  }

  #onAck(seq: number): void {
    const keys: string[] = [];
    while (this.#inFlight.length > 0 && (this.#inFlight[0]?.seq ?? Infinity) <= seq) {
      keys.push(...(this.#inFlight.shift()?.keys ?? []));
    }
    if (keys.length > 0) this.#host.acked(keys);
  }

  #sendNumbered(frame: Uint8Array, keys: readonly string[]): void {
    if (!this.#send(frame)) return;
    const seq = ++this.#seq;
    if (this.#acks !== false && keys.length > 0) this.#inFlight.push({ seq, keys });
  }

  #send(frame: Uint8Array): boolean {
    if (this.#state !== 'open' || this.#ws.readyState !== OPEN) return false;
    try {
      this.#ws.send(frame);
      return true;
    } catch {
      return false; // the close event follows
    }
  }

  /** Probe after `idleMs` of silence; fail when the probe gets no answer in `probeTimeoutMs`. */
  #checkLiveness(): void {
    if (this.#state !== 'open') return;
    const { timers, idleMs, probeTimeoutMs } = this.#opts;
    const now = timers.now();
    if (this.#probeSentAt !== null) {
      if (this.#lastReceivedAt >= this.#probeSentAt) {
        this.#probeSentAt = null;
      } else if (now - this.#probeSentAt >= probeTimeoutMs) {
        this.#fail(new SkeinClientError('SKEIN_ERR_CLIENT_LIVENESS_TIMEOUT'), CLIENT_TIMEOUT_CLOSE_CODE);
        return;
      } else {
        this.#timer.set(() => this.#checkLiveness(), this.#probeSentAt + probeTimeoutMs - now);
        return;
      }
    }
    const idleAt = this.#lastReceivedAt + idleMs;
    if (now < idleAt) {
      this.#timer.set(() => this.#checkLiveness(), idleAt - now);
      return;
    }
    // Any server answers a sync step 1 with a step 2, even when it has nothing to add.
    this.#probeSentAt = now;
    this.#send(encodeSyncStep1(Y.encodeStateVector(this.#host.doc)));
    this.#timer.set(() => this.#checkLiveness(), probeTimeoutMs);
  }

  #onClose(code: number): void {
    if (this.#state === 'closed') return;
    const wasOpen = this.#state === 'open';
    this.#shutdown(undefined);
    let error: SkeinClientError;
    if (isPermanentClose(code)) error = new SkeinClientError('SKEIN_ERR_CLIENT_CONNECTION_REJECTED', undefined, { closeCode: code });
    else if (wasOpen) error = new SkeinClientError('SKEIN_ERR_CLIENT_CONNECTION_LOST', undefined, { closeCode: code });
    else error = new SkeinClientError('SKEIN_ERR_CLIENT_CONNECT_FAILED', undefined, { closeCode: code });
    this.#host.closed(error);
  }

  #fail(error: SkeinClientError, closeCode: number): void {
    if (this.#state === 'closed') return;
    this.#shutdown(closeCode);
    this.#host.closed(error);
  }

  /** Detach from the socket and close it (`code` undefined: it is already closed). */
  #shutdown(code: number | undefined): void {
    this.#state = 'closed';
    this.#synced = false;
    this.#inFlight = [];
    this.#timer.clear();
    const ws = this.#ws;
    ws.onopen = null;
    ws.onmessage = null;
    ws.onclose = null;
    ws.onerror = () => undefined; // late errors of a socket we left must not be unhandled
    if (code === undefined) return;
    try {
      // A server that stopped answering would hold a closing handshake open: drop it (Node).
      if (code === CLIENT_TIMEOUT_CLOSE_CODE && ws.terminate !== undefined) ws.terminate();
      else ws.close(code);
    } catch {
      // Closing a socket that never opened may throw in some implementations; it is gone anyway.
    }
  }
}

/**
 * Whether a close code means "do not retry": Skein's permanent range 4400–4499, and the codes
 * `isRetryableClose` marks permanent — except 1000, which proxies also send on idle timeouts.
 */
export function isPermanentClose(code: number): boolean {
  if (code >= 4400 && code <= 4499) return true;
  return code !== 1000 && !isRetryableClose(code);
}
