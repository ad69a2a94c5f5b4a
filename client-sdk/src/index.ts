/**
 * @skein/client: an offline-first Yjs provider for Skein.
 *
 * `SkeinProvider` syncs a `Y.Doc` over WebSocket, stores every local update in a local
 * outbox (IndexedDB in browsers) before sending it, keeps it until the server acknowledges
 * it durable, and reports `saved` exactly when nothing is pending. See README.md.
 */
export { SkeinProvider } from './provider.js';
export { SkeinConnection } from './connection.js';
export type { SkeinConnectionOptions } from './connection.js';
export type { SkeinProviderOptions, SkeinProviderEvents, SkeinLogEvent } from './provider.js';
export type { SkeinStatus, ConnectionState, PendingUpdates } from './status.js';
export { SkeinClientError, CLIENT_ERRORS } from './errors.js';
export type { ClientErrorCode } from './errors.js';
export type { LocalStore, LocalStoreBatch, StoredEntry, EntryKind } from './local-store.js';
export { MemoryLocalStore } from './memory-store.js';
export { IndexedDbStore } from './indexeddb-store.js';
export type { IndexedDbStoreOptions } from './indexeddb-store.js';
export { backoffDelay } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export { defaultTimers } from './timers.js';
export type { Timers } from './timers.js';
export type { NetworkEvents } from './environment.js';
export type { WebSocketLike, WebSocketConstructor } from './websocket.js';
export { isPermanentClose, CLIENT_TIMEOUT_CLOSE_CODE } from './session.js';
