import { systemClock, type Clock } from '../clock/clock.js';
import type { Logger } from '../logging/logger.js';
import { SkeinError } from '../errors/skein-error.js';
import { DocumentHandle, type HandleContext } from './document-handle.js';
import type { Peer } from './origins.js';
import type { DocumentProbes } from './probes.js';
import type { DocumentStore, Replicator } from './ports.js';
import { WriteBudget } from './write-budget.js';

export interface RegistryOptions {
  readonly store: DocumentStore;
  readonly logger: Logger;
  /** How long a document without peers stays loaded. */
  readonly unloadDelayMs: number;
  /** A load slower than this fails with SKEIN_ERR_DOC_LOAD_TIMEOUT. */
  readonly loadTimeoutMs: number;
  /** Upper bound for the retry delay of a failed unload flush (default 30 s). */
  readonly maxUnloadRetryMs?: number;
  /** Bytes accepted but not yet durable, node-wide, before writes are refused (0 = no bound). */
  readonly maxUnpersistedBytes?: number;
  /** Largest encoded state per document (`--max-doc-bytes`; 0 or absent: none). */
  readonly maxDocBytes?: number;
  /** Coalescing window of each document's fan-out (`fan-out.ts`); default 0 (one turn). */
  readonly fanOutWindowMs?: number;
  /** Least time between two presence messages of a document (`fan-out.ts`); default 0 (none). */
  readonly presenceIntervalMs?: number;
  /** Dormant documents (`doc-body.ts`): no change for this long → only the encoded state. 0/absent: off. */
  readonly dormantAfterMs?: number;
  /** The cluster (`cluster/`), when there is one. Absent: a single node. */
  readonly replicator?: Replicator;
  /** Spans and metrics of document loads (docs/observability.md). */
  readonly telemetry?: DocumentProbes;
  /** Time source of unloads and load timeouts (default: the real clock). */
  readonly clock?: Clock;
  /** Told (synchronously, cheaply) each time a loaded document changes — e.g. history's automatic versions. */
  readonly onChange?: (name: string) => void;
}

/**
 * The live documents of this process: one handle per name, single-flight load (concurrent
 * opens share one handle and its load), and the node-wide write budget. Everything about a
 * document's lifecycle and writes is its handle's (`document-handle.ts`, `lifecycle.ts`).
 *
 * The load/store/unload race is closed by construction: an open that finds its document
 * unloading waits until the unload has settled: when it flushed and closed the document the
 * open loads afresh from storage; when the flush failed the document stayed in memory and the
 * open attaches to it.
 */
export class DocumentRegistry {
  readonly #handles = new Map<string, DocumentHandle>();
  readonly #ctx: HandleContext;
  readonly budget: WriteBudget;
  #closing = false;
  /** Documents being deleted: opens wait until the store has dropped them (no resurrection). */
  readonly #deleting = new Map<string, Promise<unknown>>();
  /** Ids of transient peers (`use`): negative, never a connection's. */
  #nextTransient = -1;

  constructor(options: RegistryOptions) {
    this.budget = new WriteBudget(options.maxUnpersistedBytes ?? 0);
    this.#ctx = {
      store: options.store,
      logger: options.logger,
      clock: options.clock ?? systemClock,
      budget: this.budget,
      unloadDelayMs: options.unloadDelayMs,
      loadTimeoutMs: options.loadTimeoutMs,
      maxUnloadRetryMs: options.maxUnloadRetryMs ?? 30_000,
      maxDocBytes: options.maxDocBytes ?? 0,
      fanOutWindowMs: options.fanOutWindowMs ?? 0,
      presenceIntervalMs: options.presenceIntervalMs ?? 0,
      dormantAfterMs: options.dormantAfterMs ?? 0,
      ...(options.replicator === undefined ? {} : { replicator: options.replicator }),
      ...(options.telemetry === undefined ? {} : { telemetry: options.telemetry }),
      ...(options.onChange === undefined ? {} : { onChange: options.onChange }),
      onClosed: (handle) => {
        if (this.#handles.get(handle.name) === handle) this.#handles.delete(handle.name);
      },
    };
  }

  get size(): number {
    return this.#handles.size;
  }

