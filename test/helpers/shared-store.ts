import type { AppendOptions, AppendResult, DocumentStore, LogStore } from '@skein/server';
import { memoryStore } from './stores.js';

/**
 * A server `DocumentStore` that outlives server restarts in one process: `close()` (called by
 * `server.close()`) only stops this handle; the data stays in the shared `memoryStore()` engine, so a
 * new server on the same port can be started with `store.reopen()`.
 */
export class SharedMemoryStore implements DocumentStore {
  readonly inner: LogStore;
  #closed = false;

  constructor(inner: LogStore = memoryStore()) {
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

  append(name: string, update: Uint8Array, options?: AppendOptions): Promise<AppendResult | undefined | void> {
    if (this.#closed) return Promise.reject(new Error('closed'));
    return this.inner.append(name, update, options);
  }

  flush(name: string): Promise<void> {
    return this.inner.flush(name);
  }

  get outbox(): LogStore['outbox'] {
    return this.inner.outbox;
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
