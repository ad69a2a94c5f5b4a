import * as Y from 'yjs';
import type { LocalStore, StoredEntry } from './local-store.js';
import { SkeinClientError, toClientError } from './errors.js';

/** What the outbox needs from its provider. */
export interface OutboxHost {
  /** Apply content found in the store (a previous session, another tab) to the document. */
  absorb(update: Uint8Array): void;
  /** A pending entry may be sent: it is stored (or kept in memory after a store failure). */
  ready(key: string, bytes: Uint8Array): void;
  /** The pending counts changed. */
  changed(): void;
  /** A store operation failed (the outbox carries on; nothing acknowledged is lost). */
  error(err: SkeinClientError): void;
  /** The store's entries for this document changed (tell other tabs). */
  wrote(): void;
  /** Whether pending entries may be merged now: no connection may still acknowledge their keys. */
  canMergePending(): boolean;
}

type PendingState = 'writing' | 'stored' | 'volatile';

interface Pending {
  readonly bytes: Uint8Array;
  state: PendingState;
}

/**
 * The persistent outbox and local replica of one document, over a `LocalStore`.
 *
 * Local updates are batched (one entry per batch) and stored as `pending` before they are
 * offered for sending; an acknowledgement `settle`s entries by key: they become part of the
 * `replica` (known-durable state). Remote updates are stored as `replica`. Every store
 * operation runs on one queue, in order. Replica entries are merged into one snapshot once
 * there are `compactAfter` of them; pending entries are merged only when no connection can
 * still acknowledge them by key. Entries other tabs wrote are absorbed (applied to the
 * document and adopted) on `restore`, `refresh` and before each merge.
 */
