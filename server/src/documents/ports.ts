import type * as Y from 'yjs';
import type { Awareness } from 'y-protocols/awareness';
import type { ChangeNote } from './events.js';

/**
 * The ports of the core: what `documents/` needs from the outside, declared here so that
 * adapters (persistence, cluster, telemetry) import the core's types and the core imports
 * no adapter. The composition root (`server.ts`) plugs implementations in.
 */

/**
 * The contract between the document core (policy: when to load, append, unload) and a
 * storage engine (mechanism: how bytes reach a medium). The core never knows which engine
 * is behind it. Every engine passes one conformance suite (server/test/persistence).
 */
export interface DocumentStore {
  /**
   * Every stored update of the document, in the order they must be applied (a snapshot first
   * when the engine keeps one). An empty array means the document was never stored.
   *
   * Must reject (with a `SkeinError`) on any read failure: returning an empty array on error
   * would let an empty document be stored over the real one later.
   */
  load(name: string): Promise<readonly Uint8Array[]>;

  /**
   * Make `update` durable. Resolves once it is durable by the engine's rules for `name`
   * (the promise that durable acknowledgements stand on). Rejects with a `SkeinError` on
   * failure. For one document, appends settle in call order.
   *
   * With `options.replicate` the engine also writes a replication-outbox record for the
   * update in the same atomic batch (one fsync, no crash window between the log and the
   * outbox) and resolves with its outbox sequence number.
   */
  append(name: string, update: Uint8Array, options?: AppendOptions): Promise<AppendResult | void>;

  /** Resolves when every append for `name` issued before this call has settled. */
  flush(name: string): Promise<void>;

  /**
   * While `name` is loaded, its in-memory state: `state()` returns, as one update, everything
   * appended for it so far (undefined: nothing to offer now). An engine may build a snapshot
   * from it instead of merging the stored records (O(document) instead of O(updates)), after
   * checking that it covers exactly what is durable; anything else falls back to the merge.
   * Returns the function that withdraws the offer, called when the document is released; the
   * engine may read `state()` once more then (to fold the log's tail from it). Absent on
   * engines that keep no snapshots.
   */
  offerState?(name: string, state: () => Uint8Array | undefined): () => void;

  /** Flush everything, then release resources. Further calls reject. */
  close(): Promise<void>;

  /** Whether writes currently succeed; absent means always ok. */
  health?(): StoreHealthSummary;

  /** Live figures for health and metrics; absent on engines that keep none. */
  stats?(): StoreFigures;

  /**
   * Read-only look at a document, for health checks: what `load` would return (stored
   * updates, then accepted ones not yet durable), with no side effect at all — it never
   * quarantines, repairs, compacts or opens anything. Damaged records are skipped and
   * counted, left where they are. Rejects with a `SkeinError` on read failure. Absent on
   * engines that cannot promise this (the integrity scan then skips the document).
   */
  inspect?(name: string): Promise<StoredInspection>;

  /**
   * Records written with `replicate: true`, oldest first, until the replicator removes them.
   * Absent on engines that cannot carry an outbox.
   */
  readonly outbox?: ReplicationOutbox;

  /**
   * Drop every record of the document — log, snapshots, versions — in one atomic batch,
   * after the writes already queued for it; appends still pending are rejected with
   * SKEIN_ERR_DOC_DELETED. The name may be used again (a new document). Resolves false when
   * the document was never stored. Absent on engines that cannot delete.
   */
  remove?(name: string): Promise<boolean>;

  /** A page of stored documents in name order (names starting with `prefix`, after `after`). */
  list?(page: DocumentPage): Promise<StoredDocumentInfo[]>;

  /** What is stored of one document, or undefined when it was never stored. */
  describe?(name: string): Promise<StoredDocumentInfo | undefined>;

  /** Version snapshots (history/), kept beside the log. Absent on engines without them. */
  readonly versions?: VersionStore;
}

export interface DocumentPage {
  readonly prefix: string;
  /** Only names greater than this one (the cursor of the previous page). */
  readonly after?: string;
  readonly limit: number;
}

/** A stored document, as the store's metadata describes it. */
export interface StoredDocumentInfo {
  readonly name: string;
  /** Bytes stored: the snapshot plus the updates after it. */
  readonly bytes: number;
  /** Updates stored after the latest snapshot (compaction folds them in). */
  readonly updatesSinceSnapshot: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** The durability strategy the store applies to it, e.g. `immediate` or `debounced:1000:10000`. */
  readonly strategy: string;
  /** The stored state vector (Yjs encoding). */
  readonly stateVector: Uint8Array;
}

/** `named`: asked for by a user; `auto`: taken every `--history-interval` of editing; `before-restore`: taken by a restore first. */
export type VersionKind = 'named' | 'auto' | 'before-restore';

export interface VersionInfo {
  /** Per document, increasing; never reused while the document exists. */
  readonly id: number;
  readonly kind: VersionKind;
  /** Empty when none was given. */
  readonly label: string;
  /** ms since the epoch. */
  readonly createdAt: number;
  /** Who made it (a token's `sub`, `admin`, `anonymous`, or `skein` for automatic versions). */
  readonly user: string;
  /** Size of the stored state. */
  readonly bytes: number;
}

export interface NewVersion {
  readonly kind: VersionKind;
  readonly label: string;
  readonly createdAt: number;
  readonly user: string;
  /** `Y.encodeStateAsUpdate` of the document at that point. */
  readonly state: Uint8Array;
}

