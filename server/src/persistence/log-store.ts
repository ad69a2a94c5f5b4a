import * as Y from 'yjs';
import { SkeinError, toSkeinError } from '../errors/skein-error.js';
import type { Logger } from '../logging/logger.js';
import type { PersistenceProbes } from './probes.js';
import type { CompactionOutcome, Compactor } from './compaction.js';
import { CompactionWorkerPool } from './compaction-worker-pool.js';
import { DocumentLog } from './document-log.js';
import {
  DEFAULT_COMPACTION, DEFAULT_RETRY, StoreCounters, systemTimers,
  type CompactionPolicy, type EngineContext, type RetryPolicy, type Timers,
} from './engine-context.js';
import { Space, encodeName, nameKey, spaceRange } from './key-layout.js';
import type {
  AppendOptions, AppendResult, DocumentPage, NewVersion, ReplicationOutbox, StoredDocumentInfo, VersionInfo, VersionStore,
} from '../documents/ports.js';
import { addVersion, listVersions, readVersion, removeVersions } from './doc-versions.js';
import type { DocMeta } from './record-codec.js';
import type { DocState } from './doc-state.js';
import { silentLogger } from '../logging/logger.js';
import { MemoryKv } from './memory-kv.js';
import { StoreOutbox, type OutboxPayload } from './store-outbox.js';
import { EMPTY_EVENTS_RECOVERY, StoreEvents } from './store-events.js';
import type { EventJournal, StoredEvent } from '../documents/events.js';
import type { KvStore } from './kv-store.js';
import { LevelKv, type LevelKvOptions } from './level-kv.js';
import { listDocuments, verifyStore, type DocumentInfo, type VerifyProblem } from './maintenance.js';
import { formatRecordPut, prepareStore, type StoreIds } from './open-store.js';
import { GroupCommitKv } from './group-commit.js';
import { buildHealth, buildStats, type StoreHealth, type StoreStats } from './store-stats.js';
import { inspectDocument } from './doc-reader.js';
import type { DocumentStore, StoredInspection } from './store.js';
import { StrategyResolver, type Strategy, type StrategyRule } from './strategy-rules.js';

export interface LogStoreOptions {
  /** LevelDB directory, created if missing. Give exactly one of `dir` and `kv`. */
  readonly dir?: string;
  /** Run on this `KvStore` instead of LevelDB (tests, tools). The store closes it on close. */
  readonly kv?: KvStore;
  readonly logger: Logger;
  /** Strategy rules by document name, first match wins, default `immediate`. */
  readonly rules?: string | readonly StrategyRule[];
  readonly compaction?: Partial<CompactionPolicy>;
  readonly retry?: Partial<RetryPolicy>;
  /** Timer source (tests inject a manual clock). */
  readonly timers?: Timers;
  /** Default bound for `close()` / `shutdown()`. Default 10 000 ms. */
  readonly closeTimeoutMs?: number;
  readonly level?: LevelKvOptions;
  /** Spans and metrics of batch writes (docs/observability.md). */
  readonly telemetry?: PersistenceProbes;
  /**
   * Where large merges run (default: a `CompactionWorkerPool`, one worker thread). Tests wrap
   * the real pool to hold a merge's result; the store closes it on close.
   */
  readonly compactor?: Compactor;
  /**
   * Journal document events (`events`, docs/webhooks.md): appends with a `change` note leave a
   * change mark (and a first store its `document.created` event) in their batch. Default off.
   */
  readonly events?: boolean;
  /**
   * Mark a store of an older format version with the current one when opening it (default
   * true: from then on it may hold what only this version reads, e.g. chunked snapshots).
   * `false` opens it as it is, writing nothing: for offline commands that only read
   * (`skein verify`, `inspect`, `export`), which must never change a store.
   */
  readonly upgradeFormat?: boolean;
}

