import type * as Y from 'yjs';
import type { Awareness } from 'y-protocols/awareness';
import type { BackoffOptions } from './backoff.js';
import type { Timers } from './timers.js';
import type { LocalStore } from './local-store.js';
import type { NetworkEvents } from './environment.js';
import type { SkeinStatus } from './status.js';
import type { WebSocketConstructor } from './websocket.js';
import type { SkeinConnection } from './connection.js';

/** Options of `SkeinProvider`. */
export interface SkeinProviderOptions {
  /**
   * The server's WebSocket URL, e.g. `wss://sync.example.com`; the document name is appended as
   * a path. Not needed (and not used) with `connection`.
   */
  readonly url?: string;
  /**
   * Share one socket with other providers (`SkeinConnection`, the multiplexed sub-protocol):
   * this document becomes a channel on it. `url`, `token`, `params` and `WebSocket` are then
   * the connection's; the provider's are not used.
   */
  readonly connection?: SkeinConnection;
  /** The document name. */
  readonly name: string;
  /** The document to sync. The provider never destroys it. */
  readonly doc: Y.Doc;
  /**
   * Sent as the `token` query parameter of every connection. A function is called before
   * each attempt, so it can refresh an expiring token; if it throws, the attempt is retried
   * with backoff (`SKEIN_ERR_CLIENT_TOKEN_FAILED`).
   */
  readonly token?: string | (() => string | Promise<string>);
  /** Extra query parameters of the connection URL. */
  readonly params?: Readonly<Record<string, string>>;
  /** Presence. Default: a new `Awareness(doc)`, destroyed with the provider. */
  readonly awareness?: Awareness;
  /**
   * Where the outbox and replica live. `'indexeddb'` / `'memory'`: a store the provider
   * creates and closes. A `LocalStore` object is the caller's: the provider never closes it.
   * Default: `'indexeddb'` where IndexedDB exists, else `'memory'`.
   */
  readonly store?: LocalStore | 'indexeddb' | 'memory';
  /** The WebSocket class. Default: `globalThis.WebSocket` (pass `ws` in Node < 22). */
  readonly WebSocket?: WebSocketConstructor;
  /** Connect as soon as the local store is read. Default true. */
  readonly connect?: boolean;
  /** Reconnect backoff (full jitter). Default 250 ms doubling up to 30 s. */
  readonly backoff?: BackoffOptions;
  /** Give up on a socket that has not opened after this long. Default 10 000 ms. */
  readonly connectTimeoutMs?: number;
  /**
   * Liveness: after `idleMs` without any message the provider sends a probe (a sync step 1);
   * with no answer within `timeoutMs` it drops the connection and reconnects. A frozen
   * server is detected within `idleMs + timeoutMs`. Default 15 000 + 5 000 ms.
   */
  readonly liveness?: { readonly idleMs?: number; readonly timeoutMs?: number };
  /** Clock and timers. Default: the platform's. */
  readonly timers?: Timers;
  /** Source of the `online` event (reconnect at once). Default: `globalThis` where it has events; `null` disables. */
  readonly network?: NetworkEvents | null;
  /** Tell other tabs sharing the store about outbox changes (`BroadcastChannel`). Default true. */
  readonly crossTab?: boolean;
  /** Merge stored entries once this many accumulate. Default 32. */
  readonly compactAfter?: number;
  /** Diagnostics (no payloads, no tokens). */
  readonly logger?: (event: SkeinLogEvent) => void;
}

/** A diagnostic event passed to the `logger` option. */
export interface SkeinLogEvent {
  readonly level: 'debug' | 'warn';
  readonly message: string;
  readonly code?: string;
  readonly closeCode?: number;
}

/** Events of {@link SkeinProvider}. */
export interface SkeinProviderEvents extends Record<string, unknown[]> {
  /** The status changed. */
  status: [status: SkeinStatus];
}
