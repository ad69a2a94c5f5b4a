import type { SkeinClientError } from './errors.js';

/** The state of the WebSocket connection. */
export type ConnectionState = 'connecting' | 'connected' | 'disconnected';

/** Local updates not yet acknowledged durable by the server. */
export interface PendingUpdates {
  /** Outbox entries (a burst of local updates is batched into one entry). */
  readonly count: number;
  /** Their size in bytes. */
  readonly bytes: number;
}

/** A snapshot of the provider's state, emitted as the `status` event whenever it changes. */
export interface SkeinStatus {
  /** `connected` once the socket is open (see `synced` for the initial sync). */
  readonly connection: ConnectionState;
  /** The server's state has been received on the current connection. */
  readonly synced: boolean;
  /**
   * Whether the server acknowledges durable writes: `true` (Skein), `false` (e.g. a plain
   * y-websocket server: edits are sent but never confirmed, so `saved` stays `false`), `null`
   * until the first connection has told. Kept from the last connection while disconnected.
   */
  readonly acks: boolean | null;
  /** The local store has been read into the document. */
  readonly restored: boolean;
  /** Local updates not yet acknowledged durable. Never drifts: derived from the outbox keys. */
  readonly pendingUpdates: PendingUpdates;
  /** True exactly when nothing is pending and the server acknowledges durable writes. */
  readonly saved: boolean;
  /**
   * The server said this session may only read (its access token grants `read`): local edits
   * are kept pending, not sent. Kept from the last connection while disconnected.
   */
  readonly readOnly: boolean;
  /** When the next connection attempt is due (`Timers.now()` time), or `null` if none is scheduled. */
  readonly reconnectAt: number | null;
  /**
   * The last error (not cleared by later success). When `lastError.permanent` is true and
   * `reconnectAt` is null, the provider has stopped reconnecting; call `connect()` to retry.
   */
  readonly lastError: SkeinClientError | null;
}

export function sameStatus(a: SkeinStatus, b: SkeinStatus): boolean {
  return (
    a.connection === b.connection &&
    a.synced === b.synced &&
    a.acks === b.acks &&
    a.restored === b.restored &&
    a.pendingUpdates.count === b.pendingUpdates.count &&
    a.pendingUpdates.bytes === b.pendingUpdates.bytes &&
    a.saved === b.saved &&
    a.readOnly === b.readOnly &&
    a.reconnectAt === b.reconnectAt &&
    a.lastError === b.lastError
  );
}
