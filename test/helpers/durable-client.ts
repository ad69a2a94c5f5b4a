import WebSocket from 'ws';
import * as Y from 'yjs';
import {
  decodeMessage, encodeHello, encodeSyncStep1, encodeSyncStep2, encodeSyncUpdate, SkeinFeature, type Message,
} from '@skein/protocol';

/** Transaction origin of updates that came from the server (never sent back). */
const REMOTE = Symbol('remote');

export interface DurableClientOptions {
  /** `ws://host:port`, read at every (re)connect (a restarted server may move). */
  readonly url: () => string;
  readonly doc: string;
  /** Y.Doc client id (distinct per client: the map keys and the oracle rely on it). */
  readonly clientId: number;
  /** Reconnect delay bounds (doubling from min to max). Default 20..250 ms. */
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
}

interface Sent {
  readonly seq: number;
  readonly edits: readonly number[];
}

/**
 * A lean Skein client over @skein/protocol with durable acknowledgements, for chaos tests:
 * Hello(DurableAcks) → Welcome; sync step 1/2; every local edit is one map key
 * `<clientId>:<n>` and one sync update. It numbers the update-bearing messages it sends on
 * each connection exactly as the server does (sync step 2 and updates, from 1), so `Ack(n)`
 * tells which edits are durable. On reconnect its sync step 2 re-sends everything the
 * (restarted) server lacks; that message carries every edit not yet acknowledged.
 */
export class DurableClient {
  readonly doc = new Y.Doc();
  readonly name: string;
  readonly clientId: number;
  /** Edit numbers made so far: 0..edits-1. */
  edits = 0;
  readonly acked = new Set<number>();
  /** Edits that went out on some connection (as an update or inside a sync step 2). */
  readonly sent = new Set<number>();
  connects = 0;
  closes = 0;
  /** Close codes received, with how often. */
  readonly closeCodes = new Map<number, number>();
  readonly #opts: DurableClientOptions;
  #ws: WebSocket | undefined;
  #welcomed = false;
  #seq = 0;
  #inflight: Sent[] = [];
  #editing: number | undefined;
  #stopped = true;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #synced = false;

  constructor(options: DurableClientOptions) {
    this.#opts = options;
    this.name = options.doc;
    this.clientId = options.clientId;
    this.doc.clientID = options.clientId;
    // Define the root type up front: toJSON() (and so sameState) only shows defined types.
    this.doc.getMap('m');
    this.doc.on('update', this.#onLocalUpdate);
  }

  /** Map key of edit `n` of this client. */
  key(n: number): string {
    return `${this.clientId}:${n}`;
  }

  /** Connected, welcomed, and the server's sync step 2 applied. */
  get ready(): boolean {
    return this.#welcomed && this.#synced && this.#ws?.readyState === WebSocket.OPEN;
  }

  get unacked(): number {
    return this.edits - this.acked.size;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#connect();
  }

  /**
   * Stop reconnecting and close the socket (resolves once closed). By default the socket is
   * cut (what a crash or a lost network does: frames still in the send buffer may never leave);
   * `graceful` sends a close frame after everything queued, so the server receives every edit.
   */
  async stop({ graceful = false }: { graceful?: boolean } = {}): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const ws = this.#ws;
    if (ws === undefined || ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    if (graceful && ws.readyState === WebSocket.OPEN) ws.close(1000);
    else ws.terminate();
    await closed;
  }

  /** One edit: sets key `<clientId>:<n>`. Sent at once when connected, else on the next sync. */
  edit(): number {
    const n = this.edits++;
    this.#editing = n;
    try {
      this.doc.getMap('m').set(this.key(n), n);
    } finally {
      this.#editing = undefined;
    }
    return n;
  }

  destroy(): void {
    this.doc.destroy();
  }

  #connect(): void {
    if (this.#stopped) return;
    const ws = new WebSocket(`${this.#opts.url()}/${encodeURIComponent(this.name)}`, { perMessageDeflate: false });
    ws.binaryType = 'nodebuffer';
    this.#ws = ws;
    this.#welcomed = false;
    this.#synced = false;
    this.#seq = 0;
    this.#inflight = [];
    ws.on('open', () => {
      this.connects++;
      ws.send(encodeHello(SkeinFeature.DurableAcks), { binary: true });
      ws.send(encodeSyncStep1(Y.encodeStateVector(this.doc)), { binary: true });
    });
    ws.on('message', (data: Buffer) => this.#onMessage(ws, decodeMessage(new Uint8Array(data))));
    ws.on('error', () => undefined); // a 'close' always follows
    ws.on('close', (code: number) => {
      if (this.#ws !== ws) return;
      this.closes++;
      this.closeCodes.set(code, (this.closeCodes.get(code) ?? 0) + 1);
      this.#ws = undefined;
      this.#welcomed = false;
      this.#synced = false;
      this.#inflight = [];
      this.#scheduleReconnect();
    });
  }

  #scheduleReconnect(): void {
    if (this.#stopped) return;
    const min = this.#opts.minDelayMs ?? 20;
    const max = this.#opts.maxDelayMs ?? 250;
    const delay = Math.min(max, min * 2 ** Math.min(this.#failures++, 10));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#connect();
    }, delay * (0.5 + Math.random() / 2));
  }

  #onMessage(ws: WebSocket, message: Message): void {
    switch (message.type) {
      case 'skein-welcome':
        if ((message.features & SkeinFeature.DurableAcks) === 0) throw new Error('server refused durable acks');
        this.#welcomed = true;
        return;
      case 'sync-step1': {
        // Everything the server lacks; it carries (or the server already holds) every unacked edit.
        const pending: number[] = [];
        for (let n = 0; n < this.edits; n++) if (!this.acked.has(n)) pending.push(n);
        this.#send(ws, encodeSyncStep2(Y.encodeStateAsUpdate(this.doc, message.stateVector)), pending);
        return;
      }
      case 'sync-step2':
        Y.applyUpdate(this.doc, message.update, REMOTE);
        this.#synced = true;
        this.#failures = 0;
        return;
      case 'sync-update':
        Y.applyUpdate(this.doc, message.update, REMOTE);
        return;
      case 'skein-ack':
        this.#onAck(message.seq);
        return;
      case 'awareness':
      case 'query-awareness':
      case 'auth-denied':
      case 'skein-hello':
        return;
    }
  }

  #onAck(seq: number): void {
    while (this.#inflight.length > 0 && (this.#inflight[0]?.seq ?? Infinity) <= seq) {
      for (const n of this.#inflight.shift()?.edits ?? []) this.acked.add(n);
    }
  }

  #send(ws: WebSocket, frame: Uint8Array, edits: readonly number[]): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(frame, { binary: true });
    this.#inflight.push({ seq: ++this.#seq, edits });
    for (const n of edits) this.sent.add(n);
  }

  #onLocalUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === REMOTE) return;
    const ws = this.#ws;
    // Before the socket is open the update waits for the sync step 2 of the next connection.
    if (ws === undefined || ws.readyState !== WebSocket.OPEN) return;
    this.#send(ws, encodeSyncUpdate(update), this.#editing === undefined ? [] : [this.#editing]);
  };
}
