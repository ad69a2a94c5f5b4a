import type { LocalStore, LocalStoreBatch, StoredEntry } from './local-store.js';

/**
 * A `LocalStore` in memory: lost with the process or tab, but real, shareable code (several
 * providers may share one instance, like tabs sharing IndexedDB). Bytes are copied in and out.
 */
export class MemoryLocalStore implements LocalStore {
  readonly #docs = new Map<string, Map<string, StoredEntry>>();
  #closed = false;

  load(doc: string): Promise<StoredEntry[]> {
    if (this.#closed) return Promise.reject(new Error('MemoryLocalStore is closed'));
    const entries = [...(this.#docs.get(doc)?.values() ?? [])]
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((e) => ({ key: e.key, kind: e.kind, bytes: e.bytes.slice() }));
    return Promise.resolve(entries);
  }

  write(doc: string, batch: LocalStoreBatch): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('MemoryLocalStore is closed'));
    let entries = this.#docs.get(doc);
    if (entries === undefined) {
      entries = new Map();
      this.#docs.set(doc, entries);
    }
    for (const key of batch.delete ?? []) entries.delete(key);
    for (const e of batch.put ?? []) entries.set(e.key, { key: e.key, kind: e.kind, bytes: e.bytes.slice() });
    if (entries.size === 0) this.#docs.delete(doc);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
