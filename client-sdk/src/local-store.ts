/**
 * The local store behind the provider's outbox and replica: a dumb keyed store with atomic
 * batches. The policy (what to write, when to merge) lives in the outbox; a store only keeps
 * bytes. Several providers (browser tabs) may share one store concurrently: keys are unique
 * per writer, and every batch deletes only keys its writer has read, so concurrent writers
 * can duplicate content (harmless: Yjs updates are idempotent) but never lose it.
 */

/** `pending`: a local update not yet acknowledged durable. `replica`: known-durable state. */
export type EntryKind = 'pending' | 'replica';

/** One stored record of a document. */
export interface StoredEntry {
  /** Unique for ever within the document (never reused). */
  readonly key: string;
  readonly kind: EntryKind;
  /** A Yjs update (v1 encoding). */
  readonly bytes: Uint8Array;
}

/** Deletes and puts applied together, atomically. */
export interface LocalStoreBatch {
  readonly put?: readonly StoredEntry[];
  readonly delete?: readonly string[];
}

/** A local store for one or many documents. Implementations: `MemoryLocalStore`, `IndexedDbStore`. */
export interface LocalStore {
  /**
   * The name of a `BroadcastChannel` on which providers sharing this store (e.g. tabs of one
   * origin) tell each other that a document's entries changed. Omit for a private store.
   */
  readonly channelName?: string | undefined;
  /**
   * Every entry of `doc`, in key order. Rejects on a read failure (never returns `[]` for an
   * unreadable store).
   */
  load(doc: string): Promise<StoredEntry[]>;
  /** Apply `batch` to `doc` atomically: all of it or none. Deleting a missing key is a no-op. */
  write(doc: string, batch: LocalStoreBatch): Promise<void>;
  /** Release the store's handles. Further calls reject. */
  close(): Promise<void>;
}