export interface CloseReport {
  /** Documents whose pending updates could not be made durable before the deadline. */
  readonly unflushed: readonly string[];
  /** Appends rejected with `SKEIN_ERR_STORAGE_UNFLUSHED` (never acknowledged). */
  readonly rejectedUpdates: number;
}

export interface CompactionReport {
  readonly documents: number;
  readonly compacted: number;
  readonly mergedUpdates: number;
  readonly quarantined: number;
  readonly failed: readonly { readonly name: string; readonly code: string }[];
}

/**
 * Open the LevelDB persistence engine: checks (or writes) the format version, then serves
 * `DocumentStore` plus the offline helpers. Rejects with `SKEIN_ERR_STORAGE_OPEN`,
 * `SKEIN_ERR_STORAGE_FORMAT`, `SKEIN_ERR_STORAGE_READ` or `SKEIN_ERR_CONFIG_INVALID`.
 */
export async function openLevelStore(options: LogStoreOptions): Promise<LogStore> {
  const resolver = new StrategyResolver(options.rules ?? []);
  const compaction = { ...DEFAULT_COMPACTION, ...options.compaction };
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  checkPolicies(compaction, retry, options.closeTimeoutMs);
  const kv = options.kv ?? (await openKv(options));
  const timers = options.timers ?? systemTimers;
  let ids: Awaited<ReturnType<typeof prepareStore>>;
  try {
    ids = await prepareStore(kv, options.events === true, options.upgradeFormat ?? true);
  } catch (err) {
    await kv.close().catch(() => undefined);
    throw err;
  }
  return assembleStore({ kv, ids, options, resolver, compaction, retry, timers });
}

export type MemoryStoreOptions = Omit<LogStoreOptions, 'dir' | 'kv' | 'level' | 'logger'> & { readonly logger?: Logger };

/**
 * The same engine over a fresh in-memory `MemoryKv` (`--storage memory`, tests): every
 * behaviour of the LevelDB store (strategies, group commit, compaction, the replication
 * outbox) except surviving the process. Synchronous: an empty `MemoryKv` needs no recovery.
 */
export function createMemoryStore(memoryOptions: MemoryStoreOptions = {}): LogStore {
  const options: LogStoreOptions = { ...memoryOptions, logger: memoryOptions.logger ?? silentLogger() };
  const resolver = new StrategyResolver(options.rules ?? []);
  const compaction = { ...DEFAULT_COMPACTION, ...options.compaction };
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  checkPolicies(compaction, retry, options.closeTimeoutMs);
  const kv = new MemoryKv();
  kv.applySync([formatRecordPut()]);
  const ids: StoreIds = { nextDocId: 1, nextQuarantineId: 1, quarantined: 0, outbox: { nextSeq: 1, size: 0 }, events: EMPTY_EVENTS_RECOVERY };
  return assembleStore({ kv, ids, options, resolver, compaction, retry, timers: options.timers ?? systemTimers });
}

interface EngineParts {
  readonly kv: KvStore;
  readonly ids: StoreIds;
  readonly options: LogStoreOptions;
  readonly resolver: StrategyResolver;
  readonly compaction: CompactionPolicy;
  readonly retry: RetryPolicy;
  readonly timers: Timers;
}