  /** Names of loaded documents (any state but closed). */
  names(): string[] {
    return [...this.#handles.keys()];
  }

  /** Loaded documents that keep only their encoded state (`doc-body.ts`). O(documents). */
  dormantCount(): number {
    let n = 0;
    for (const handle of this.#handles.values()) if (handle.form === 'dormant') n++;
    return n;
  }

  get(name: string): DocumentHandle | undefined {
    return this.#handles.get(name);
  }

  /** Timers currently pending (unload delays); for leak checks. */
  get pendingTimers(): number {
    let n = 0;
    for (const handle of this.#handles.values()) if (handle.unloadScheduled) n++;
    return n;
  }

  /** Attach `peer` to the document, loading it first if needed. Rejects with a SkeinError. */
  async open(name: string, peer: Peer): Promise<DocumentHandle> {
    for (;;) {
      if (this.#closing) throw new SkeinError('SKEIN_ERR_SHUTTING_DOWN');
      const deleting = this.#deleting.get(name);
      if (deleting !== undefined) {
        await deleting.catch(() => undefined);
        continue;
      }
      let handle = this.#handles.get(name);
      if (handle === undefined) {
        handle = new DocumentHandle(name, this.#ctx);
        // A load that fails synchronously has already closed the handle: do not keep it.
        if (handle.state !== 'closed') this.#handles.set(name, handle);
      }
      if (handle.state === 'unloading') {
        await handle.unloadSettled;
        continue;
      }
      handle.attach(peer);
      await handle.loaded;
      if (handle.state === 'closed') throw new SkeinError('SKEIN_ERR_SHUTTING_DOWN');
      return handle;
    }
  }

  /**
   * Run `fn` with the document loaded, as a transient peer that receives nothing (the HTTP
   * API, history): the document cannot unload while `fn` runs, and its unload delay starts
   * after. Rejects like `open`.
   */
  async use<T>(name: string, fn: (handle: DocumentHandle) => T | Promise<T>): Promise<T> {
    const peer: Peer = { id: this.#nextTransient--, send: noop };
    const handle = await this.open(name, peer);
    try {
      return await fn(handle);
    } finally {
      this.leave(handle, peer);
    }
  }

  /**
   * Delete the document: its loaded handle (if any) closes its peers with 4410 and is
   * released without a flush, then the store drops every record (log, snapshots, versions).
   * Opens meanwhile wait and then find a new, empty document. Resolves with whether anything
   * existed (loaded or stored).
   */
  async delete(name: string): Promise<boolean> {
    if (this.#closing) throw new SkeinError('SKEIN_ERR_SHUTTING_DOWN');
    const remove = this.#ctx.store.remove?.bind(this.#ctx.store);
    if (remove === undefined) throw new SkeinError('SKEIN_ERR_INTERNAL', 'this store cannot delete documents');
    for (;;) {
      const pending = this.#deleting.get(name);
      if (pending === undefined) break;
      await pending.catch(() => undefined);
    }
    const work = (async (): Promise<boolean> => {
      let loaded = false;
      for (;;) {
        const handle = this.#handles.get(name);
        if (handle === undefined) break;
        if (handle.state === 'loading') await handle.loaded.catch(() => undefined);
        else if (handle.state === 'unloading') await handle.unloadSettled;
        else if (handle.state === 'closed') break;
        else {
          loaded = true;
          handle.delete();
          break;
        }
      }
      const stored = await remove(name);
      return stored || loaded;
    })();
    this.#deleting.set(name, work);
    try {
      return await work;
    } finally {
      this.#deleting.delete(name);
    }
  }

  /** Detach `peer`; the last peer leaving schedules the unload. */
  leave(handle: DocumentHandle, peer: Peer): void {
    if (this.#handles.get(handle.name) !== handle) return;
    handle.detach(peer);
  }

  /** Unload every document (flushing each), then stop. Resolves with names not flushed. */
  async close(): Promise<string[]> {
    this.#closing = true;
    const handles = [...this.#handles.values()];
    const results = await Promise.all(handles.map(async (handle) => ({ name: handle.name, ok: await handle.close() })));
    this.#handles.clear();
    return results.filter((r) => !r.ok).map((r) => r.name);
  }
}

function noop(): void {}
