import * as Y from 'yjs';
import { removeAwarenessStates, encodeAwarenessUpdate, type Awareness } from 'y-protocols/awareness';
import { Emitter } from './emitter.js';
import { CloseCode } from '@skein/protocol';
import { SkeinClientError, toClientError } from './errors.js';
import { backoffDelay } from './backoff.js';
import { defaultTimers, TimerSlot, type Timers } from './timers.js';
import { Outbox } from './outbox.js';
import { Session } from './session.js';
import { sameStatus, type ConnectionState, type SkeinStatus } from './status.js';
import { connectionUrl, fetchToken, platformWebSocket, type WebSocketConstructor } from './websocket.js';
import type { LocalStore } from './local-store.js';
import { MemoryLocalStore } from './memory-store.js';
import { IndexedDbStore } from './indexeddb-store.js';
import { CrossTab, type NetworkEvents } from './environment.js';
import { createAwareness } from './owned-awareness.js';
import type { SkeinLogEvent, SkeinProviderEvents, SkeinProviderOptions } from './provider-options.js';

export type { SkeinLogEvent, SkeinProviderEvents, SkeinProviderOptions } from './provider-options.js';

/**
 * Syncs a Y.Doc with a Skein server (or, without durable acknowledgements, any y-websocket
 * server), offline-first: every local update is stored in a local outbox before it is sent
 * and stays there until the server acknowledges it durable; the document is restored from
 * the local store on start, so edits made offline survive reloads and are sent on reconnect.
 */
export class SkeinProvider {
  /** The synced document. */
  readonly doc: Y.Doc;
  /** The document name. */
  readonly name: string;
  /** Presence states (local and remote). */
  readonly awareness: Awareness;
  /** Resolves when the local store has been read into the document. */
  readonly whenRestored: Promise<void>;
  readonly #opts: SkeinProviderOptions;
  readonly #events = new Emitter<SkeinProviderEvents>();
  readonly #timers: Timers;
  readonly #retry: TimerSlot;
  readonly #store: LocalStore;
  readonly #ownsStore: boolean;
  /** Set when the provider made the awareness: destroys it and undoes its doc listener. */
  readonly #releaseAwareness: (() => void) | undefined;
  readonly #outbox: Outbox;
  readonly #crossTab: CrossTab;
  readonly #WebSocket: WebSocketConstructor;
  /** The origin of every change received from the server. */
  readonly #serverOrigin = Object.freeze({ source: 'server' as const });
  /** The origin of every change read from the local store. */
  readonly #storeOrigin = Object.freeze({ source: 'local-store' as const });
  #session: Session | undefined;
  #shouldConnect: boolean;
  #restored = false;
  #destroyed: Promise<void> | undefined;
  #attempt = 0;
  #connectSeq = 0;
  #tokenPending = false;
  #acks: boolean | null = null;
  #lastError: SkeinClientError | null = null;
  #readOnly = false;
  #retryAt: number | null = null;
  #status: SkeinStatus;

  constructor(options: SkeinProviderOptions) {
    const WebSocketClass = options.connection?.channelClass(options.name) ?? options.WebSocket ?? platformWebSocket();
    if (WebSocketClass === undefined) throw new TypeError('SkeinProvider: no WebSocket implementation; pass options.WebSocket');
    if (options.connection === undefined && options.url === undefined) throw new TypeError('SkeinProvider: pass options.url (or options.connection)');
    this.#WebSocket = WebSocketClass;
    this.#opts = options;
    this.doc = options.doc;
    this.name = options.name;
    this.#timers = options.timers ?? defaultTimers;
    this.#retry = new TimerSlot(this.#timers);
    if (options.awareness === undefined) {
      const owned = createAwareness(options.doc);
      this.awareness = owned.awareness;
      this.#releaseAwareness = owned.release;
    } else {
      this.awareness = options.awareness;
    }
    const store = options.store ?? (typeof indexedDB === 'undefined' ? 'memory' : 'indexeddb');
    this.#ownsStore = typeof store === 'string';
    this.#store = store === 'memory' ? new MemoryLocalStore() : store === 'indexeddb' ? new IndexedDbStore() : store;
    this.#shouldConnect = options.connect ?? true;
    this.#outbox = new Outbox(this.#store, this.name, {
      absorb: (update) => Y.applyUpdate(this.doc, update, this.#storeOrigin),
      ready: (key, bytes) => this.#session?.sendUpdate(bytes, [key]),
      changed: () => this.#updateStatus(),
      error: (err) => this.#report(err),
      wrote: () => this.#crossTab.notify(),
      canMergePending: () => this.#session === undefined || this.#session.acks === false,
    }, { compactAfter: options.compactAfter ?? 32, now: () => this.#timers.now() });
    this.#crossTab = new CrossTab(options.crossTab === false ? undefined : this.#store.channelName, this.name, () => {
      void this.#outbox.refresh();
    });
    this.#status = this.#computeStatus();
    this.doc.on('update', this.#onDocUpdate);
    this.doc.on('destroy', this.#onDocDestroy);
    this.awareness.on('update', this.#onAwarenessUpdate);
    this.#network()?.addEventListener('online', this.#onOnline);
    this.whenRestored = this.#outbox.restore().then(() => {
      this.#restored = true;
      this.#updateStatus();
      this.#connect();
    });
  }

