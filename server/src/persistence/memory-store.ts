import { SkeinError } from '../errors/skein-error.js';
import type { DocumentStore, StoredInspection } from './store.js';
import { compactUpdates } from './compaction.js';

/** A document's log is folded into one update once it holds this many. */
const COMPACT_AFTER = 500;

/**
 * A real, in-process store: updates live in a Map for the life of the process. Used when
 * `storage` is `memory`; durable only as long as the process lives.
 */
export class MemoryStore implements DocumentStore {
  readonly #docs = new Map<string, Uint8Array[]>();
  #closed = false;

  load(name: string): Promise<readonly Uint8Array[]> {
    if (this.#closed) return Promise.reject(closedError());
    return Promise.resolve([...(this.#docs.get(name) ?? [])]);
  }

  /** Loading from memory has no side effects: `inspect` is `load`. */
  async inspect(name: string): Promise<StoredInspection> {
    return { updates: await this.load(name), damagedRecords: 0 };
  }

  append(name: string, update: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    let log = this.#docs.get(name);
    if (log === undefined) {
      log = [];
      this.#docs.set(name, log);
    }
    // Copy: the caller's buffer may be a view into a pooled socket buffer.
    log.push(Uint8Array.prototype.slice.call(update));
    // Bounded memory: fold the log like the LevelDB store's compaction (deleted content is
    // dropped; anything pending is kept losslessly).
    if (log.length >= COMPACT_AFTER) this.#docs.set(name, [compactUpdates(log)]);
    return Promise.resolve();
  }

  flush(_name: string): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  /** Names of every stored document (for tests and the read model). */
  names(): string[] {
    return [...this.#docs.keys()];
  }
}

function closedError(): SkeinError {
  return new SkeinError('SKEIN_ERR_STORAGE_CLOSED', 'the store is closed');
}