export class Outbox {
  readonly #store: LocalStore;
  readonly #doc: string;
  readonly #host: OutboxHost;
  readonly #compactAfter: number;
  readonly #writer: string;
  readonly #now: () => number;
  #seq = 0;
  readonly #pending = new Map<string, Pending>();
  #pendingBytes = 0;
  /** Keys this outbox settled whose deletion from the store may not have happened yet. */
  readonly #settled = new Set<string>();
  /** Keys of stored entries that are not valid updates: skipped, never sent. */
  readonly #invalid = new Set<string>();
  readonly #replicaKeys = new Set<string>();
  #local: Uint8Array[] = [];
  #localBytes = 0;
  #remote: Uint8Array[] = [];
  #flushQueued = false;
  #mergeQueued = false;
  #refreshQueued: Promise<void> | undefined;
  #tail: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(store: LocalStore, doc: string, host: OutboxHost, options: { compactAfter: number; now: () => number }) {
    this.#store = store;
    this.#doc = doc;
    this.#host = host;
    this.#compactAfter = Math.max(2, options.compactAfter);
    this.#now = options.now;
    this.#writer = randomId();
  }

  /** Local updates not yet acknowledged durable: entries (a batch is one entry). */
  get pendingCount(): number {
    return this.#pending.size + (this.#local.length > 0 ? 1 : 0);
  }

  /** Bytes of the updates counted by `pendingCount`. */
  get pendingBytes(): number {
    return this.#pendingBytes + this.#localBytes;
  }

  /** Keys of pending entries that may be covered by a sync step 2 (stored or in memory). */
  sendableKeys(): string[] {
    const keys: string[] = [];
    for (const [key, p] of this.#pending) if (p.state !== 'writing') keys.push(key);
    return keys;
  }

  /** Load the document's entries, hand them to the host, and merge what can be merged. */
  restore(): Promise<void> {
    return this.#enqueue(async () => {
      const entries = await this.#load();
      if (entries === undefined) return;
      this.#absorb(entries);
      await this.#mergeReplica(entries);
      if (this.#host.canMergePending()) await this.#mergePending(entries);
    });
  }

  /** Queue a local update: stored as pending, then offered for sending. */
  addLocal(update: Uint8Array): void {
    if (this.#closed) return;
    this.#local.push(update);
    this.#localBytes += update.byteLength;
    this.#scheduleFlush();
    this.#host.changed();
  }

  /** Queue an update received from the server, to keep the local replica current. */
  addRemote(update: Uint8Array): void {
    if (this.#closed) return;
    this.#remote.push(update);
    this.#scheduleFlush();
  }

  /** Entries acknowledged durable by the server: no longer pending. Unknown keys are ignored. */
  settle(keys: readonly string[]): void {
    const bytes: Uint8Array[] = [];
    const remove: string[] = [];
    for (const key of keys) {
      const p = this.#pending.get(key);
      if (p === undefined || p.state === 'writing') continue;
      this.#pending.delete(key);
      this.#pendingBytes -= p.bytes.byteLength;
      bytes.push(p.bytes);
      if (p.state === 'stored') {
        remove.push(key);
        this.#settled.add(key);
      }
    }
    if (bytes.length === 0) return;
    this.#host.changed();
    if (this.#closed) return;
    const replica: StoredEntry = { key: this.#newKey(), kind: 'replica', bytes: merge(bytes) };
    void this.#enqueue(async () => {
      try {
        await this.#store.write(this.#doc, { delete: remove, put: [replica] });
        this.#replicaKeys.add(replica.key);
        this.#host.wrote();
      } catch (err) {
        // The entries stay pending in the store: found again by a refresh, re-sent, re-acked.
        this.#host.error(toClientError(err, 'SKEIN_ERR_CLIENT_LOCAL_STORE_WRITE'));
      } finally {
        for (const key of remove) this.#settled.delete(key);
      }
    });
    this.#maybeMergeReplica();
  }

  /**
   * Adopt entries other writers (tabs) added or removed. Runs after every queued write, so
   * when it resolves every local update queued before the call is stored.
   */
  refresh(): Promise<void> {
    if (this.#closed) return this.#tail;
    this.#refreshQueued ??= this.#enqueue(async () => {
      this.#refreshQueued = undefined;
      const entries = await this.#load();
      if (entries !== undefined) this.#absorb(entries);
    });
    return this.#refreshQueued;
  }

  /** Merge pending entries when there are many and the host allows it. */
  maybeMergePending(): void {
    if (this.#closed || this.#mergeQueued || this.#pending.size < this.#compactAfter) return;
    if (!this.#host.canMergePending()) return;
    this.#queueMerge(async (entries) => {
      if (this.#host.canMergePending()) await this.#mergePending(entries);
    });
  }

  /** Resolves when every queued store operation has finished. */
  drain(): Promise<void> {
    return this.#tail;
  }

  /** Store what is queued, then accept nothing more. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      // Anything still buffered is written by the flush already queued for it.
    }
    await this.#tail;
  }

  #enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.#tail.then(op);
    this.#tail = run.catch((err: unknown) => this.#host.error(toClientError(err, 'SKEIN_ERR_CLIENT_LOCAL_STORE_WRITE')));
    return this.#tail;
  }

  #scheduleFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    void this.#enqueue(() => this.#flush());
  }

  async #flush(): Promise<void> {
    this.#flushQueued = false;
    const put: StoredEntry[] = [];
    let local: StoredEntry | undefined;
    if (this.#local.length > 0) {
      local = { key: this.#newKey(), kind: 'pending', bytes: merge(this.#local) };
      this.#local = [];
      this.#localBytes = 0;
      this.#pending.set(local.key, { bytes: local.bytes, state: 'writing' });
      this.#pendingBytes += local.bytes.byteLength;
      put.push(local);
    }
    let replica: StoredEntry | undefined;
    if (this.#remote.length > 0) {
      replica = { key: this.#newKey(), kind: 'replica', bytes: merge(this.#remote) };
      this.#remote = [];
      put.push(replica);
    }
    if (put.length === 0) return;
    let failed = false;
    try {
      await this.#store.write(this.#doc, { put });
      if (replica !== undefined) this.#replicaKeys.add(replica.key);
      this.#host.wrote();
    } catch (err) {
      failed = true;
      this.#host.error(toClientError(err, 'SKEIN_ERR_CLIENT_LOCAL_STORE_WRITE'));
    }
    if (local !== undefined) {
      const p = this.#pending.get(local.key);
      if (p !== undefined) {
        // Not stored: keep it in memory and send it anyway; an ack still removes it.
        p.state = failed ? 'volatile' : 'stored';
        this.#host.ready(local.key, local.bytes);
      }
    }
    this.#maybeMergeReplica();
    this.maybeMergePending();
  }

  async #load(): Promise<StoredEntry[] | undefined> {
    try {
      return await this.#store.load(this.#doc);
    } catch (err) {
      this.#host.error(toClientError(err, 'SKEIN_ERR_CLIENT_LOCAL_STORE_READ'));
      return undefined;
    }
  }

  /** Apply and adopt entries not known yet; forget stored pending entries that are gone. */
  #absorb(entries: readonly StoredEntry[]): void {
    const present = new Set<string>();
    let fresh: StoredEntry[] = [];
    for (const e of entries) {
      present.add(e.key);
      if (this.#settled.has(e.key) || this.#invalid.has(e.key)) continue;
      if (e.kind === 'pending' ? !this.#pending.has(e.key) : !this.#replicaKeys.has(e.key)) fresh.push(e);
    }
    let changed = false;
    for (const [key, p] of this.#pending) {
      // Gone from the store: another writer settled it (after an ack) or merged it into a new entry.
      if (p.state === 'stored' && !present.has(key)) {
        this.#pending.delete(key);
        this.#pendingBytes -= p.bytes.byteLength;
        changed = true;
      }
    }
    for (const key of this.#replicaKeys) if (!present.has(key)) this.#replicaKeys.delete(key);
    if (fresh.length > 0) {
      let update: Uint8Array;
      try {
        update = merge(fresh.map((e) => e.bytes));
      } catch {
        const valid = fresh.filter((e) => isValidUpdate(e.bytes));
        for (const e of fresh) if (!valid.includes(e)) this.#invalid.add(e.key);
        fresh = valid;
        this.#host.error(new SkeinClientError('SKEIN_ERR_CLIENT_LOCAL_STORE_READ', 'a stored entry is not a valid Yjs update; it was skipped'));
        update = merge(fresh.map((e) => e.bytes));
      }
      this.#host.absorb(update);
      for (const e of fresh) {
        if (e.kind === 'replica') {
          this.#replicaKeys.add(e.key);
        } else {
          this.#pending.set(e.key, { bytes: e.bytes, state: 'stored' });
          this.#pendingBytes += e.bytes.byteLength;
          changed = true;
        }
      }
      for (const e of fresh) if (e.kind === 'pending') this.#host.ready(e.key, e.bytes);
    }
    if (changed) this.#host.changed();
  }

  #maybeMergeReplica(): void {
    if (this.#closed || this.#mergeQueued || this.#replicaKeys.size < this.#compactAfter) return;
    this.#queueMerge((entries) => this.#mergeReplica(entries));
  }

  /** One merge at a time, in the store queue, on freshly loaded entries. */
  #queueMerge(merge: (entries: StoredEntry[]) => Promise<void>): void {
    this.#mergeQueued = true;
    void this.#enqueue(async () => {
      this.#mergeQueued = false;
      const entries = await this.#load();
      if (entries === undefined) return;
      this.#absorb(entries);
      await merge(entries);
    });
  }

  /** Merge the replica entries read in `entries` into one (deletes only what it read). */
  async #mergeReplica(entries: readonly StoredEntry[]): Promise<void> {
    const replicas = entries.filter((e) => e.kind === 'replica' && this.#replicaKeys.has(e.key));
    if (replicas.length < 2) return;
    const snapshot: StoredEntry = { key: this.#newKey(), kind: 'replica', bytes: merge(replicas.map((e) => e.bytes)) };
    const keys = replicas.map((e) => e.key);
    await this.#store.write(this.#doc, { delete: keys, put: [snapshot] });
    for (const key of keys) this.#replicaKeys.delete(key);
    this.#replicaKeys.add(snapshot.key);
    this.#host.wrote();
  }

  /** Merge the stored pending entries read in `entries` into one new pending entry. */
  async #mergePending(entries: readonly StoredEntry[]): Promise<void> {
    const pending = entries.filter((e) => e.kind === 'pending' && this.#pending.get(e.key)?.state === 'stored');
    if (pending.length < 2) return;
    const merged: StoredEntry = { key: this.#newKey(), kind: 'pending', bytes: merge(pending.map((e) => e.bytes)) };
    const keys = pending.map((e) => e.key);
    await this.#store.write(this.#doc, { delete: keys, put: [merged] });
    for (const key of keys) {
      const p = this.#pending.get(key);
      if (p === undefined) continue;
      this.#pending.delete(key);
      this.#pendingBytes -= p.bytes.byteLength;
    }
    this.#pending.set(merged.key, { bytes: merged.bytes, state: 'stored' });
    this.#pendingBytes += merged.bytes.byteLength;
    this.#host.changed();
    this.#host.wrote();
  }

  /** Unique for ever: time, this writer's random id, a counter. Sorts by time first. */
  #newKey(): string {
    const time = Math.max(0, Math.floor(this.#now())).toString(36).padStart(9, '0');
    return `${time}-${this.#writer}-${(this.#seq++).toString(36).padStart(6, '0')}`;
  }
}

function merge(updates: readonly Uint8Array[]): Uint8Array {
  if (updates.length === 1 && updates[0] !== undefined) return updates[0];
  return Y.mergeUpdates(updates as Uint8Array[]);
}

function isValidUpdate(bytes: Uint8Array): boolean {
  try {
    Y.decodeUpdate(bytes);
    return true;
  } catch {
    return false;
  }
}

function randomId(): string {
  const bytes = new Uint8Array(8);
  const crypto = globalThis.crypto as Crypto | undefined;
  if (crypto?.getRandomValues !== undefined) crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (b) => b.toString(36).padStart(2, '0')).join('');
}
