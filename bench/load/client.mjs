// A lean load client: one WebSocket speaking one target's dialect of the y-websocket
// protocol, written with lib0 + yjs directly so that the load generator's CPU stays small.
//
// Dialects (`protocol`):
//   yws    plain y-websocket (Skein, the y-websocket server): URL ws://host:port/<doc>
//   hocus  Hocuspocus: every frame is prefixed with varString(documentName); an Auth message
//          (MessageType.Auth=2, AuthMessageType.Token=0, varString(token)) must come first;
//          the server answers Authenticated [2, 2, scope], sends its sync step 1 as
//          SyncReply (type 4) and a SyncStatus (type 8) after each applied update.
//   relay  the raw relay: no handshake, no server state; frames are y-websocket frames
//          forwarded verbatim to the other sockets of the room.
//
// Receiving is lean: an incoming update is not applied to a Y.Doc while the clock runs.
// Its header (first struct's client and clock) identifies it in a few varint reads, and the
// raw bytes are kept; `verifyState()` applies everything received after the measurement to
// check that the client converged to the writers' state (a fast but wrong server FAILS).
import WebSocket from 'ws';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import { itemIds } from './update-ids.mjs';

export const MSG_SYNC = 0;
export const MSG_AWARENESS = 1;
export const MSG_AUTH = 2;
const MSG_HOCUS_SYNC_REPLY = 4;
const MSG_HOCUS_SYNC_STATUS = 8;
const MSG_SKEIN_WELCOME = 101;
const MSG_SKEIN_ACK = 102;
const SYNC_STEP1 = 0;
const SYNC_STEP2 = 1;
const SYNC_UPDATE = 2;

/**
 * Identify the updates inside a Yjs (v1) update. Fast path: one client with one struct (every
 * update a single map set produces) costs four varint reads; anything else is scanned for its
 * items' IDs without decoding their content (`update-ids.mjs`, checked against Yjs).
 * @param {Uint8Array} update
 * @returns {Array<[number, number]>} [client, clock] of each Item struct
 */
export function updateIds(update) {
  const d = decoding.createDecoder(update);
  const clients = decoding.readVarUint(d);
  if (clients === 1) {
    const structs = decoding.readVarUint(d);
    if (structs === 1) {
      const client = decoding.readVarUint(d);
      const clock = decoding.readVarUint(d);
      return [[client, clock]];
    }
  }
  return itemIds(update);
}

/**
 * Parse an awareness update: yields [clientID, clock, stateJSONbyteLength] for every entry,
 * without decoding the JSON.
 * @param {Uint8Array} payload
 * @returns {Array<[number, number]>}
 */
export function awarenessIds(payload) {
  const d = decoding.createDecoder(payload);
  const n = decoding.readVarUint(d);
  /** @type {Array<[number, number]>} */
  const out = [];
  for (let i = 0; i < n; i++) {
    const client = decoding.readVarUint(d);
    const clock = decoding.readVarUint(d);
    const len = decoding.readVarUint(d);
    d.pos += len;
    out.push([client, clock]);
  }
  return out;
}

/**
 * @typedef {object} ClientOptions
 * @property {string} url           ws://host:port (no trailing slash)
 * @property {string} doc           document (room) name
 * @property {'yws'|'hocus'|'relay'} protocol
 * @property {boolean} [keep]       keep received updates for verifyState() (default true)
 * @property {boolean} [acks]       send Skein's Hello with DurableAcks first
 * @property {(update: Uint8Array, client: BenchClient) => void} [onUpdate]
 * @property {(payload: Uint8Array, client: BenchClient) => void} [onAwareness]
 * @property {(seq: number, client: BenchClient) => void} [onAck]
 * @property {(update: Uint8Array, client: BenchClient) => void} [onStepTwo]
 * @property {import('./shared-socket.mjs').SharedSocket} [shared] one socket for many documents
 *   (opened already): Skein's skein-mux.v1 for `yws`, Hocuspocus's own framing for `hocus`
 */

