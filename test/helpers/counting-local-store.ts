import type { LocalStore, LocalStoreBatch, StoredEntry } from '@skein/client';

/** A `LocalStore` wrapper that counts writes (to prove "opening without edits writes nothing"). */
export class CountingLocalStore implements LocalStore {
  readonly inner: LocalStore;
  writes = 0;
  loads = 0;

  constructor(inner: LocalStore) {
    this.inner = inner;
  }

  get channelName(): string | undefined {
    return this.inner.channelName;
  }

  load(doc: string): Promise<StoredEntry[]> {
    this.loads++;
    return this.inner.load(doc);
  }

  write(doc: string, batch: LocalStoreBatch): Promise<void> {
    this.writes++;
    return this.inner.write(doc, batch);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
