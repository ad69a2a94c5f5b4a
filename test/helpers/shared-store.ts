import { MemoryStore, type DocumentStore } from '@skein/server';

/**
 * A server `DocumentStore` that outlives server restarts in one process: `close()` (called by
 * `server.close()`) only stops this handle; the data stays in the shared `MemoryStore`, so a
 * new server on the same port can be started with `store.reopen()`.
 */
export class SharedMemoryStore implements DocumentStore {
  readonly inner: MemoryStore;
  #closed = false;

  constructor(inner: MemoryStore = new MemoryStore()) {
    this.inner = inner;
  }

  /** A fresh handle on the same data (for the next server). */
  reopen(): SharedMemoryStore {
    return new SharedMemoryStore(this.inner);
  }

  load(name: string): Promise<readonly Uint8Array[]> {
    if (this.#closed) return Promise.reject(new Error('closed'));
    return this.inner.load(name);
  }

  append(name: string, update: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('closed'));
    return this.inner.append(name, update);
  }

  flush(name: string): Promise<void> {
    return this.inner.flush(name);
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
