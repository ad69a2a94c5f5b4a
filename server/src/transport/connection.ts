import type { Duplex } from 'node:stream';
import type { RawData } from 'ws';
import {
  decodeAwarenessUpdate,
  decodeMessage,
  decodeStateVector,
  encodeAwareness,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncStep2Prefix,
  encodeSyncUpdate,
  encodeAck,
  encodeAuthDenied,
  encodeWelcome,
  SkeinFeature,
  type Message,
} from '@skein/protocol';
import { atTime, systemClock, type Clock } from '../clock/clock.js';
import { InboundQueue, type InboundQueueConfig, type InboundSink } from './inbound-queue.js';
import type { Logger } from '../logging/logger.js';
import { NO_TRANSPORT_PROBES, type ConnectionTrace, type TransportProbes } from './probes.js';
import { SkeinError, toSkeinError } from '../errors/skein-error.js';
import type { DocumentHandle } from '../documents/document-handle.js';
import type { DocumentRegistry } from '../documents/registry.js';
import { clientOrigin, type Peer } from '../documents/origins.js';
import type { MessageRate } from '../auth/limits.js';
import type { ConnectionInfo } from '../documents/session-info.js';
import { ConnectionMeter } from './connection-meter.js';
import { sliceTurnReads, type ReadControl, type SocketReads, type TurnReadSettings } from './read-slicer.js';
import { PresenceLimiter } from './presence-limiter.js';
import { type PeerSocket, toBytes } from './peer-socket.js';
import { encodeBinaryFrame, encodeBinaryFrameHead, PREFRAME_MAX_BYTES } from './ws-frame.js';

export interface ConnectionLimits {
  readonly maxMessageBytes: number;
  readonly maxBufferedBytes: number;
  readonly maxLoadBacklogBytes: number;
  /**
   * A sync step 2 reply larger than this goes out as WebSocket fragments of this size, each
   * after the previous one was written to the socket (`--sync-chunk-bytes`; default 256 KiB).
   */
  readonly syncChunkBytes?: number;
}

const DEFAULT_SYNC_CHUNK_BYTES = 256 * 1024;

/** Who is on the other end, as decided at the upgrade (auth/). */
export interface Session {
  readonly user: string;
  /** Updates are dropped (never applied, stored or forwarded). */
  readonly readOnly: boolean;
  /** When the credentials expire (ms since the epoch): the socket is closed with 4401 then. */
  readonly expiresAt?: number;
}

/** What every connection of a server shares: made once per server, not per connection. */
export interface ConnectionContext {
  readonly registry: DocumentRegistry;
  readonly logger: Logger;
  readonly limits: ConnectionLimits;
  readonly telemetry?: TransportProbes;
  readonly clock?: Clock;
  /** Whether a read-only session's awareness is applied (`allow`) or dropped (`deny`). */
  readonly readonlyAwareness?: 'allow' | 'deny';
  /** Fairness: every connection's inbound queue configuration (its turn budget, the node's governor). */
  readonly inbound: InboundQueueConfig;
  /** Fairness below it: how every socket's reads are sliced per turn (read-slicer.ts); undefined: not sliced. */
  readonly reads?: TurnReadSettings;
  /** Awareness updates per second applied from this connection (presence-limiter.ts); 0 or absent: no bound. */
  readonly presenceRate?: number;
  /** Called once, when the socket has closed (one function for every connection: no closure each). */
  readonly onClosed?: (connection: Connection) => void;
}

/** What is this connection's own. */
export interface ConnectionSetup {
  /** The trace of this connection's opening (when tracing is on). */
  readonly upgrade?: ConnectionTrace;
  readonly session?: Session;
  /** Limits at the edge: this connection's message and byte rate (auth/limits.ts). */
  readonly rate?: MessageRate;
  /** The socket's peer address, for `info()`. */
  readonly remoteAddress?: string;
  /** The upgraded TCP socket under `ws`: its reads are sliced by the context's `reads` (read-slicer.ts). */
  readonly socket?: Duplex;
}