  /** The current status (also emitted as the `status` event on every change). */
  get status(): SkeinStatus {
    return this.#status;
  }

  /**
   * The server said this session may only read the document (its access token grants
   * `read`): remote changes arrive, local edits stay pending and are not sent.
   */
  get readOnly(): boolean {
    return this.#status.readOnly;
  }

  /** Listen to an event; returns the function that removes the listener. */
  on<E extends keyof SkeinProviderEvents>(event: E, listener: (...args: SkeinProviderEvents[E]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /** Remove a listener added with `on`. */
  off<E extends keyof SkeinProviderEvents>(event: E, listener: (...args: SkeinProviderEvents[E]) => void): void {
    this.#events.off(event, listener);
  }

  /** (Re)connect, also after `disconnect()` or a permanent error; resets the backoff. */
  connect(): void {
    if (this.#destroyed !== undefined) return;
    this.#shouldConnect = true;
    this.#attempt = 0;
    if (this.#session === undefined && !this.#tokenPending) this.#connect();
  }

  /** Close the connection and stop reconnecting until `connect()`. Local edits keep being stored. */
  disconnect(): void {
    this.#shouldConnect = false;
    this.#retry.clear();
    this.#connectSeq++;
    this.#tokenPending = false;
    this.#endSession();
    this.#updateStatus();
  }

  /** Resolves when every local update made so far is in the local store. */
  flush(): Promise<void> {
    return this.#outbox.drain();
  }

  /**
   * Stop for good: remove the own awareness state, close the socket, release every listener,
   * timer and channel, store the local updates still queued, then close the store if the
   * provider created it. Idempotent.
   */
  destroy(): Promise<void> {
    this.#destroyed ??= this.#destroy();
    return this.#destroyed;
  }

  async #destroy(): Promise<void> {
    // Tell the others we are gone while the socket is still open.
    removeAwarenessStates(this.awareness, [this.doc.clientID], 'destroy');
    this.doc.off('update', this.#onDocUpdate);
    this.doc.off('destroy', this.#onDocDestroy);
    this.awareness.off('update', this.#onAwarenessUpdate);
    this.#network()?.removeEventListener('online', this.#onOnline);
    this.disconnect();
    this.#crossTab.close();
    this.#releaseAwareness?.();
    this.#events.clear();
    await this.whenRestored;
    await this.#outbox.close();
    if (this.#ownsStore) await this.#store.close().catch(() => undefined);
  }

  #connect(): void {
    if (this.#destroyed !== undefined || !this.#shouldConnect || !this.#restored) return;
    if (this.#session !== undefined || this.#tokenPending) return;
    this.#retry.clear();
    const seq = ++this.#connectSeq;
    // With a shared connection the token is the connection's (asked for when it opens a socket).
    const token = this.#opts.connection === undefined ? this.#opts.token : undefined;
    if (typeof token !== 'function') {
      this.#open(token);
      return;
    }
    this.#tokenPending = true;
    this.#updateStatus();
    fetchToken(token).then(
      (value) => {
        if (seq !== this.#connectSeq) return;
        this.#tokenPending = false;
        this.#open(value);
      },
      (err: unknown) => {
        if (seq !== this.#connectSeq) return;
        this.#tokenPending = false;
        this.#afterFailure(toClientError(err, 'SKEIN_ERR_CLIENT_TOKEN_FAILED'));
      },
    );
  }

  #open(token: string | undefined): void {
    if (this.#destroyed !== undefined || !this.#shouldConnect) return;
    const url = this.#opts.connection === undefined ? connectionUrl(this.#opts.url ?? '', this.name, this.#opts.params, token) : this.name;
    const liveness = this.#opts.liveness ?? {};
    try {
      this.#session = new Session(
        {
          doc: this.doc,
          awareness: this.awareness,
          origin: this.#serverOrigin,
          prepareStep2: () => this.#outbox.refresh(),
          sendableKeys: () => this.#outbox.sendableKeys(),
          acked: (keys) => this.#outbox.settle(keys),
          changed: () => this.#onSessionChanged(),
          closed: (error) => this.#onSessionClosed(error),
          notice: (error) => this.#report(error),
        },
        {
          url,
          WebSocket: this.#WebSocket,
          timers: this.#timers,
          connectTimeoutMs: this.#opts.connectTimeoutMs ?? 10_000,
          idleMs: liveness.idleMs ?? 15_000,
          probeTimeoutMs: liveness.timeoutMs ?? 5_000,
        },
      );
    } catch (err) {
      this.#afterFailure(toClientError(err, 'SKEIN_ERR_CLIENT_CONNECT_FAILED'));
      return;
    }
    this.#updateStatus();
  }

  #onSessionChanged(): void {
    const session = this.#session;
    if (session === undefined) return;
    if (session.acks !== null) this.#acks = session.acks;
    if (session.acks !== null || session.readOnly) this.#readOnly = session.readOnly;
    if (session.synced) this.#attempt = 0;
    this.#updateStatus();
  }

  #onSessionClosed(error: SkeinClientError): void {
    this.#session = undefined;
    this.#clearRemoteAwareness();
    // An expired token is worth a retry when there is a `token` function to ask for a new one.
    const renews = this.#opts.connection?.renewsToken ?? typeof this.#opts.token === 'function';
    if (error.closeCode === CloseCode.TokenExpired && renews) {
      error = new SkeinClientError('SKEIN_ERR_CLIENT_TOKEN_EXPIRED', undefined, { closeCode: error.closeCode });
      this.#attempt = 0;
    }
    this.#afterFailure(error);
  }

  #afterFailure(error: SkeinClientError): void {
    this.#report(error);
    if (error.permanent) this.#shouldConnect = false;
    else this.#scheduleRetry();
    this.#outbox.maybeMergePending();
    this.#updateStatus();
  }

  #scheduleRetry(): void {
    if (this.#destroyed !== undefined || !this.#shouldConnect) return;
    const delay = backoffDelay(this.#attempt++, this.#opts.backoff);
    this.#retry.set(() => {
      this.#retryAt = null;
      this.#connect();
    }, delay);
    this.#retryAt = this.#timers.now() + delay;
  }

  #endSession(): void {
    const session = this.#session;
    this.#session = undefined;
    this.#retryAt = null;
    if (session === undefined) return;
    session.close(1000);
    this.#clearRemoteAwareness();
  }

  /** The server's presence states are stale once its connection is gone. */
  #clearRemoteAwareness(): void {
    const remote = [...this.awareness.getStates().keys()].filter((id) => id !== this.doc.clientID);
    if (remote.length > 0) removeAwarenessStates(this.awareness, remote, this.#serverOrigin);
    // Forget their clocks too: after a reconnect the server re-sends the same states (same
    // clocks), which the awareness would otherwise ignore as already seen.
    for (const id of [...this.awareness.meta.keys()]) if (id !== this.doc.clientID) this.awareness.meta.delete(id);
  }

  readonly #onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === this.#storeOrigin) return;
    if (origin === this.#serverOrigin) this.#outbox.addRemote(update);
    else this.#outbox.addLocal(update);
  };

  readonly #onDocDestroy = (): void => {
    void this.destroy();
  };

  readonly #onAwarenessUpdate = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    if (origin === this.#serverOrigin) return;
    const changed = [...added, ...updated, ...removed];
    if (changed.length > 0) this.#session?.sendAwareness(encodeAwarenessUpdate(this.awareness, changed));
  };

  readonly #onOnline = (): void => {
    if (this.#retry.armed) {
      this.#attempt = 0;
      this.#retryAt = null;
      this.#connect();
    }
  };

  #network(): NetworkEvents | undefined {
    if (this.#opts.network !== undefined) return this.#opts.network ?? undefined;
    const g = globalThis as Partial<NetworkEvents>;
    return typeof g.addEventListener === 'function' && typeof g.removeEventListener === 'function'
      ? (g as NetworkEvents)
      : undefined;
  }

  #report(error: SkeinClientError): void {
    this.#lastError = error;
    const event: SkeinLogEvent = { level: 'warn', message: error.message, code: error.code };
    this.#opts.logger?.(error.closeCode === undefined ? event : { ...event, closeCode: error.closeCode });
    this.#updateStatus();
  }

  #computeStatus(): SkeinStatus {
    const session = this.#session;
    let connection: ConnectionState = 'disconnected';
    if (session?.open === true) connection = 'connected';
    else if (session !== undefined || this.#tokenPending) connection = 'connecting';
    const count = this.#outbox.pendingCount;
    return Object.freeze({
      connection,
      synced: session?.synced ?? false,
      acks: this.#acks,
      restored: this.#restored,
      pendingUpdates: Object.freeze({ count, bytes: this.#outbox.pendingBytes }),
      saved: count === 0 && this.#acks === true,
      readOnly: this.#readOnly,
      reconnectAt: this.#retry.armed ? this.#retryAt : null,
      lastError: this.#lastError,
    });
  }

  #updateStatus(): void {
    const next = this.#computeStatus();
    if (sameStatus(next, this.#status)) return;
    this.#status = next;
    this.#events.emit('status', next);
  }
}

