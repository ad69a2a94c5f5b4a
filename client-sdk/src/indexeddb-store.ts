import { wrap, type DBSchema, type IDBPDatabase } from 'idb';
import type { EntryKind, LocalStore, LocalStoreBatch, StoredEntry } from './local-store.js';

const STORE = 'entries';
const BY_DOC = 'doc';
const VERSION = 1;

interface Row {
  doc: string;
  key: string;
  kind: EntryKind;
  bytes: Uint8Array;
}

interface SkeinSchema extends DBSchema {
  entries: { key: [string, string]; value: Row; indexes: { doc: string } };
}

/** Options of {@link IndexedDbStore}. */
export interface IndexedDbStoreOptions {
  /** The IndexedDB database name. Default `"skein"`. One database holds every document. */
  readonly dbName?: string;
  /**
   * The IndexedDB factory. Default `globalThis.indexedDB`. (idb checks values against the
   * global IDB classes, so those must exist, as in browsers or with `fake-indexeddb/auto`.)
   */
  readonly indexedDB?: IDBFactory;
}

/**
 * A `LocalStore` in IndexedDB (browsers): one object store keyed by `[doc, key]` with an
 * index on `doc`. Every batch is one `readwrite` transaction, so it is atomic, and tabs of
 * one origin can share the database safely. Opens lazily; reopens if another tab's version
 * upgrade closed it.
 */
export class IndexedDbStore implements LocalStore {
  readonly channelName: string;
  readonly #dbName: string;
  readonly #factory: IDBFactory | undefined;
  #db: Promise<IDBPDatabase<SkeinSchema>> | undefined;
  #closed = false;

  constructor(options: IndexedDbStoreOptions = {}) {
    this.#dbName = options.dbName ?? 'skein';
    this.#factory = options.indexedDB;
    this.channelName = `skein-client:${this.#dbName}`;
  }

  async load(doc: string): Promise<StoredEntry[]> {
    const db = await this.#open();
    const rows = await db.getAllFromIndex(STORE, BY_DOC, doc);
    return rows.map((r) => ({ key: r.key, kind: r.kind, bytes: r.bytes }));
  }

  async write(doc: string, batch: LocalStoreBatch): Promise<void> {
    const db = await this.#open();
    const tx = db.transaction(STORE, 'readwrite');
    const ops: Promise<unknown>[] = [];
    try {
      for (const key of batch.delete ?? []) ops.push(tx.store.delete([doc, key]));
      for (const e of batch.put ?? []) ops.push(tx.store.put({ doc, key: e.key, kind: e.kind, bytes: e.bytes }));
    } catch (err) {
      // A request that throws (e.g. DataCloneError) does not abort the transaction by itself:
      // without this, the requests already made would commit and the batch would be half done.
      tx.abort();
      await Promise.allSettled([...ops, tx.done]);
      throw err;
    }
    // Await every request too: a failed transaction rejects them all (no unhandled rejections).
    await Promise.all([...ops, tx.done]);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const db = this.#db;
    this.#db = undefined;
    if (db !== undefined) (await db.catch(() => undefined))?.close();
  }

  #open(): Promise<IDBPDatabase<SkeinSchema>> {
    if (this.#closed) return Promise.reject(new Error('IndexedDbStore is closed'));
    this.#db ??= this.#connect();
    return this.#db;
  }

  async #connect(): Promise<IDBPDatabase<SkeinSchema>> {
    const factory = this.#factory ?? globalThis.indexedDB;
    const request = factory.open(this.#dbName, VERSION);
    request.onupgradeneeded = () => {
      const raw = request.result;
      if (!raw.objectStoreNames.contains(STORE)) {
        raw.createObjectStore(STORE, { keyPath: ['doc', 'key'] }).createIndex(BY_DOC, 'doc');
      }
    };
    let db: IDBPDatabase<SkeinSchema> | undefined;
    try {
      db = (await wrap(request)) as IDBPDatabase<SkeinSchema> | undefined;
    } catch (err) {
      this.#db = undefined;
      throw err;
    }
    if (db === undefined) {
      this.#db = undefined;
      throw new Error(`IndexedDB database ${this.#dbName} could not be opened`);
    }
    const opened = db;
    // Another tab upgrades the schema: let it, and reopen on our next use.
    opened.addEventListener('versionchange', () => {
      opened.close();
      this.#db = undefined;
    });
    if (this.#closed) {
      opened.close();
      throw new Error('IndexedDbStore is closed');
    }
    return opened;
  }
}