const WRITER: Session = Object.freeze({ user: 'anonymous', readOnly: false });

/**
 * The last message framed and its frame: the fan-out sends one message to many sockets in a
 * row. Keyed by identity: a message is never changed once sent (every encoder returns a fresh
 * array).
 */
let lastMessage: Uint8Array | undefined;
let lastFrame: Uint8Array = new Uint8Array(0);

function framed(message: Uint8Array): Uint8Array {
  if (message !== lastMessage) {
    lastFrame = encodeBinaryFrame(message);
    lastMessage = message;
  }
  return lastFrame;
}

/**
 * A change kept after a document's cached state, as the update message joiners are sent: made
 * once per change, shared by every joiner (a large document's tail can be megabytes, and 150
 * joiners must not each hold a copy). Dropped with the change.
 */
const tailMessages = new WeakMap<Uint8Array, Uint8Array>();

function tailMessage(update: Uint8Array): Uint8Array {
  let message = tailMessages.get(update);
  if (message === undefined) {
    message = encodeSyncUpdate(update);
    tailMessages.set(update, message);
  }
  return message;
}

/** The connection a socket belongs to, on the socket itself (for the shared listeners). */
const OWNER = Symbol('skein.connection');
type OwnedSocket = PeerSocket & { [OWNER]?: Connection };

/** `closedPromise` of a connection whose socket closed before anyone asked for it. */
const SETTLED: Promise<void> = Promise.resolve();

let nextId = 1;

/**
 * One WebSocket bound to one document: buffers what the client sends while the document
 * loads (the load barrier), then speaks the sync and awareness protocol. Any bad input
 * closes only this socket, with the error's close code.
 */
export class Connection implements Peer, InboundSink, ReadControl {
  readonly id = nextId++;
  readonly docName: string;
  /** Set by the heartbeat; cleared when a pong or message arrives. */
  awaitingPong = false;
  readonly #ws: PeerSocket;
  readonly #ctx: ConnectionContext;
  readonly #upgrade: ConnectionTrace | undefined;
  readonly #rate: MessageRate | undefined;
  /** The TCP socket under `ws` (pre-framed writes, corked replies), when there is one. */
  readonly #socket: Duplex | undefined;
  /** This connection's logger (a pino child with its bindings), made on first use: most connections never log. */
  #logger: Logger | undefined;
  readonly #tel: TransportProbes;
  #handle: DocumentHandle | undefined;
  #backlog: Uint8Array[] | undefined = [];
  #backlogBytes = 0;
  /**
   * Bytes of the largest sync step 2 reply that may still sit in the send buffer. A reply is
   * as large as the document, so it is not held against the client: otherwise nobody could
   * join a document larger than `maxBufferedBytes` (the next broadcast would close them).
   */
  #replyBytes = 0;
  /** A large reply going out as fragments: what is sent meanwhile waits here, in order. */
  #fragmenting: { queued: Uint8Array[]; bytes: number } | undefined;
  #closed = false;
  /** `closedPromise`, made when first asked for (most connections never are); settled once the socket closed. */
  #done: Promise<void> | undefined;
  #closedResolve: (() => void) | undefined;
  /** The document this connection opened (set by `start`): left when the socket closes. */
  #opened: Promise<DocumentHandle> | undefined;
  /** Durable acks (after a Hello that asked for them): update-bearing messages received / acked. */
  #acks: { received: number; acked: number } | undefined;
  readonly #session: Session;
  /** Fairness: a bounded number of messages per event-loop turn (inbound-queue.ts). */
  readonly #inbound: InboundQueue;
  /** Fairness below it: a bounded number of a read's bytes parsed per turn (read-slicer.ts). */
  readonly #slicer: SocketReads | undefined;
  /** The presence budget (`--presence-rate`); undefined: every awareness update is applied at once. */
  readonly #presence: PresenceLimiter | undefined;
  readonly #clock: Clock;
  /** The client sent a Hello (a Skein client): it is told about refusals that keep the socket open. */
  #skeinClient = false;
  #toldReadOnly = false;
  /** Cancels the close at the session's expiry (4401). */
  #disarmExpiry: (() => void) | undefined;
  readonly #meter: ConnectionMeter;

