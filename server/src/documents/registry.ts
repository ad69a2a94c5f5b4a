import * as Y from 'yjs';
import type { Logger } from '../telemetry/logger.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { DocumentStore } from '../persistence/store.js';
import { SkeinError, toSkeinError } from '../errors/skein-error.js';
import { DocumentHandle } from './document-handle.js';
import type { Peer } from './origins.js';
import type { DocumentObserver } from './observer.js';

export interface RegistryOptions {
  readonly store: DocumentStore;
  readonly logger: Logger;
  /** How long a document without peers stays loaded. */
  readonly unloadDelayMs: number;
  /** A load slower than this fails with SKEIN_ERR_DOC_LOAD_TIMEOUT. */
  readonly loadTimeoutMs: number;
  /** Upper bound for the retry delay of a failed unload flush. */
  readonly maxUnloadRetryMs?: number;
  /**
   * Optional replication hook (the cluster). Absent: a single node, nothing else changes.
   * See `observer.ts` for its contract.
   */
  readonly observer?: DocumentObserver;
  /** Spans and metrics of document loads (docs/observability.md). */
  readonly telemetry?: Telemetry;
}

interface Entry {
  readonly handle: DocumentHandle;
  /** Settles when the load finished (resolves) or failed (rejects). */
  loaded: Promise<void>;
  /** Resolves when the handle is closed and gone from the registry. */
  readonly closed: Promise<void>;
  readonly resolveClosed: () => void;
  readonly writes: Set<Promise<void>>;
  /** The latest append; appends settle in order, so it settles after all earlier ones. */
  lastWrite: Promise<void>;
  /** A write failed: the in-memory state must be stored in full before unloading. */
  dirty: boolean;
  unloadTimer: NodeJS.Timeout | undefined;
  /** The unload in progress; settles when it closed the document or gave up (flush failed). */
  unloading: Promise<void> | undefined;
  unloadFailures: number;
  /** The observer saw `onLoaded` (so it must see `onUnloaded`). */
  observed: boolean;
}

/**
 * The live documents of this process. Single-flight load (concurrent opens share one load),
 * a load barrier (nothing is applied or answered before the load completes), reference
 * counting by attached peers, delayed unload, and no trace of a failed load.
 *
 * The load/store/unload race is closed by construction: an open that finds its document
 * unloading waits until the unload has settled: when it flushed and closed the document the
 * open loads afresh from storage; when the flush failed the document stayed in memory and the
 * open attaches to it.
 */
export class DocumentRegistry {
  readonly #entries = new Map<string, Entry>();
  readonly #opts: RegistryOptions;
  #closing = false;