function assembleStore({ kv: disk, ids, options, resolver, compaction, retry, timers }: EngineParts): LogStore {
  // Every document's batches (and the outbox's, compaction's) share one write at a time.
  const kv = new GroupCommitKv(disk);
  const counters = new StoreCounters();
  counters.quarantinedRecords = ids.quarantined;
  let nextDocId = ids.nextDocId;
  let nextQuarantineId = ids.nextQuarantineId;
  const outbox = new StoreOutbox({ kv, logger: options.logger, now: () => timers.now(), allocateQuarantineId: () => nextQuarantineId++ }, ids.outbox);
  const ref: { store?: LogStore } = {};
  const events = options.events !== true ? undefined : new StoreEvents({
    kv, logger: options.logger, now: () => timers.now(), allocateQuarantineId: () => nextQuarantineId++,
    seal: (name) => (ref.store === undefined ? Promise.resolve(undefined) : ref.store.sealChanges(name)),
  }, ids.events);
  const offers = new Map<string, () => Uint8Array | undefined>();
  const ctx: EngineContext = {
    kv, diskWrites: () => kv.figures.written, logger: options.logger, timers, counters, compaction, retry,
    ...(options.telemetry === undefined ? {} : { telemetry: options.telemetry }),
    compactor: options.compactor ?? new CompactionWorkerPool({ logger: options.logger }),
    liveState: (name) => offers.get(name)?.(),
    shutdown: { compactUntil: Number.POSITIVE_INFINITY },
    allocateDocId: () => nextDocId++,
    allocateQuarantineId: () => nextQuarantineId++,
    outbox,
    ...(events === undefined ? {} : { events }),
  };
  ref.store = new LogStore(ctx, resolver, options.closeTimeoutMs ?? 10_000, offers);
  return ref.store;
}

async function openKv(options: LogStoreOptions): Promise<KvStore> {
  if (options.dir === undefined || options.dir === '') {
    throw new SkeinError('SKEIN_ERR_CONFIG_INVALID', 'the LevelDB store needs a data directory (dir)');
  }
  try {
    return await LevelKv.open(options.dir, options.level ?? {});
  } catch (err) {
    const e = toSkeinError(err);
    throw new SkeinError('SKEIN_ERR_STORAGE_OPEN', `cannot open LevelDB at ${options.dir}: ${e.message}`, { cause: err });
  }
}

function checkPolicies(compaction: CompactionPolicy, retry: RetryPolicy, closeTimeoutMs: number | undefined): void {
  const positive: [string, number][] = [
    ['compaction.maxUpdates', compaction.maxUpdates], ['compaction.minLogBytes', compaction.minLogBytes + 1],
    ['compaction.maxLogRatio', compaction.maxLogRatio + 1], ['compaction.minCountRatio', compaction.minCountRatio + 1],
    ['retry.initialDelayMs', retry.initialDelayMs],
    ['retry.maxDelayMs', retry.maxDelayMs], ['closeTimeoutMs', closeTimeoutMs ?? 1],
  ];
  for (const [field, value] of positive) {
    if (!Number.isFinite(value) || value <= 0) throw new SkeinError('SKEIN_ERR_CONFIG_INVALID', `storage option ${field} must be positive`);
  }
  if (!Number.isSafeInteger(compaction.snapshotPartBytes) || compaction.snapshotPartBytes < 1) {
    throw new SkeinError('SKEIN_ERR_CONFIG_INVALID', 'storage option compaction.snapshotPartBytes must be a positive integer');
  }
  if (!Number.isFinite(compaction.idleMs) || compaction.idleMs < 0) {
    throw new SkeinError('SKEIN_ERR_CONFIG_INVALID', 'storage option compaction.idleMs must be 0 or more');
  }
}

/**
 * How long a closing store keeps starting the compactions of documents released for the
 * shutdown (at most a quarter of the close timeout): ~0.5 ms each for a 10 KB document with a
 * short tail, so about 2,000 documents; the rest keep their tails until a later run.
 */
const RELEASE_COMPACTION_BUDGET_MS = 1_000;

/** How many idle per-document logs (with their cached state) are kept for reuse. */
const MAX_IDLE_LOGS = 1024;

/**
 * The persistence engine: per-document update logs with strategies, group commit, snapshots,
 * checksums, quarantine and the replication outbox, over any `KvStore`. Open it over LevelDB
 * with `openLevelStore`, or over memory with `createMemoryStore`: one engine, one
 * conformance suite.
 */