  constructor(ws: PeerSocket, docName: string, context: ConnectionContext, setup: ConnectionSetup = {}) {
    this.#ws = ws;
    this.docName = docName;
    this.#ctx = context;
    this.#upgrade = setup.upgrade;
    this.#rate = setup.rate;
    this.#socket = setup.socket;
    this.#session = setup.session ?? WRITER;
    this.#clock = context.clock ?? systemClock;
    this.#meter = new ConnectionMeter(this.#clock.now(), setup.remoteAddress ?? '');
    this.#tel = context.telemetry ?? NO_TRANSPORT_PROBES;
    this.#inbound = new InboundQueue(context.inbound, this);
    const rate = context.presenceRate ?? 0;
    this.#presence = rate > 0 ? new PresenceLimiter({ ratePerSecond: rate, clock: this.#clock, apply: (u) => this.#applyHeldAwareness(u) }) : undefined;
    this.#slicer = setup.socket === undefined ? undefined : sliceTurnReads(setup.socket, context.reads, this);
  }

  // The socket is read again only when neither the inbound queue (pause/resume) nor the read
  // slicer (hold/release) holds it. Methods, not closures: nothing per connection.

  /** @internal the inbound queue's sink (inbound-queue.ts). */
  handleInbound(batch: readonly Uint8Array[]): void {
    this.#handleBatch(batch);
  }

  /** @internal */
  pauseReads(): void {
    this.#ws.pause();
  }