  constructor(options: RegistryOptions) {
    this.#opts = options;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Names of loaded documents (any state but closed). */
  names(): string[] {
    return [...this.#entries.keys()];
  }

  get(name: string): DocumentHandle | undefined {
    return this.#entries.get(name)?.handle;
  }

  /** Timers currently pending (unload delays); for leak checks. */
  get pendingTimers(): number {
    let n = 0;
    for (const e of this.#entries.values()) if (e.unloadTimer !== undefined) n++;
    return n;
  }

  /** Attach `peer` to the document, loading it first if needed. Rejects with a SkeinError. */
  async open(name: string, peer: Peer): Promise<DocumentHandle> {
    for (;;) {
      if (this.#closing) throw new SkeinError('SKEIN_ERR_SHUTTING_DOWN');
      const entry = this.#entries.get(name) ?? this.#startLoad(name);
      if (entry.handle.state === 'unloading') {
        await (entry.unloading ?? entry.closed);
        continue;
      }
      this.#cancelUnload(entry);
      entry.handle.attach(peer);
      await entry.loaded;
      if (entry.handle.state === 'closed') throw new SkeinError('SKEIN_ERR_SHUTTING_DOWN');
      return entry.handle;
    }
  }

  /** Detach `peer`; the last peer leaving schedules the unload. */
  leave(handle: DocumentHandle, peer: Peer): void {
    const entry = this.#entries.get(handle.name);
    if (entry?.handle !== handle) return;
    if (handle.detach(peer) === 0 && handle.state === 'idle') this.#scheduleUnload(entry, this.#opts.unloadDelayMs);
  }

  /**
   * Persist a change applied to `handle`. Resolves when it — and every change persisted
   * before it — is durable by the store's rules; `null` (nothing new) resolves when the
   * writes already in flight are. Rejects (after logging) when the store failed: the document
   * is then marked dirty and stored in full before it may unload.
   */
  persist(handle: DocumentHandle, update: Uint8Array | null, source: 'client' | 'cluster' = 'client'): Promise<void> {
    const entry = this.#entries.get(handle.name);
    if (entry?.handle !== handle) return Promise.reject(new SkeinError('SKEIN_ERR_DOC_CLOSED'));
    // After a failed write the in-memory state is written in full: merging is idempotent,
    // so this heals every gap the failure left without knowing what it was.
    const full = entry.dirty;
    if (update === null && !full) return entry.lastWrite;
    const bytes = full || update === null ? Y.encodeStateAsUpdate(handle.doc) : update;
    // A client change (or a full write that may carry one that failed) also gets an outbox
    // record for the cluster, in the same batch as the log record.
    const replicate = this.#opts.observer !== undefined && (source === 'client' || full);
    const write = this.#opts.store.append(handle.name, bytes, { replicate }).then(
      (result) => {
        if (full) entry.dirty = false;
        return result ? result.outboxSeq : undefined;
      },
      (err: unknown) => {
        entry.dirty = true;
        const e = toSkeinError(err, 'SKEIN_ERR_STORAGE_WRITE');
        this.#opts.logger.error({ code: e.code, doc: handle.name, err: e.message }, 'append failed');
        throw e;
      },
    );
    const tracked = write.then(
      () => undefined,
      () => undefined,
    );
    entry.writes.add(tracked);
    void tracked.then(() => entry.writes.delete(tracked));
    // "Every change persisted before it" includes earlier writes that fail after this one was
    // issued (a reconnecting client sends only what the state vector lacks and counts on this
    // ack for the rest). A full write supersedes them.
    const durable = full ? write.then(() => undefined) : Promise.all([entry.lastWrite, write]).then(() => undefined);
    entry.lastWrite = durable;
    // Cluster hook: with the `cluster` ack policy the change is durable only once it is also in
    // the shared tier. Changes the cluster itself received are not replicated again.
    const observer = this.#opts.observer;
    if (!replicate || observer === undefined) return durable;
    const replicated = write.then((seq) => (seq === undefined ? undefined : observer.replicated(seq)));
    return Promise.all([durable, replicated]).then(() => undefined);
  }

  /** Unload every document (flushing each), then stop. Resolves with names not flushed. */
  async close(): Promise<string[]> {
    this.#closing = true;
    const failed: string[] = [];
    await Promise.all(
      [...this.#entries.values()].map(async (entry) => {
        this.#cancelUnload(entry);
        await entry.loaded.catch(() => undefined);
        // An unload in progress either closes the document or fails to flush it and leaves it
        // in memory (no retry is scheduled while closing): then flush it once more here.
        if (entry.handle.state === 'unloading') await entry.unloading;
        if (entry.handle.state === 'closed') return;
        if (!(await this.#flush(entry))) failed.push(entry.handle.name);
        this.#remove(entry);
      }),
    );
    return failed;
  }

  #startLoad(name: string): Entry {
    const handle = new DocumentHandle(name);
    let resolveClosed!: () => void;
    const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
    const entry: Entry = {
      handle,
      loaded: Promise.resolve(),
      closed,
      resolveClosed,
      writes: new Set(),
      lastWrite: Promise.resolve(),
      dirty: false,
      unloadTimer: undefined,
      unloading: undefined,
      unloadFailures: 0,
      observed: false,
    };
    this.#entries.set(name, entry);
    entry.loaded = this.#load(entry);
    // Waiters observe a failure through `open`; this catch only prevents an unhandled rejection.
    entry.loaded.catch(() => undefined);
    return entry;
  }

  async #load(entry: Entry): Promise<void> {
    const { handle } = entry;
    const started = performance.now();
    const traced = this.#opts.telemetry?.documentLoadStarted(handle.name);
    try {
      // The cluster's shared tier is read in parallel; it never rejects (an unreachable
      // cluster yields nothing and the document loads from the local store alone).
      const [updates, remote] = await withTimeout(
        Promise.all([this.#opts.store.load(handle.name), this.#opts.observer?.fetchRemote(handle.name) ?? []]),
        this.#opts.loadTimeoutMs,
      );
      handle.hydrate(updates);
      traced?.loaded(updates, remote.length);
      if (this.#opts.observer !== undefined) {
        entry.observed = true;
        this.#opts.observer.onLoaded(handle, { remote, persist: (update) => this.persist(handle, update, 'cluster') });
      }
      this.#opts.logger.debug(
        { doc: handle.name, updates: updates.length, ms: Math.round(performance.now() - started) },
        'document loaded',
      );
    } catch (err) {
      const e =
        err instanceof SkeinError && err.code === 'SKEIN_ERR_DOC_LOAD_TIMEOUT'
          ? err
          : new SkeinError('SKEIN_ERR_DOC_LOAD_FAILED', `load of document failed: ${errMessage(err)}`, {
              cause: err,
            });
      this.#opts.logger.error({ code: e.code, doc: handle.name, err: errMessage(err) }, 'document load failed');
      traced?.failed(e.code);
      this.#remove(entry);
      throw e;
    }
    // Peers may all have left while loading.
    if (handle.state === 'idle') this.#scheduleUnload(entry, this.#opts.unloadDelayMs);
  }

  #scheduleUnload(entry: Entry, delayMs: number): void {
    this.#cancelUnload(entry);
    if (this.#closing) return;
    entry.unloadTimer = setTimeout(() => {
      entry.unloadTimer = undefined;
      const unloading: Promise<void> = this.#unload(entry)
        .catch((err: unknown) => this.#opts.logger.error({ doc: entry.handle.name, err: errMessage(err) }, 'unload failed'))
        .finally(() => {
          if (entry.unloading === unloading) entry.unloading = undefined;
        });
      entry.unloading = unloading;
    }, delayMs);
  }

  #cancelUnload(entry: Entry): void {
    if (entry.unloadTimer !== undefined) clearTimeout(entry.unloadTimer);
    entry.unloadTimer = undefined;
  }

  async #unload(entry: Entry): Promise<void> {
    const { handle } = entry;
    if (handle.state !== 'idle' || this.#entries.get(handle.name) !== entry) return;
    handle.beginUnload();
    if (await this.#flush(entry)) {
      entry.unloadFailures = 0;
      this.#remove(entry);
      this.#opts.logger.debug({ doc: handle.name }, 'document unloaded');
      return;
    }
    // Keep the document in memory: nothing may be lost. Retry with capped backoff.
    entry.unloadFailures++;
    handle.abortUnload();
    if (handle.state === 'idle') {
      const cap = this.#opts.maxUnloadRetryMs ?? 30_000;
      this.#scheduleUnload(entry, Math.min(cap, 100 * 2 ** entry.unloadFailures));
    }
  }

  /** Wait for in-flight writes, write the full state if any failed. True when all is durable. */
  async #flush(entry: Entry): Promise<boolean> {
    const { handle } = entry;
    try {
      // Ask the store to write what it buffers now, then wait for the writes in flight: a
      // debounced document would otherwise make the unload (and a reconnect waiting on it,
      // and SIGTERM) wait out its debounce timer. Repeat while writes keep arriving.
      do {
        const inFlight = [...entry.writes];
        const buffered = this.#opts.store.flush(handle.name);
        buffered.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
        await Promise.all(inFlight);
        await buffered;
      } while (entry.writes.size > 0);
      if (entry.dirty) {
        await this.#opts.store.append(handle.name, Y.encodeStateAsUpdate(handle.doc));
        entry.dirty = false;
        await this.#opts.store.flush(handle.name);
      }
      return true;
    } catch (err) {
      const e = toSkeinError(err, 'SKEIN_ERR_STORAGE_WRITE');
      entry.dirty = true;
      this.#opts.logger.error({ code: e.code, doc: handle.name, err: e.message }, 'flush before unload failed');
      return false;
    }
  }

  #remove(entry: Entry): void {
    this.#cancelUnload(entry);
    if (this.#entries.get(entry.handle.name) === entry) this.#entries.delete(entry.handle.name);
    if (entry.observed) {
      entry.observed = false;
      this.#opts.observer?.onUnloaded(entry.handle);
    }
    entry.handle.close();
    entry.resolveClosed();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new SkeinError('SKEIN_ERR_DOC_LOAD_TIMEOUT', `load took longer than ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
