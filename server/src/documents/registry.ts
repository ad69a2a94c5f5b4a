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
  /** The cluster (`cluster/`), when there is one. Absent: a single node. */
  readonly replicator?: Replicator;
  /** Spans and metrics of document loads (docs/observability.md). */
  readonly telemetry?: DocumentProbes;
  /** Time source of unloads and load timeouts (default: the real clock). */
  readonly clock?: Clock;
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
      ...(options.replicator === undefined ? {} : { replicator: options.replicator }),
      ...(options.telemetry === undefined ? {} : { telemetry: options.telemetry }),
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