export class LogStore implements DocumentStore {
  readonly #ctx: EngineContext;
  readonly #resolver: StrategyResolver;
  readonly #closeTimeoutMs: number;
  readonly #logs = new Map<string, DocumentLog>();
  /** In-memory states offered by the documents' owners (`offerState`), read by compaction. */
  readonly #offers: Map<string, () => Uint8Array | undefined>;
  /**
   * Idle logs kept for reuse, least recently used first: a log caches its document's state
   * (id, metadata, last sequence), so dropping it when idle made the next append of an
   * `immediate` document read that state back from LevelDB every time.
   */
  readonly #idle = new Set<string>();
  #phase: 'open' | 'closing' | 'closed' = 'open';
  #shutdown: Promise<CloseReport & { readonly closeError: SkeinError | null }> | undefined;

  /** @internal use `openLevelStore`. */
  constructor(ctx: EngineContext, resolver: StrategyResolver, closeTimeoutMs: number, offers: Map<string, () => Uint8Array | undefined>) {
    this.#ctx = ctx;
    this.#offers = offers;
    this.#resolver = resolver;
    this.#closeTimeoutMs = closeTimeoutMs;
  }

  load(name: string): Promise<readonly Uint8Array[]> {
    const log = this.#open(name);
    return log instanceof SkeinError ? Promise.reject(log) : log.load();
  }