  /** @internal */
  resumeReads(): void {
    if (!this.#closed && this.#slicer?.holding !== true) this.#ws.resume();
  }

  /** @internal the read slicer's control (read-slicer.ts). */
  holdReads(): void {
    this.#ws.pause();
  }

  /** @internal */
  releaseReads(): void {
    if (!this.#closed && !this.#inbound.paused) this.#ws.resume();
  }

  /** A held awareness update, applied when the presence budget allows (the socket may have closed since). */
  #applyHeldAwareness(update: Uint8Array): void {
    const handle = this.#handle;
    if (handle === undefined || this.#closed) return;
    try {
      handle.applyClientAwareness(update, this);
    } catch (err) {
      this.fail(toSkeinError(err));
    }
  }

  get #log(): Logger {
    return (this.#logger ??= this.#ctx.logger.child({ conn: this.id, doc: this.docName, user: this.#session.user }));
  }

  /** The session may only read. */
  get readOnly(): boolean {
    return this.#session.readOnly;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Resolves when the socket has closed. */
  get closedPromise(): Promise<void> {
    return (this.#done ??= new Promise<void>((resolve) => (this.#closedResolve = resolve)));
  }

  /**
   * The socket's listeners: the same four functions for every connection, each finding its
   * connection on the socket (`OWNER`), instead of four closures per connection.
   */
  static readonly #socketListeners = {
    message(this: OwnedSocket, data: RawData): void {
      const conn = this[OWNER];
      if (conn !== undefined) conn.#onMessage(data);
    },
    pong(this: OwnedSocket): void {
      const conn = this[OWNER];
      if (conn !== undefined) conn.awaitingPong = false;
    },
    error(this: OwnedSocket, err: Error & { code?: string }): void {
      const conn = this[OWNER];
      if (conn !== undefined) conn.#onSocketError(err);
    },
    close(this: OwnedSocket, code: number): void {
      const conn = this[OWNER];
      if (conn !== undefined) conn.#onClose(code);
    },
  };

  /** What an operator may see of this socket (documents/session-info.ts). */
  info(): ConnectionInfo {
    const m = this.#meter;
    const s = this.#session;
    return {
      id: this.id, doc: this.docName, user: s.user, readOnly: s.readOnly, ip: m.ip, openedAt: m.openedAt,
      bytesIn: m.bytesIn, bytesOut: m.bytesOut, bufferedBytes: this.#ws.bufferedAmount,
    };
  }

  ping(): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.ping();
  }

  /** Wire socket events and open the document (`closedPromise` or `onClosed` tell when it is over). */
  start(): void {
    const ws = this.#ws as OwnedSocket;
    ws[OWNER] = this;
    const on = Connection.#socketListeners;
    // An EventEmitter calls a listener with the emitter (the socket) as `this`: what they expect.
    /* eslint-disable @typescript-eslint/unbound-method */
    ws.on('message', on.message);
    ws.on('pong', on.pong);
    ws.on('error', on.error);
    // `on`, not `once`: the socket closes once, and `once` wraps every listener in two objects.
    ws.on('close', on.close);
    /* eslint-enable @typescript-eslint/unbound-method */
    const expiresAt = this.#session.expiresAt;
    if (expiresAt !== undefined) {
      this.#disarmExpiry = atTime(this.#clock, expiresAt, () => this.fail(new SkeinError('SKEIN_ERR_AUTH_EXPIRED', 'the access token expired')));
    }
    const open = (): Promise<DocumentHandle> => this.#ctx.registry.open(this.docName, this);
    // In the connection's trace: the document load it may start is a child span.
    const opened = (this.#opened = this.#upgrade?.run(open) ?? open());
    opened.then(
      (handle) => this.#onOpened(handle),
      (err: unknown) => this.fail(toSkeinError(err, 'SKEIN_ERR_DOC_LOAD_FAILED')),
    );
  }

  send(message: Uint8Array): void {
    if (this.#closed || this.#ws.readyState !== this.#ws.OPEN) return;
    const fragmenting = this.#fragmenting;
    if (fragmenting !== undefined) {
      // No message may start between the fragments of another: after the reply's last one.
      fragmenting.queued.push(message);
      fragmenting.bytes += message.byteLength;
      if (fragmenting.bytes > this.#ctx.limits.maxBufferedBytes) {
        this.fail(new SkeinError('SKEIN_ERR_SLOW_CONSUMER', `more than ${this.#ctx.limits.maxBufferedBytes} bytes buffered`));
      }
      return;
    }
    if (this.#slowConsumer()) return;
    this.#write(message);
  }

  /** Fail the connection when more than the limit is buffered besides the reply (true: failed). */
  #slowConsumer(): boolean {
    const buffered = this.#ws.bufferedAmount;
    // The buffer drains in order: no more than `buffered` bytes of the reply can be left.
    this.#replyBytes = Math.min(this.#replyBytes, buffered);
    if (buffered - this.#replyBytes <= this.#ctx.limits.maxBufferedBytes) return false;
    this.fail(new SkeinError('SKEIN_ERR_SLOW_CONSUMER', `more than ${this.#ctx.limits.maxBufferedBytes} bytes buffered`));
    return true;
  }

  /** One message of `bytes` bytes goes out (telemetry and this connection's meter). */
  #count(bytes: number): void {
    this.#tel.messageSent(bytes);
    this.#meter.bytesOut += bytes;
  }

  /** Count and write one whole message (the checks are the caller's). */
  #write(message: Uint8Array): void {
    this.#count(message.byteLength);
    const raw = this.#socket;
    // A message the fan-out sends to every peer is framed once and written as is to each socket
    // (the same bytes; ws-frame.ts). `ws` itself writes nothing in between: it frames and writes
    // synchronously (no extension is negotiated), and fragmented replies hold this path off.
    if (raw !== undefined && raw.writable && message.byteLength <= PREFRAME_MAX_BYTES) raw.write(framed(message));
    else this.#ws.send(message, { binary: true });
  }

  /**
   * Count and write one message made of `head ‖ body` (the checks are the caller's) without
   * copying `body`: on the TCP socket, the frame's start (header and `head`) and `body` in one
   * corked write — a joiner's reply shares the document's encoded state instead of copying it
   * into a message and again into a frame.
   */
  #writeJoined(head: Uint8Array, body: Uint8Array): void {
    const bytes = head.byteLength + body.byteLength;
    this.#count(bytes);
    const raw = this.#socket;
    if (raw === undefined || !raw.writable) {
      const message = new Uint8Array(bytes);
      message.set(head);
      message.set(body, head.byteLength);
      this.#ws.send(message, { binary: true });
      return;
    }
    raw.cork();
    raw.write(encodeBinaryFrameHead(head, body.byteLength));
    raw.write(body);
    raw.uncork();
  }

  /**
   * A sync step 2 from the cached full state, then the changes made since it was encoded, each
   * an update message, in one socket write (corked). The changes are part of the reply: they
   * do not count as a slow consumer's backlog.
   */
  #replyWithTail(parts: readonly Uint8Array[]): number {
    const socket = this.#socket;
    socket?.cork();
    try {
      let bytes = this.#reply(parts[0] as Uint8Array);
      for (let i = 1; i < parts.length; i++) {
        const message = tailMessage(parts[i] as Uint8Array);
        bytes += message.byteLength;
        if (this.#closed || this.#ws.readyState !== this.#ws.OPEN) continue;
        const fragmenting = this.#fragmenting;
        if (fragmenting !== undefined) {
          fragmenting.queued.push(message);
          continue;
        }
        this.#replyBytes = Math.min(this.#replyBytes, this.#ws.bufferedAmount) + message.byteLength;
        this.#write(message);
      }
      return bytes;
    } finally {
      socket?.uncork();
    }
  }

  /**
   * Send the answer to a sync step 1 (the update the peer lacks); returns its size in bytes. At
   * most one such reply is exempt from the buffer limit. A reply larger than `syncChunkBytes`
   * (a large document's joiner) is one message in bounded WebSocket fragments, sent one at a
   * time as the socket drains: no copy of the update (shared by every joiner of the same
   * state), at most one fragment in this socket's send buffer, and any WebSocket client —
   * plain y-websocket included — receives the same single message.
   */
  #reply(update: Uint8Array): number {
    const chunk = this.#ctx.limits.syncChunkBytes ?? DEFAULT_SYNC_CHUNK_BYTES;
    if (this.#fragmenting !== undefined) {
      // Queued whole behind the reply being fragmented; a reply all the same (the buffer may hold it).
      const message = encodeSyncStep2(update);
      this.send(message);
      this.#replyBytes = Math.max(this.#replyBytes, message.byteLength);
      return message.byteLength;
    }
    const prefix = encodeSyncStep2Prefix(update.byteLength);
    const bytes = prefix.byteLength + update.byteLength;
    if (this.#closed || this.#ws.readyState !== this.#ws.OPEN) return bytes;
    if (update.byteLength <= chunk) {
      if (this.#slowConsumer()) return bytes;
      this.#writeJoined(prefix, update);
      this.#replyBytes = Math.max(this.#replyBytes, bytes);
      return bytes;
    }
    this.#count(bytes);
    const fragmenting = { queued: [] as Uint8Array[], bytes: 0 };
    this.#fragmenting = fragmenting;
    this.#ws.send(prefix, { binary: true, fin: false });
    let offset = 0;
    const next = (err?: Error | null): void => {
      // A socket that failed or closed meanwhile: its close handling takes over.
      if ((err !== undefined && err !== null) || this.#closed || this.#ws.readyState !== this.#ws.OPEN) return;
      const end = Math.min(offset + chunk, update.byteLength);
      const last = end === update.byteLength;
      this.#ws.send(update.subarray(offset, end), { binary: true, fin: last }, last ? undefined : next);
      offset = end;
      if (!last) return;
      this.#fragmenting = undefined;
      for (const message of fragmenting.queued) this.send(message);
    };
    next();
    return bytes;
  }

  /** Close this socket with the error's close code (1011 when it has none). */
  fail(err: SkeinError): void {
    if (this.#closed) return;
    const level = err.code === 'SKEIN_ERR_SHUTTING_DOWN' ? 'debug' : 'warn';
    this.#log[level]({ code: err.code, err: err.message }, 'closing connection');
    this.#upgrade?.failed(err.code);
    this.close(err.spec.closeCode ?? 1011, err.code);
  }

  close(code: number, reason = ''): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#backlog = undefined;
    // Drop what waits for a later turn and read the socket again: a socket paused by the turn
    // budget would never see the peer's close frame, and the close would wait for its timeout.
    this.#slicer?.passThrough();
    this.#inbound.close();
    this.#presence?.close();
    this.#ws.close(code, reason);
    if (this.#ws.isPaused) this.#ws.resume();
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
    // Through the turn budget like any message: a large backlog is handled over several turns.
    for (const bytes of backlog) this.#inbound.push(bytes);
    this.#upgrade?.opened(this.id);
  }

  /** A batch of messages the inbound queue hands over: consecutive updates become one change. */
  #handleBatch(batch: readonly Uint8Array[]): void {
    const handle = this.#handle;
    if (handle === undefined || this.#closed) return;
    if (batch.length === 1) {
      this.#process(handle, batch[0] as Uint8Array);
      return;
    }
    let updates: Uint8Array[] = [];
    const flush = (): void => {
      if (updates.length > 0 && !this.#closed) this.#applyBatch(handle, updates);
      updates = [];
    };
    for (const bytes of batch) {
      if (this.#closed) return;
      let message: Message;
      try {
        message = decodeMessage(bytes, { maxBytesLength: this.#ctx.limits.maxMessageBytes });
      } catch (err) {
        flush();
        this.fail(toSkeinError(err));
        return;
      }
      if ((message.type === 'sync-update' || message.type === 'sync-step2') && !this.#session.readOnly) {
        updates.push(message.update);
        continue;
      }
      flush();
      try {
        this.#dispatch(handle, message);
      } catch (err) {
        this.fail(toSkeinError(err));
        return;
      }
    }
    flush();
  }

  /**
   * Several update messages as one change: one transaction, one write, one fan-out, and one
   * ack that covers all of them (acks are cumulative). If the batch is refused as invalid,
   * each is submitted on its own (those before the malformed one were kept and change nothing
   * the second time), so the good ones are acknowledged and the bad one gets its exact error.
   */
  #applyBatch(handle: DocumentHandle, updates: readonly Uint8Array[], type = 'sync-update'): void {
    let bytes = 0;
    for (const u of updates) bytes += u.byteLength;
    try {
      this.#tel.applyUpdate(this.#upgrade, type, bytes, handle.peerCount - 1, () => this.#applyUpdate(handle, updates));
      if (updates.length > 1) this.#tel.updatesMerged(updates.length);
    } catch (err) {
      if (updates.length > 1 && (!(err instanceof SkeinError) || err.code === 'SKEIN_ERR_INVALID_UPDATE')) {
        for (const u of updates) {
          if (this.#closed) return;
          this.#applyBatch(handle, [u], type);
        }
        return;
      }
      this.fail(toSkeinError(err));
    }
  }

  #onMessage(data: RawData): void {
    this.awaitingPong = false;
    if (this.#closed) return;
    const bytes = toBytes(data);
    this.#meter.bytesIn += bytes.byteLength;
    // Limits at the edge: past the message or byte rate the socket closes with 4530.
    const limited = this.#rate?.admit(bytes.byteLength);
    if (limited !== undefined) {
      this.fail(limited);
      return;
    }
    if (this.#handle !== undefined) {
      this.#inbound.push(bytes);
      return;
    }
    this.#backlogBytes += bytes.byteLength;
    if (this.#backlogBytes > this.#ctx.limits.maxLoadBacklogBytes) {
      this.fail(new SkeinError('SKEIN_ERR_BACKLOG_FULL'));
      return;
    }
    this.#backlog?.push(bytes);
  }

  #process(handle: DocumentHandle, bytes: Uint8Array): void {
    try {
      this.#dispatch(handle, decodeMessage(bytes, { maxBytesLength: this.#ctx.limits.maxMessageBytes }));
    } catch (err) {
      this.fail(toSkeinError(err));
    }
  }

  #dispatch(handle: DocumentHandle, message: Message): void {
    switch (message.type) {
      case 'sync-step1': {
        const started = performance.now();
        decodeStateVector(message.stateVector);
        const parts = handle.joinFor(message.stateVector);
        const replyBytes = parts.length === 1 ? this.#reply(parts[0] as Uint8Array) : this.#replyWithTail(parts);
        this.#tel.syncAnswered(this.#upgrade, started, message.stateVector.byteLength, replyBytes);
        return;
      }
      case 'sync-step2':
      case 'sync-update':
        if (this.#session.readOnly) {
          this.#refuseWrite();
          return;
        }
        this.#applyBatch(handle, [message.update], message.type);
        return;
      case 'awareness': {
        this.#tel.awarenessReceived();
        const entries = decodeAwarenessUpdate(message.update);
        if (this.#session.readOnly && this.#ctx.readonlyAwareness === 'deny') return;
        if (this.#presence === undefined) handle.applyClientAwareness(message.update, this);
        else this.#presence.offer(message.update, entries);
        return;
      }
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
    this.#skeinClient = true;
    const agreed = features & SkeinFeature.DurableAcks;
    if (agreed !== 0 && this.#acks === undefined) this.#acks = { received: 0, acked: 0 };
    this.send(encodeWelcome(agreed | (this.#session.readOnly ? SkeinFeature.ReadOnly : 0)));
  }

  /**
   * A read-only session sent an update: dropped (never applied, stored or forwarded) and
   * counted. A Skein client is told once; a plain y-websocket client stays connected.
   */
  #refuseWrite(): void {
    this.#tel.readOnlyUpdateDropped();
    if (!this.#skeinClient || this.#toldReadOnly) return;
    this.#toldReadOnly = true;
    this.send(encodeAuthDenied('SKEIN_ERR_READ_ONLY'));
  }

  /**
   * Submit to the document's edit path; with durable acks, frame the ack when it resolves.
   * `updates`: the update-bearing messages of one batch, one change (one ack covers them all).
   */
  #applyUpdate(handle: DocumentHandle, updates: readonly Uint8Array[]): void {
    // Throws (closing this socket with the error's code) when the updates are refused.
    let durable: Promise<void>;
    try {
      durable = handle.submitAll(updates, clientOrigin(this, this.#session.user));
    } catch (err) {
      if (err instanceof SkeinError && err.code === 'SKEIN_ERR_UNPERSISTED_LIMIT') this.#tel.writeRefused();
      throw err;
    }
    const acks = this.#acks;
    if (acks === undefined) {
      // Failures are logged by the handle, which keeps the document and stores it in full.
      durable.catch(() => undefined);
      return;
    }
    acks.received += updates.length;
    const seq = acks.received;
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
    // The peer closed (or the socket dropped): what it sent before is handled, not dropped —
    // a client that bursts and closes at once loses nothing. When this side closed first,
    // the queue was already dropped.
    if (!this.#closed) this.#inbound.drainAll();
    this.#closed = true;
    this.#inbound.close();
    this.#presence?.close();
    this.#disarmExpiry?.();
    this.#disarmExpiry = undefined;
    this.#upgrade?.closed();
    this.#backlog = undefined;
    this.#log.debug({ closeCode: code }, 'connection closed');
    if (this.#done === undefined) this.#done = SETTLED;
    else this.#closedResolve?.();
    // Leave only after the open settled: the registry then sees attach and detach in order.
    this.#opened?.then(
      (handle) => this.#ctx.registry.leave(handle, this),
      () => undefined,
    );
    this.#ctx.onClosed?.(this);
  }
}
