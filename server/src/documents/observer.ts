import type { DocumentHandle } from './document-handle.js';

/**
 * The hook through which a cluster (or any other replication module) follows the live
 * documents of this process. `documents/` defines it and never imports an implementation:
 * the composition root hands one to the registry (see `server/src/cluster/`).
 *
 * Contract:
 * - Changes the observer applies to `handle.doc` / `handle.awareness` must carry the origin
 *   `{ source: 'cluster', nodeId }` (see `origins.ts`), so that they are fanned out to every
 *   local peer, never echoed as a local peer's, and never re-published by the observer.
 * - None of these methods may throw; failures are the observer's to log and heal.
 */
export interface DocumentObserver {
  /**
   * What sources other than the local store hold for `name` (e.g. a shared durable tier),
   * fetched in parallel with the local load. Must resolve (possibly with `[]`) within its own
   * time bound and never reject: an unavailable cluster must not fail local loads.
   */
  fetchRemote(name: string): Promise<readonly Uint8Array[]>;

  /**
   * The document is hydrated from the local store; no peer has been answered yet. Changes
   * applied synchronously here reach every peer's first sync. `ctx.remote` is what
   * `fetchRemote` returned; `ctx.persist` stores a cluster-received change locally (without
   * a replication-outbox record).
   */
  onLoaded(handle: DocumentHandle, ctx: ObserverContext): void;

  /**
   * A change applied by a local client was stored with a replication-outbox record
   * (`DocumentStore.append(…, { replicate: true })` resolved with `outboxSeq`). The returned
   * promise (if any) joins the local write in deciding when the client is acknowledged (the
   * cluster's `cluster` ack policy). It must settle; a rejection fails the acknowledgement.
   */
  replicated(outboxSeq: number): Promise<void> | undefined;

  /** The document left memory (unloaded, or shut down). Only after a matching `onLoaded`. */
  onUnloaded(handle: DocumentHandle): void;
}

export interface ObserverContext {
  readonly remote: readonly Uint8Array[];
  /** Persist a change the observer applied, like a client change but not replicated again. */
  persist(update: Uint8Array): Promise<void>;
}
