/**
 * Transaction origins. Every change applied to a server-side Y.Doc carries one, so that a
 * listener can tell where a change came from: storage loads are never re-persisted, cluster
 * updates are never re-published, and an update is never echoed to the peer that sent it.
 */
export interface Peer {
  /** Unique per process, for logs and origin checks. */
  readonly id: number;
  /** Queue a message for this peer. Must not throw; a dead peer drops it. */
  send(message: Uint8Array): void;
  /** Close the peer's session (the document was deleted). Must not throw. Absent: nothing to close. */
  close?(code: number, reason: string): void;
}

/**
 * `user` (client and local writes): who made the change (a token's `sub`), when known; it names
 * the editors in `document.changed` events (events.ts).
 */
export type Origin =
  | { readonly source: 'client'; readonly peer: Peer; readonly user?: string }
  | { readonly source: 'storage' }
  | { readonly source: 'cluster'; readonly nodeId: string }
  | { readonly source: 'local'; readonly user?: string }
  /** `POST /api/v1/docs/{name}/update`, by the authenticated user. */
  | { readonly source: 'api'; readonly user: string }
  /** A version restore (history/): the forward update that makes the document equal a version. */
  | { readonly source: 'history'; readonly versionId: number };

/** Who submits a change (every origin but a storage load). */
export type WriteSource = Exclude<Origin, { readonly source: 'storage' }>;

export const STORAGE_ORIGIN: Origin = Object.freeze({ source: 'storage' });

export function clientOrigin(peer: Peer, user?: string): WriteSource {
  return user === undefined ? { source: 'client', peer } : { source: 'client', peer, user };
}

export function isOrigin(value: unknown): value is Origin {
  return typeof value === 'object' && value !== null && 'source' in value;
}

/** The peer that caused a change, when the change came from a client. */
export function originPeer(origin: unknown): Peer | undefined {
  return isOrigin(origin) && origin.source === 'client' ? origin.peer : undefined;
}
