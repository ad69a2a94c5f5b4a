import type { WebSocket, RawData } from 'ws';
import {
  decodeAwarenessUpdate,
  decodeMessage,
  decodeStateVector,
  encodeAwareness,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeAck,
  encodeWelcome,
  SkeinFeature,
  type Message,
} from '@skein/protocol';
import type { Logger } from '../telemetry/logger.js';
import { Telemetry, type ConnectionTrace } from '../telemetry/telemetry.js';
import { SkeinError, toSkeinError } from '../errors/skein-error.js';
import type { DocumentHandle } from '../documents/document-handle.js';
import type { DocumentRegistry } from '../documents/registry.js';
import { clientOrigin, type Peer } from '../documents/origins.js';
import type { MessageRate } from '../auth/limits.js';

export interface ConnectionLimits {
  readonly maxMessageBytes: number;
  readonly maxBufferedBytes: number;
  readonly maxLoadBacklogBytes: number;
}

export interface ConnectionDeps {
  readonly registry: DocumentRegistry;
  readonly logger: Logger;
  readonly limits: ConnectionLimits;
  readonly telemetry?: Telemetry;
  /** The trace of this connection's opening (when tracing is on). */
  readonly upgrade?: ConnectionTrace;
  /** Limits at the edge: this connection's message and byte rate (auth/limits.ts). */
  readonly rate?: MessageRate;
}

let nextId = 1;

/**
 * One WebSocket bound to one document: buffers what the client sends while the document
 * loads (the load barrier), then speaks the sync and awareness protocol. Any bad input
 * closes only this socket, with the error's close code.
 */
export class Connection implements Peer {
  readonly id = nextId++;
  readonly docName: string;
  /** Set by the heartbeat; cleared when a pong or message arrives. */
  awaitingPong = false;
  readonly #ws: WebSocket;
  readonly #deps: ConnectionDeps;
  readonly #log: Logger;
  readonly #tel: Telemetry;
  #handle: DocumentHandle | undefined;
  #backlog: Uint8Array[] | undefined = [];
  #backlogBytes = 0;
  /**
   * Bytes of the largest sync step 2 reply that may still sit in the send buffer. A reply is
   * as large as the document, so it is not held against the client: otherwise nobody could
   * join a document larger than `maxBufferedBytes` (the next broadcast would close them).
   */
  #replyBytes = 0;
  #closed = false;
  readonly #done: Promise<void>;
  /** Durable acks (after a Hello that asked for them): update-bearing messages received / acked. */
  #acks: { received: number; acked: number } | undefined;

  constructor(ws: WebSocket, docName: string, deps: ConnectionDeps) {
    this.#ws = ws;
    this.#done = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    this.docName = docName;
    this.#deps = deps;
    this.#log = deps.logger.child({ conn: this.id, doc: docName });
    this.#tel = deps.telemetry ?? Telemetry.disabled();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Resolves when the socket has closed. */
  get closedPromise(): Promise<void> {
    return this.#done;
  }

  ping(): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.ping();
  }