/**
 * Version snapshots of documents (the history port). A version is the document's full state
 * at one point, stored in the node's store beside the log — metadata and state written in one
 * atomic batch — and kept through compaction and restarts until removed.
 */
export interface VersionStore {
  /** Store a version; resolves with its metadata. Rejects with SKEIN_ERR_DOC_NOT_FOUND when the document was never stored. */
  add(name: string, version: NewVersion): Promise<VersionInfo>;
  /** Every version of the document, oldest first ([] when it has none or was never stored). */
  list(name: string): Promise<VersionInfo[]>;
  /** One version with its state, or undefined. */
  read(name: string, id: number): Promise<{ readonly info: VersionInfo; readonly state: Uint8Array } | undefined>;
  /** Remove versions (one atomic batch); unknown ids are ignored. */
  remove(name: string, ids: readonly number[]): Promise<void>;
}

export interface AppendOptions {
  /** Also write a replication-outbox record in the same atomic batch. */
  readonly replicate?: boolean;
  /**
   * The write is a change this node accepted (events.ts): a store that journals document
   * events records it in the same atomic batch. Absent for copies of other nodes' changes.
   */
  readonly change?: ChangeNote;
  /**
   * The update's end clock per client (what `Y.parseUpdateMeta(update).to` would give), when
   * the caller knows it without decoding: the document handle, which just applied the update,
   * passes its transaction's clocks, so the update is not decoded a second time on the write
   * path. Absent: the store decodes the update (and refuses one that is not an update).
   */
  readonly clocks?: ReadonlyMap<number, number>;
}

export interface AppendResult {
  /** The outbox sequence number of the update (only with `replicate: true`). */
  readonly outboxSeq?: number;
}

export interface StoredInspection {
  /** The updates `load` would return, in order. */
  readonly updates: readonly Uint8Array[];
  /** Stored records that failed verification (a `load` would quarantine them; `inspect` does not). */
  readonly damagedRecords: number;
}

/** The engine's live figures that health evaluates and telemetry exports. */
export interface StoreFigures {
  /** Accepted appends not yet durable, per strategy: the live recovery-point figure. */
  readonly pending: Readonly<Record<'immediate' | 'debounced', { readonly updates: number; readonly bytes: number }>>;
  readonly consecutiveFailures: number;
  readonly quarantinedRecords: number;
  readonly compactions: number;
  readonly compactionFailures: number;
}

export interface StoreHealthSummary {
  /** `degraded`: writes are failing and being retried; acknowledgements wait. */
  readonly status: 'ok' | 'degraded' | 'closed';
  /** Short machine-readable reasons (empty when ok). */
  readonly reasons: readonly string[];
  readonly lastErrorCode: string | null;
}

/** One queued change on its way to the cluster's shared tier. */
export interface OutboxEntry {
  readonly seq: number;
  readonly name: string;
  readonly update: Uint8Array;
}

/**
 * The durable queue between the local store and a replicator (the cluster's shared tier).
 * Entries are written by `DocumentStore.append(…, { replicate: true })` in the same batch as
 * the log records; the replicator peeks, ships, then removes them.
 */
export interface ReplicationOutbox {
  /** Entries not yet removed. */
  readonly size: number;
  /** The oldest `limit` entries on disk, in seq order. */
  peek(limit: number): Promise<OutboxEntry[]>;
  /** Drop delivered entries (a crash before this re-delivers them: merging makes that harmless). */
  remove(seqs: readonly number[]): Promise<void>;
  /** Called after each batch that added entries reached disk. Returns an unsubscribe function. */
  onAppended(listener: () => void): () => void;
}

/** When a write counts as durable: on this node's disk, or also in the cluster's shared tier. */
export type AckPolicy = 'local' | 'cluster';

/**
 * The replication port (the cluster implements it). The core hands it each loaded document
 * and asks it when a replicated write reached the shared tier; it never knows Redis.
 */
export interface Replicator {
  readonly ackPolicy: AckPolicy;
  /**
   * What sources other than the local store hold for `name` (the shared tier), fetched in
   * parallel with the local load. Must resolve (possibly with `[]`) within its own time bound
   * and never reject: an unavailable cluster must not fail local loads.
   */
  fetchRemote(name: string): Promise<readonly Uint8Array[]>;
  /**
   * The document is loaded; no peer has been answered yet. The replicator merges `remote`
   * (through `host.submit`, so it is stored like any change) and follows the document until
   * the returned replica is stopped. Must not throw.
   */
  attach(host: ReplicaHost, remote: readonly Uint8Array[]): DocumentReplica;
  /** Resolves once outbox record `outboxSeq` (and every one before it) is in the shared tier. */
  delivered(outboxSeq: number): Promise<void>;
}

/** What a replica sees of its document (implemented by the document handle). */
export interface ReplicaHost {
  readonly name: string;
  /** The live document (wakes a dormant one, `doc-body.ts`). */
  readonly doc: Y.Doc;
  readonly awareness: Awareness;
  /** The encoded state vector (never wakes the document). */
  stateVector(): Uint8Array;
  /** Apply a change received from another node: fanned out, stored locally, never re-published. */
  submit(update: Uint8Array, source: { readonly source: 'cluster'; readonly nodeId: string }): Promise<void>;
  /** Write the full state with an outbox record (the shared tier lost its copy, e.g. Redis restarted empty). */
  replicateAll(): Promise<void>;
}

/** The replicator's side of one loaded document. */
export interface DocumentReplica {
  /** A change this node accepted (client, HTTP, restore): publish it to the other nodes. */
  publish(change: Uint8Array): void;
  /** The document leaves memory: stop following it. */
  stop(): void;
}