  /**
   * What `load` would return, read with no side effect (the port's `inspect`): no quarantine,
   * no repair, no compaction, no log opened. Accepted updates are taken before the disk is
   * read, so an update written meanwhile is seen either way.
   */
  async inspect(name: string): Promise<StoredInspection> {
    if (this.#phase !== 'open') throw closedError();
    const nameBytes = typeof name === 'string' ? encodeName(name) : undefined;
    if (nameBytes === undefined) throw new SkeinError('SKEIN_ERR_BAD_DOC_NAME', 'a document name must be 1 to 255 bytes of well-formed UTF-8');
    const pending = this.#logs.get(name)?.pendingUpdateBytes() ?? [];
    const stored = await inspectDocument(this.#ctx.kv, name, nameBytes);
    return { updates: [...stored.updates, ...pending], damagedRecords: stored.damagedRecords };
  }

  /**
   * With `{ replicate: true }` an outbox record is written in the same batch as the update's
   * log record and the promise resolves with its seq; otherwise it resolves with `undefined`.
   */
  append(name: string, update: Uint8Array): Promise<void>;
  append(name: string, update: Uint8Array, options: AppendOptions | undefined): Promise<AppendResult | undefined>;
  append(name: string, update: Uint8Array, options?: AppendOptions): Promise<AppendResult | undefined | void> {
    const log = this.#open(name);
    if (log instanceof SkeinError) return Promise.reject(log);
    let clocks: ReadonlyMap<number, number>;
    try {
      clocks = options?.clocks ?? Y.parseUpdateMeta(update).to;
    } catch (err) {
      return Promise.reject(new SkeinError('SKEIN_ERR_INVALID_UPDATE', 'not a Yjs update; nothing was stored', { cause: err }));
    }
    // Copy: the caller's buffer may be a view into a pooled socket buffer.
    return log.append(Uint8Array.prototype.slice.call(update), clocks, options?.replicate === true, options?.change);
  }

  /** Updates appended with `replicate: true`, until the replicator removes them. */
  get outbox(): ReplicationOutbox {
    return this.#ctx.outbox;
  }

  /** The document-event journal (store option `events`), else undefined. */
  get events(): EventJournal | undefined {
    return this.#ctx.events;
  }

  offerState(name: string, state: () => Uint8Array | undefined): () => void {
    this.#offers.set(name, state);
    return () => {
      if (this.#offers.get(name) !== state) return;
      this.#offers.delete(name);
      // The last state it held: a tail after the snapshot is folded now (document-log.ts, `released`).
      this.#logs.get(name)?.released(state);
    };
  }

  /** Turn `name`'s change marks into one `document.changed` event, in the document's write queue. */
  sealChanges(name: string): Promise<StoredEvent | undefined> {
    const log = this.#open(name);
    return log instanceof SkeinError ? Promise.reject(log) : log.sealChanges();
  }

  /**
   * Put entries written elsewhere into the outbox (one synced batch), e.g. the pre-1.x
   * `cluster-outbox` directory at startup. Rejects once closing.
   */
  async adoptOutboxEntries(entries: readonly OutboxPayload[]): Promise<number[]> {
    if (this.#phase !== 'open') throw closedError();
    return this.#ctx.outbox.adopt(entries);
  }

  flush(name: string): Promise<void> {
    if (this.#phase === 'closed') return Promise.reject(closedError());
    return this.#logs.get(name)?.flush() ?? Promise.resolve();
  }

  /** Flush everything (bounded by `closeTimeoutMs`), then close. Rejects with `SKEIN_ERR_STORAGE_UNFLUSHED` if anything was left. */
  async close(): Promise<void> {
    const report = await this.#shutdownOnce(this.#closeTimeoutMs);
    if (report.unflushed.length > 0) {
      throw new SkeinError('SKEIN_ERR_STORAGE_UNFLUSHED', `${report.rejectedUpdates} updates of ${report.unflushed.length} documents were not made durable before close: ${report.unflushed.slice(0, 10).join(', ')}`);
    }
    if (report.closeError !== null) throw report.closeError;
  }

  /** Like `close()`, but reports what could not be flushed instead of rejecting. Idempotent. */
  async closeWithReport(options: { readonly timeoutMs?: number } = {}): Promise<CloseReport> {
    const { unflushed, rejectedUpdates } = await this.#shutdownOnce(options.timeoutMs ?? this.#closeTimeoutMs);
    return { unflushed, rejectedUpdates };
  }

  /** Compact one document now, or every stored document (one at a time) when `name` is omitted. */
  async compact(name?: string): Promise<CompactionReport> {
    if (name !== undefined) {
      const log = this.#open(name);
      if (log instanceof SkeinError) throw log;
      const outcome = await log.compact();
      return addOutcome(emptyReport(), outcome);
    }
    let report = emptyReport();
    for await (const info of this.documents()) {
      const log = this.#open(info.name);
      if (log instanceof SkeinError) throw log;
      try {
        report = addOutcome(report, await log.compact());
      } catch (err) {
        report = { ...report, documents: report.documents + 1, failed: [...report.failed, { name: info.name, code: toSkeinError(err).code }] };
      }
    }
    return report;
  }

  /** Every stored document with its metadata, streamed in name order. */
  documents(): AsyncIterable<DocumentInfo> {
    return this.#guarded(() => listDocuments(this.#ctx.kv));
  }

  /** A page of stored documents in name order (the port's `list`); damaged entries are skipped. */
  async list(page: DocumentPage): Promise<StoredDocumentInfo[]> {
    if (this.#phase !== 'open') throw closedError();
    const prefix = encodeName(page.prefix);
    const after = page.after === undefined ? undefined : encodeName(page.after);
    const start = after !== undefined && (prefix === undefined || Buffer.compare(after, prefix) >= 0) ? { gt: nameKey(after) } : prefix === undefined ? {} : { gte: nameKey(prefix) };
    const out: StoredDocumentInfo[] = [];
    if (page.limit <= 0) return out;
    for await (const info of listDocuments(this.#ctx.kv, { ...spaceRange(Space.Name), ...start })) {
      if (!info.name.startsWith(page.prefix)) break;
      if (info.meta === null) continue;
      out.push(this.#describe(info.meta));
      if (out.length >= page.limit) break;
    }
    return out;
  }

  /** What is stored of one document (the port's `describe`), or undefined. */
  async describe(name: string): Promise<StoredDocumentInfo | undefined> {
    const log = this.#open(name);
    if (log instanceof SkeinError) throw log;
    return log.withState((state) => Promise.resolve(state?.indexed === true ? this.#describe(state.meta) : undefined));
  }

  /** Delete the document's every record in one batch (the port's `remove`). */
  remove(name: string): Promise<boolean> {
    const log = this.#open(name);
    return log instanceof SkeinError ? Promise.reject(log) : log.remove();
  }

  /** Version snapshots beside the log (space `07`), run in each document's queue. */
  readonly versions: VersionStore = {
    add: (name: string, version: NewVersion): Promise<VersionInfo> => this.#withState(name, (state) => addVersion(this.#ctx.kv, state, name, version)),
    list: (name: string): Promise<VersionInfo[]> => this.#withState(name, (state) => listVersions(this.#ctx.kv, state)),
    read: (name: string, id: number) => this.#withState(name, (state) => readVersion(this.#ctx.kv, state, id)),
    remove: (name: string, ids: readonly number[]): Promise<void> => this.#withState(name, (state) => removeVersions(this.#ctx.kv, state, ids)),
  };

  #withState<T>(name: string, task: (state: DocState | undefined) => Promise<T>): Promise<T> {
    const log = this.#open(name);
    return log instanceof SkeinError ? Promise.reject(log) : log.withState(task);
  }

  #describe(meta: DocMeta): StoredDocumentInfo {
    return {
      name: meta.name,
      bytes: meta.snapshotBytes + meta.logBytes,
      updatesSinceSnapshot: meta.logCount,
      createdAt: meta.createdAt,
      updatedAt: meta.updatedAt,
      strategy: formatStrategy(this.#resolver.resolve(meta.name)),
      stateVector: meta.stateVector,
    };
  }

  /** Check every stored record; yields each problem (read-only). */
  verify(): AsyncIterable<VerifyProblem> {
    return this.#guarded(() => verifyStore(this.#ctx.kv));
  }

  /** The document as one merged Yjs update, or `undefined` if it was never stored. */
  async exportDocument(name: string): Promise<Uint8Array | undefined> {
    const parts = await this.load(name);
    return parts.length === 0 ? undefined : Y.mergeUpdates([...parts]);
  }

  /** Merge `update` into the document and make it durable now, whatever its strategy. */
  async importUpdate(name: string, update: Uint8Array): Promise<void> {
    const appended = this.append(name, update);
    await Promise.all([appended, this.flush(name)]);
  }

  strategyFor(name: string): Strategy {
    return this.#resolver.resolve(name);
  }

  stats(): StoreStats {
    return buildStats(this.#ctx.counters, this.#logs.values(), this.#ctx.diskWrites());
  }

  health(): StoreHealth {
    return buildHealth(this.#phase, this.stats());
  }

  // ---------------------------------------------------------------------------------------

  #open(name: string): DocumentLog | SkeinError {
    if (this.#phase !== 'open') return closedError();
    // A name with a log was checked when the log was made (every append comes here).
    let log = this.#logs.get(name);
    if (log === undefined) {
      const nameBytes = typeof name === 'string' ? encodeName(name) : undefined;
      if (nameBytes === undefined) {
        return new SkeinError('SKEIN_ERR_BAD_DOC_NAME', 'a document name must be 1 to 255 bytes of well-formed UTF-8');
      }
      log = new DocumentLog(this.#ctx, name, nameBytes, this.#resolver.resolve(name), (idle) => this.#release(idle));
      this.#logs.set(name, log);
    }
    this.#idle.delete(name);
    return log;
  }

  #release(log: DocumentLog): void {
    if (this.#phase !== 'open' || this.#logs.get(log.name) !== log || !log.idle) return;
    this.#idle.delete(log.name);
    this.#idle.add(log.name);
    for (const name of this.#idle) {
      if (this.#idle.size <= MAX_IDLE_LOGS) break;
      this.#idle.delete(name);
      const oldest = this.#logs.get(name);
      if (oldest?.idle === true) this.#logs.delete(name);
    }
  }

  async *#guarded<T>(make: () => AsyncIterable<T>): AsyncGenerator<T> {
    if (this.#phase !== 'open') throw closedError();
    yield* make();
  }

  #shutdownOnce(timeoutMs: number): Promise<CloseReport & { readonly closeError: SkeinError | null }> {
    this.#shutdown ??= this.#runShutdown(timeoutMs);
    return this.#shutdown;
  }

  async #runShutdown(timeoutMs: number): Promise<CloseReport & { readonly closeError: SkeinError | null }> {
    this.#phase = 'closing';
    const deadline = this.#ctx.timers.now() + timeoutMs;
    this.#ctx.shutdown.compactUntil = this.#ctx.timers.now() + Math.min(RELEASE_COMPACTION_BUDGET_MS, timeoutMs / 4);
    const logs = [...this.#logs.values()];
    for (const log of logs) log.beginClose();
    await this.#within(Promise.all(logs.map((log) => log.drained())), timeoutMs);
    const err = new SkeinError('SKEIN_ERR_STORAGE_UNFLUSHED', 'the store closed before this update was durable');
    const unflushed: string[] = [];
    let rejectedUpdates = 0;
    for (const log of logs) {
      const rejected = log.abort(err);
      if (rejected > 0) unflushed.push(log.name);
      rejectedUpdates += rejected;
    }
    // Let batch attempts already handed to the KV settle before closing it, within the same deadline.
    const remaining = deadline - this.#ctx.timers.now();
    if (remaining > 0) await this.#within(Promise.all(logs.map((log) => log.settledTasks())), remaining);
    this.#phase = 'closed';
    this.#ctx.outbox.close();
    this.#ctx.events?.close();
    this.#logs.clear();
    this.#idle.clear();
    await this.#ctx.compactor?.close();
    let closeError: SkeinError | null = null;
    try {
      await this.#ctx.kv.close();
    } catch (cause) {
      closeError = new SkeinError('SKEIN_ERR_STORAGE_WRITE', 'closing the key-value store failed', { cause });
      this.#ctx.logger.error({ code: closeError.code }, 'storage close failed');
    }
    if (unflushed.length > 0) {
      this.#ctx.logger.error(
        { code: err.code, documents: unflushed.length, names: unflushed.slice(0, 50), updates: rejectedUpdates },
        'store closed with updates that were never made durable (they were not acknowledged)',
      );
    }
    return { unflushed, rejectedUpdates, closeError };
  }

  /** Wait for `work`, at most `ms`. */
  async #within(work: Promise<unknown>, ms: number): Promise<void> {
    let handle: ReturnType<Timers['setTimeout']> | undefined;
    const deadline = new Promise<void>((resolve) => {
      handle = this.#ctx.timers.setTimeout(resolve, ms);
    });
    try {
      await Promise.race([work.then(() => undefined, () => undefined), deadline]);
    } finally {
      if (handle !== undefined) this.#ctx.timers.clearTimeout(handle);
    }
  }
}

function emptyReport(): CompactionReport {
  return { documents: 0, compacted: 0, mergedUpdates: 0, quarantined: 0, failed: [] };
}

function addOutcome(report: CompactionReport, outcome: CompactionOutcome): CompactionReport {
  return {
    ...report,
    documents: report.documents + 1,
    compacted: report.compacted + (outcome.compacted ? 1 : 0),
    mergedUpdates: report.mergedUpdates + outcome.mergedUpdates,
    quarantined: report.quarantined + outcome.quarantined,
  };
}

function formatStrategy(strategy: Strategy): string {
  return strategy.kind === 'immediate' ? 'immediate' : `debounced:${strategy.waitMs}:${strategy.maxWaitMs}`;
}

function closedError(): SkeinError {
  return new SkeinError('SKEIN_ERR_STORAGE_CLOSED', 'the store is closing or closed');
}