  /** Wire socket events and open the document. Resolves when closed. */
  start(): Promise<void> {
    const ws = this.#ws;
    const done = this.#done;
    ws.on('message', (data: RawData) => this.#onMessage(data));
    ws.on('pong', () => (this.awaitingPong = false));
    ws.on('error', (err: Error & { code?: string }) => this.#onSocketError(err));
    ws.once('close', (code: number) => this.#onClose(code));
    const open = (): Promise<DocumentHandle> => this.#deps.registry.open(this.docName, this);
    // In the connection's trace: the document load it may start is a child span.
    const opened = this.#deps.upgrade?.run(open) ?? open();
    opened.then(
      (handle) => this.#onOpened(handle),
      (err: unknown) => this.fail(toSkeinError(err, 'SKEIN_ERR_DOC_LOAD_FAILED')),
    );
    // Leave only after the open settled: the registry then sees attach and detach in order.
    void done.then(() =>
      opened.then(
        (handle) => this.#deps.registry.leave(handle, this),
        () => undefined,
      ),
    );
    return done;
  }

  send(message: Uint8Array): void {
    if (this.#closed || this.#ws.readyState !== this.#ws.OPEN) return;
    const buffered = this.#ws.bufferedAmount;
    // The buffer drains in order: no more than `buffered` bytes of the reply can be left.
    this.#replyBytes = Math.min(this.#replyBytes, buffered);
    if (buffered - this.#replyBytes > this.#deps.limits.maxBufferedBytes) {
      this.fail(new SkeinError('SKEIN_ERR_SLOW_CONSUMER', `more than ${this.#deps.limits.maxBufferedBytes} bytes buffered`));
      return;
    }
    this.#tel.messageSent(message.byteLength);
    this.#ws.send(message, { binary: true });
  }

  /** Send the answer to a sync step 1; at most one such reply is exempt from the buffer limit. */
  #reply(message: Uint8Array): void {
    this.send(message);
    this.#replyBytes = Math.max(this.#replyBytes, message.byteLength);
  }

  /** Close this socket with the error's close code (1011 when it has none). */
  fail(err: SkeinError): void {
    if (this.#closed) return;
    const level = err.code === 'SKEIN_ERR_SHUTTING_DOWN' ? 'debug' : 'warn';
    this.#log[level]({ code: err.code, err: err.message }, 'closing connection');
    this.#deps.upgrade?.failed(err.code);
    this.close(err.spec.closeCode ?? 1011, err.code);
  }

  close(code: number, reason = ''): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#backlog = undefined;
    this.#ws.close(code, reason);
  }

  terminate(): void {
    this.#closed = true;
    this.#ws.terminate();
  }

  #onOpened(handle: DocumentHandle): void {
    this.#handle = handle;
    if (this.#closed) return;
    this.send(encodeSyncStep1(handle.stateVector()));
    const awareness = handle.awarenessSnapshot();
    if (awareness !== null) this.send(encodeAwareness(awareness));
    const backlog = this.#backlog ?? [];
    this.#backlog = undefined;
    for (const bytes of backlog) {
      if (this.#closed) return;
      this.#process(handle, bytes);
    }
    this.#deps.upgrade?.opened(this.id);
  }

  #onMessage(data: RawData): void {
    this.awaitingPong = false;
    if (this.#closed) return;
    const bytes = toBytes(data);
    // Limits at the edge: past the message or byte rate the socket closes with 4530.
    const limited = this.#deps.rate?.admit(bytes.byteLength);
    if (limited !== undefined) {
      this.fail(limited);
      return;
    }
    if (this.#handle !== undefined) {
      this.#process(this.#handle, bytes);
      return;
    }
    this.#backlogBytes += bytes.byteLength;
    if (this.#backlogBytes > this.#deps.limits.maxLoadBacklogBytes) {
      this.fail(new SkeinError('SKEIN_ERR_BACKLOG_FULL'));
      return;
    }
    this.#backlog?.push(bytes);
  }

  #process(handle: DocumentHandle, bytes: Uint8Array): void {
    try {
      this.#dispatch(handle, decodeMessage(bytes, { maxBytesLength: this.#deps.limits.maxMessageBytes }));
    } catch (err) {
      this.fail(toSkeinError(err));
    }
  }

  #dispatch(handle: DocumentHandle, message: Message): void {
    switch (message.type) {
      case 'sync-step1': {
        const started = performance.now();
        decodeStateVector(message.stateVector);
        const reply = encodeSyncStep2(handle.diffFor(message.stateVector));
        this.#reply(reply);
        this.#tel.syncAnswered(this.#deps.upgrade, started, message.stateVector.byteLength, reply.byteLength);
        return;
      }
      case 'sync-step2':
      case 'sync-update':
        this.#tel.applyUpdate(this.#deps.upgrade, message.type, message.update.byteLength, handle.peerCount - 1, () =>
          this.#applyUpdate(handle, message.update),
        );
        return;
      case 'awareness':
        this.#tel.awarenessReceived();
        decodeAwarenessUpdate(message.update);
        handle.applyClientAwareness(message.update, this);
        return;
      case 'query-awareness': {
        const snapshot = handle.awarenessSnapshot();
        if (snapshot !== null) this.send(encodeAwareness(snapshot));
        return;
      }
      case 'skein-hello':
        this.#onHello(message.features);
        return;
      case 'auth-denied':
      case 'skein-welcome':
      case 'skein-ack':
        // Only servers send these; a client sending one has no effect.
        return;
      default: {
        const unhandled: never = message;
        throw new SkeinError('SKEIN_ERR_INTERNAL', `unhandled message ${String(unhandled)}`);
      }
    }
  }

  #onHello(features: number): void {
    const agreed = features & SkeinFeature.DurableAcks;
    if (agreed !== 0 && this.#acks === undefined) this.#acks = { received: 0, acked: 0 };
    this.send(encodeWelcome(agreed));
  }

  /** Submit to the document's edit path; with durable acks, frame the ack when it resolves. */
  #applyUpdate(handle: DocumentHandle, update: Uint8Array): void {
    // Throws (closing this socket with the error's code) when the update is refused.
    const durable = handle.submit(update, clientOrigin(this));
    const acks = this.#acks;
    if (acks === undefined) {
      // Failures are logged by the handle, which keeps the document and stores it in full.
      durable.catch(() => undefined);
      return;
    }
    const seq = ++acks.received;
    durable.then(
      () => {
        // Writes settle in order, so acks are monotone; a cumulative ack covers all before it.
        if (seq <= acks.acked) return;
        acks.acked = seq;
        this.send(encodeAck(seq));
      },
      // Never ack past a failed write: the client reconnects and re-sends what is unacked.
      (err: unknown) => this.fail(toSkeinError(err, 'SKEIN_ERR_STORAGE_WRITE')),
    );
  }

  #onSocketError(err: Error & { code?: string }): void {
    const code = err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'SKEIN_ERR_MESSAGE_TOO_LARGE' : 'SKEIN_ERR_MALFORMED_FRAME';
    this.#log.warn({ code, wsCode: err.code, err: err.message }, 'socket error');
    // ws closes the socket itself (1009 for an oversized message, 1002 for a bad frame).
    this.#closed = true;
  }

  #onClose(code: number): void {
    this.#closed = true;
    this.#deps.upgrade?.closed();
    this.#backlog = undefined;
    this.#log.debug({ closeCode: code }, 'connection closed');
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}