export class BenchClient {
  /** @param {ClientOptions} opts */
  constructor(opts) {
    this.opts = opts;
    this.protocol = opts.protocol;
    /** This client's own document: what it writes (and, for sync step 1, what it knows). */
    this.doc = new Y.Doc();
    /** @type {Uint8Array[]} every update received (sync step 2 and updates) */
    this.received = [];
    this.keep = opts.keep ?? true;
    this.synced = false;
    this.welcomed = false;
    this.closed = false;
    /** @type {string|null} why the connection failed, if it did */
    this.error = null;
    this.stepTwos = 0;
    /** Update-bearing messages sent (sync step 2 and updates): Skein numbers them for acks. */
    this.seq = 0;
    /** @type {(() => void)[]} */
    this.stepTwoWaiters = [];
    /** @type {Uint8Array} */
    this.prefix = new Uint8Array(0);
    if (this.protocol === 'hocus') {
      const e = encoding.createEncoder();
      encoding.writeVarString(e, opts.doc);
      this.prefix = encoding.toUint8Array(e);
    }
    /** @type {WebSocket|null} */
    this.ws = null;
  }

  /**
   * Open the socket and finish the initial sync. Resolves when synced (the server's sync
   * step 2 has arrived; for the relay: when open).
   * @param {number} timeoutMs
   * @returns {Promise<void>}
   */
  connect(timeoutMs = 30_000) {
    const url = this.protocol === 'hocus' ? this.opts.url : `${this.opts.url}/${this.opts.doc}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.error = `no sync within ${timeoutMs} ms`;
        reject(new Error(this.error));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.onSynced = done;
      const shared = this.opts.shared;
      if (shared) {
        // A document on a shared socket: its messages carry the channel's (or name's) prefix.
        this.ws = /** @type {WebSocket} */ (shared.ws);
        this.prefix = shared.attach(this);
        if (this.protocol === 'hocus') this.sendAuth('bench');
        this.sendStep1();
        return;
      }
      const ws = new WebSocket(url, { perMessageDeflate: false });
      this.ws = ws;
      ws.binaryType = 'nodebuffer';
      ws.on('open', () => {
        if (this.opts.acks) this.sendRaw(new Uint8Array([100, 1, 1]));
        if (this.protocol === 'relay') {
          this.synced = true;
          done();
          return;
        }
        if (this.protocol === 'hocus') this.sendAuth('bench');
        this.sendStep1();
      });
      ws.on('message', (data) => this.#onMessage(/** @type {Buffer} */ (data)));
      ws.on('error', (err) => {
        this.error ??= err.message;
        clearTimeout(timer);
        reject(err);
      });
      ws.on('close', (code) => {
        this.closed = true;
        if (!this.closing) this.error ??= `closed by server with ${code}`;
      });
    });
  }

  /** @param {Uint8Array} msg */
  sendRaw(msg) {
    const ws = this.ws;
    if (ws === null || ws.readyState !== 1) return false;
    if (this.prefix.length > 0) {
      const framed = new Uint8Array(this.prefix.length + msg.length);
      framed.set(this.prefix, 0);
      framed.set(msg, this.prefix.length);
      ws.send(framed);
    } else {
      ws.send(msg);
    }
    return true;
  }

  /**
   * Run `fn` with this client's TCP socket corked: what it sends goes out in one socket
   * write when it returns (each message still its own WebSocket frame). Without it every
   * frame is a write() of its own, and on loopback each write also runs the receiver's TCP
   * path on the sender's core (S3's load generator spent 37 % of its time there). What a
   * server receives per update does not change; when the frames reach it, fewer reads bring
   * more of them.
   * @template T @param {() => T} fn @returns {T}
   */
  corked(fn) {
    const socket = /** @type {{_socket?: import('node:net').Socket} | null} */ (this.ws)?._socket;
    socket?.cork();
    try {
      return fn();
    } finally {
      socket?.uncork();
    }
  }

  /** @param {string} token */
  sendAuth(token) {
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, MSG_AUTH);
    encoding.writeVarUint(e, 0); // AuthMessageType.Token
    encoding.writeVarString(e, token);
    this.sendRaw(encoding.toUint8Array(e));
  }

  sendStep1() {
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, MSG_SYNC);
    encoding.writeVarUint(e, SYNC_STEP1);
    encoding.writeVarUint8Array(e, Y.encodeStateVector(this.doc));
    this.sendRaw(encoding.toUint8Array(e));
  }

  /**
   * Send sync step 1 and wait for the server's step 2 answer: the server has processed
   * everything this client sent before (servers handle one connection's messages in order).
   * @param {number} timeoutMs
   */
  roundTrip(timeoutMs = 30_000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no sync step 2 reply within ${timeoutMs} ms`)), timeoutMs);
      this.stepTwoWaiters.push(() => {
        clearTimeout(timer);
        resolve(undefined);
      });
      this.sendStep1();
    });
  }

  /** @param {Uint8Array} update */
  sendUpdate(update) {
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, MSG_SYNC);
    encoding.writeVarUint(e, SYNC_UPDATE);
    encoding.writeVarUint8Array(e, update);
    this.sendRaw(encoding.toUint8Array(e));
    return ++this.seq;
  }

  /** @param {Uint8Array} awarenessUpdate */
  sendAwareness(awarenessUpdate) {
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, MSG_AWARENESS);
    encoding.writeVarUint8Array(e, awarenessUpdate);
    return this.sendRaw(encoding.toUint8Array(e));
  }

  /** Outgoing bytes still queued in the socket. */
  get buffered() {
    return this.ws?.bufferedAmount ?? 0;
  }

  close() {
    this.closing = true;
    if (this.opts.shared) return; // the shared socket is closed by its owner
    if (this.ws && this.ws.readyState <= 1) this.ws.close(1000);
  }

  /** A message for this client from a shared socket (its channel prefix already removed). @param {Buffer} data */
  receive(data) {
    this.#onMessage(data);
  }

  /** Forget received updates (after a verification, to free memory). */
  dropReceived() {
    this.received = [];
  }

  /**
   * The state this client has after applying everything it received and wrote.
   * @returns {Y.Doc}
   */
  materialize() {
    const d = new Y.Doc();
    Y.transact(d, () => {
      Y.applyUpdate(d, Y.encodeStateAsUpdate(this.doc));
      for (const u of this.received) Y.applyUpdate(d, u);
    });
    return d;
  }

  /** @param {Buffer} data */
  #onMessage(data) {
    const d = decoding.createDecoder(data);
    if (this.protocol === 'hocus') decoding.readVarString(d);
    const type = decoding.readVarUint(d);
    switch (type) {
      case MSG_SYNC:
      case MSG_HOCUS_SYNC_REPLY:
        this.#onSync(d);
        return;
      case MSG_AWARENESS:
        this.opts.onAwareness?.(decoding.readVarUint8Array(d), this);
        return;
      case MSG_SKEIN_WELCOME:
        this.welcomed = true;
        return;
      case MSG_SKEIN_ACK:
        this.opts.onAck?.(decoding.readVarUint(d), this);
        return;
      case MSG_AUTH: {
        const authType = decoding.readVarUint(d);
        if (authType === 1) this.error = `permission denied: ${decoding.readVarString(d)}`;
        return;
      }
      case MSG_HOCUS_SYNC_STATUS:
      default:
        return;
    }
  }

  /** @param {decoding.Decoder} d */
  #onSync(d) {
    const syncType = decoding.readVarUint(d);
    const payload = decoding.readVarUint8Array(d);
    if (syncType === SYNC_STEP1) {
      // Answer with what the server lacks from us (our own writes).
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, MSG_SYNC);
      encoding.writeVarUint(e, SYNC_STEP2);
      encoding.writeVarUint8Array(e, Y.encodeStateAsUpdate(this.doc, payload));
      this.sendRaw(encoding.toUint8Array(e));
      this.seq++;
      return;
    }
    if (this.keep) this.received.push(payload);
    if (syncType === SYNC_STEP2) {
      this.stepTwos++;
      this.opts.onStepTwo?.(payload, this);
      if (!this.synced) {
        this.synced = true;
        this.onSynced?.();
      }
      const waiters = this.stepTwoWaiters;
      this.stepTwoWaiters = [];
      for (const w of waiters) w();
      return;
    }
    if (syncType === SYNC_UPDATE) this.opts.onUpdate?.(payload, this);
  }
}
