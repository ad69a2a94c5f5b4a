import { SkeinError, toSkeinError } from '../errors/skein-error.js';
import { shouldCompact, startCompaction, writeCompaction, type CompactionOutcome, type OfferedState } from './compaction.js';
import { metaPut, quarantineOps, readDocument } from './doc-reader.js';
import { countQuarantined, lookupDocState, nameIndexPut, newDocState, reportDamage, type DocState } from './doc-state.js';
import { retryDelay, type EngineContext, type TimerHandle } from './engine-context.js';
import { DocKind, docKey } from './key-layout.js';
import type { AppendResult } from '../documents/ports.js';
import type { ChangeNote, StoredEvent } from '../documents/events.js';
import { changeEventOps, sealChanges } from './doc-events.js';
import { outboxPut } from './store-outbox.js';
import { documentDeletes } from './doc-versions.js';
import type { KvOp } from './kv-store.js';
import { RecordType, clientsOf, decodeClocks, encodeClocks, encodeRecord, mergeClocks, type DocMeta } from './record-codec.js';
import type { Strategy } from './strategy-rules.js';
import type { TraceContext } from './probes.js';

/** An accepted update that is not yet durable. */
interface Pending {
  readonly bytes: Uint8Array;
  readonly clocks: ReadonlyMap<number, number>;
  /** Assigned when the update first goes into a batch; kept across retries (idempotent). */
  seq: number | undefined;
  /** Write a replication-outbox record in the same batch. */
  readonly replicate: boolean;
  /** Its outbox seq: assigned with `seq`, kept across retries. */
  outboxSeq: number | undefined;
  /** A change this node accepted: journaled for document events (when the store journals them). */
  readonly change: ChangeNote | undefined;
  readonly resolve: (result: AppendResult | undefined) => void;
  readonly reject: (err: SkeinError) => void;
  /** Settles (never rejects) when the append settles; what `flush` waits on. */
  readonly settled: Promise<void>;
  /** The trace context the update was accepted in (tracing on): its batch span's parent or link. */
  readonly trace: TraceContext | undefined;
}

/**
 * `open`: accepting appends · `closing`: flushing everything now, ignoring debounce ·
 * `closed`: pending appends rejected, timers cancelled, every later callback inert.
 */
type Phase = 'open' | 'closing' | 'closed';

/** How long after a load the compaction that load found due starts (ms). */
const READ_COMPACTION_DELAY_MS = 1_000;
/**
 * A loaded document's state is asked for (and encoded, on the event loop, if its owner has no
 * copy cached) only while the stored log suggests a small document; larger ones are merged in
 * the compaction worker as before.
 */
const LIVE_STATE_MAX_BYTES = 1024 * 1024;

/**
 * One document's write path: a serialized queue (at most one batch of this document in
 * flight, ever), the pending buffer, the strategy's timers and the retry loop.
 *
 * Every read-modify-write of the document (append batch, load with quarantine, compaction)
 * runs as one task of the queue; documents never wait on each other.
 */
export class DocumentLog {
  readonly name: string;
  readonly strategy: Strategy;
  readonly #nameBytes: Uint8Array;
  readonly #ctx: EngineContext;
  readonly #onIdle: (log: DocumentLog) => void;
  #state: DocState | undefined;
  #phase: Phase = 'open';
  #pending: Pending[] = [];
  #pendingBytes = 0;
  #tail: Promise<void> = Promise.resolve();
  #tasks = 0;
  #flushQueued = false;
  #compactionQueued = false;
  /**
   * A compaction whose merge runs in the worker: settles once its result is written (or given
   * up). The queue is free meanwhile; at most one compaction of the document at a time.
   */
  #merge: Promise<CompactionOutcome> | undefined;
  /**
   * Bumped by whatever rewrites the stored document other than an append (delete, quarantine
   * on load): a merge that read the records before is not written.
   */
  #epoch = 0;
  #waitTimer: TimerHandle | undefined;
  #maxWaitTimer: TimerHandle | undefined;
  #retryTimer: TimerHandle | undefined;
  /**
   * The next background compaction check (`#checkCompaction`): a second after a load that
   * found the log due, or at the end of a quiet period. One timer for both.
   */
  #compactionTimer: TimerHandle | undefined;
  /** When `#compactionTimer` fires, on the engine's clock. */
  #compactionAt = 0;
  /** When the quiet period began (the last write, or a load), on the engine's clock. */
  #quietSince = 0;
  #failures = 0;
  /** The last append's metadata with its clocks (the next append starts from them while `state.meta` is that metadata). */
  #appended: Appended | undefined;
  /** The `document.created` event of the batch that first stores this document (kept across retries). */
  #created: StoredEvent | undefined;

  constructor(ctx: EngineContext, name: string, nameBytes: Uint8Array, strategy: Strategy, onIdle: (log: DocumentLog) => void) {
    this.#ctx = ctx;
    this.name = name;
    this.#nameBytes = nameBytes;
    this.strategy = strategy;
    this.#onIdle = onIdle;
  }

  get pendingUpdates(): number {
    return this.#pending.length;
  }

  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** The last batch attempt of this document failed and a retry is scheduled. */
  get failing(): boolean {
    return this.#failures > 0;
  }

  /** Nothing pending, queued or scheduled: the engine may drop this object. */
  get idle(): boolean {
    return this.#pending.length === 0 && this.#tasks === 0 && this.#merge === undefined && this.#waitTimer === undefined
      && this.#maxWaitTimer === undefined && this.#retryTimer === undefined && this.#compactionTimer === undefined;
  }

  /**
   * `clocks`: the update's end clock per client (already validated by the engine).
   * `replicate`: also write an outbox record in the same batch; resolves with its seq.
   */
  append(bytes: Uint8Array, clocks: ReadonlyMap<number, number>, replicate = false, change?: ChangeNote): Promise<AppendResult | undefined> {
    if (this.#phase !== 'open') return Promise.reject(closedError());
    let resolve!: (result: AppendResult | undefined) => void;
    let reject!: (err: SkeinError) => void;
    const promise = new Promise<AppendResult | undefined>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const settled = promise.then(noop, noop);
    const trace = this.#ctx.telemetry?.captureContext();
    this.#pending.push({ bytes, clocks, seq: undefined, replicate, outboxSeq: undefined, change, resolve, reject, settled, trace });
    this.#pendingBytes += bytes.length;
    if (this.strategy.kind === 'immediate') this.#requestWrite(false);
    else this.#armDebounce(this.strategy.waitMs, this.strategy.maxWaitMs);
    return promise;
  }

  /** Stored updates (snapshot first, then by seq), then accepted updates not yet durable. */
  load(): Promise<Uint8Array[]> {
    return this.#enqueue(() => this.#loadTask());
  }

  /** Accepted updates not yet durable, their bytes (a read-only view for `LogStore.inspect`). */
  pendingUpdateBytes(): Uint8Array[] {
    return this.#pending.map((p) => p.bytes);
  }

  /** Write what is buffered now (unless a retry backoff is running) and wait until it settles. */
  async flush(): Promise<void> {
    const waiting = this.#pending.map((p) => p.settled);
    if (waiting.length === 0) return;
    this.#requestWrite(false);
    await Promise.all(waiting);
  }

  /** Run `task` in this document's queue with its stored state (undefined: never stored). */
  withState<T>(task: (state: DocState | undefined) => Promise<T>): Promise<T> {
    return this.#enqueue(async () => {
      const state = this.#state ?? (await lookupDocState(this.#ctx, this.name, this.#nameBytes));
      this.#state ??= state;
      return task(state);
    });
  }

  /**
   * Delete the document, after the tasks queued before: appends still pending are rejected
   * with SKEIN_ERR_DOC_DELETED, every record goes in one synced batch, and the log forgets its
   * state so that the next append starts a new document (a new id). False: never stored.
   */
  remove(): Promise<boolean> {
    return this.#enqueue(async () => {
      this.#epoch++;
      this.#clearDebounce();
      this.#clearRetry();
      this.#failures = 0;
      const dropped = this.#pending;
      this.#pending = [];
      this.#pendingBytes = 0;
      const err = new SkeinError('SKEIN_ERR_DOC_DELETED', 'the document was deleted before this update was durable');
      for (const p of dropped) p.reject(err);
      const state = this.#state ?? (await lookupDocState(this.#ctx, this.name, this.#nameBytes));
      if (state?.indexed !== true) {
        this.#state = undefined;
        return false;
      }
      const ops = await documentDeletes(this.#ctx.kv, state, this.#nameBytes);
      try {
        await this.#ctx.kv.batch(ops, { sync: true });
      } catch (cause) {
        throw new SkeinError('SKEIN_ERR_STORAGE_WRITE', 'deleting the document failed; it is unchanged', { cause });
      }
      this.#state = undefined;
      return true;
    });
  }

  /** Turn this document's change marks into one `document.changed` event (in this document's queue). */
  sealChanges(): Promise<StoredEvent | undefined> {
    return this.#enqueue(async () => {
      const events = this.#ctx.events;
      if (events === undefined || this.#phase === 'closed') return undefined;
      return sealChanges(this.#ctx.kv, events, this.name, await this.#ensureState(), this.#ctx.timers.now());
    });
  }

  compact(): Promise<CompactionOutcome> {
    return this.#compaction('on-demand');
  }

  /** Start closing: write everything now, skipping debounce and the current backoff. */
  beginClose(): void {
    if (this.#phase !== 'open') return;
    this.#phase = 'closing';
    this.#clearDebounce();
    this.#clearCompactionCheck();
    this.#requestWrite(true);
  }

  /** Resolves once nothing is pending and no task is running (possibly never: race it). */
  async drained(): Promise<void> {
    for (;;) {
      while (this.#pending.length > 0) await Promise.all(this.#pending.map((p) => p.settled));
      // A merge in the worker writes its result as a later task of the queue.
      const merge = this.#merge;
      if (merge !== undefined) await merge.then(noop, noop);
      const tail = this.#tail;
      await tail;
      if (tail === this.#tail && this.#merge === undefined && this.#pending.length === 0) return;
    }
  }

  /** Give up: reject what is still pending, cancel timers. Returns how many were rejected. */
  abort(err: SkeinError): number {
    this.#phase = 'closed';
    this.#clearDebounce();
    this.#clearRetry();
    this.#clearCompactionCheck();
    const rejected = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    for (const p of rejected) p.reject(err);
    return rejected.length;
  }

  /** Resolves when the task running now (if any) has finished. */
  settledTasks(): Promise<void> {
    return this.#tail;
  }

  // ---------------------------------------------------------------------------------------
  // Scheduling

  #armDebounce(waitMs: number, maxWaitMs: number): void {
    const timers = this.#ctx.timers;
    if (this.#waitTimer !== undefined) timers.clearTimeout(this.#waitTimer);
    this.#waitTimer = timers.setTimeout(() => this.#debounceFired(), waitMs);
    this.#maxWaitTimer ??= timers.setTimeout(() => this.#debounceFired(), maxWaitMs);
  }

  #debounceFired(): void {
    this.#clearDebounce();
    this.#requestWrite(false);
  }

  #clearDebounce(): void {
    if (this.#waitTimer !== undefined) this.#ctx.timers.clearTimeout(this.#waitTimer);
    if (this.#maxWaitTimer !== undefined) this.#ctx.timers.clearTimeout(this.#maxWaitTimer);
    this.#waitTimer = undefined;
    this.#maxWaitTimer = undefined;
  }

  #clearRetry(): void {
    if (this.#retryTimer !== undefined) this.#ctx.timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  /**
   * Queue one write of everything pending. Appends that arrive while a batch is in flight
   * join the next one (group commit). During a retry backoff only the retry timer (or
   * close, `overrideBackoff`) starts the next attempt, so a failing disk is not hammered.
   */
  #requestWrite(overrideBackoff: boolean): void {
    if (this.#phase === 'closed' || this.#pending.length === 0) return;
    if (this.#retryTimer !== undefined) {
      if (!overrideBackoff) return;
      this.#clearRetry();
    }
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    void this.#enqueue(() => this.#writePending()).catch(noop);
  }

  /** Run `task` after every task queued before it; never rejects the queue itself. */
  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    this.#tasks++;
    const result = this.#tail.then(task);
    this.#tail = result.then(noop, (err: unknown) => this.#unexpected(err)).then(() => {
      this.#tasks--;
      this.#notifyIdle();
    });
    return result;
  }

  /** Tell the engine when nothing is left (it may drop this object); never throws into the queue. */
  #notifyIdle(): void {
    if (!this.idle) return;
    try {
      this.#onIdle(this);
    } catch (err) {
      this.#unexpected(err);
    }
  }

  /** A method, not an inline check: the phase can change across an await. */
  #aborted(): boolean {
    return this.#phase === 'closed';
  }

  #unexpected(err: unknown): void {
    // Tasks handle their own errors; this only reports the ones handed back to a caller.
    const e = toSkeinError(err, 'SKEIN_ERR_INTERNAL');
    this.#ctx.logger.debug({ code: e.code, doc: this.name }, 'storage task rejected');
  }

  // ---------------------------------------------------------------------------------------
  // Tasks (each runs alone in this document's queue)

  async #ensureState(): Promise<DocState> {
    this.#state ??= (await lookupDocState(this.#ctx, this.name, this.#nameBytes)) ?? newDocState(this.#ctx, this.name);
    return this.#state;
  }

  async #writePending(): Promise<void> {
    this.#flushQueued = false;
    if (this.#phase === 'closed' || this.#pending.length === 0) return;
    this.#clearDebounce();
    const items = this.#pending.slice();
    let state: DocState;
    let meta: DocMeta;
    let appended: Appended;
    let marked: { name: string; at: number }[] = [];
    try {
      state = this.#state ?? (await this.#ensureState());
      for (const item of items) {
        item.seq ??= state.nextSeq++;
        if (item.replicate) item.outboxSeq ??= this.#ctx.outbox.allocate();
      }
      appended = metaAfterAppend(state.meta, items, this.#ctx.timers.now(), this.#appended);
      meta = appended.meta;
      const ops = this.#appendOps(state, meta, items);
      const events = this.#ctx.events;
      const noted = events === undefined ? [] : items.flatMap((item) => (item.change === undefined ? [] : [{ seq: item.seq ?? 0, user: item.change.user }]));
      if (events !== undefined && noted.length > 0) {
        if (!state.indexed) this.#created ??= events.allocate({ type: 'document.created', name: this.name }, this.#ctx.timers.now());
        marked = changeEventOps(events, this.name, state, noted, state.indexed ? undefined : this.#created, this.#ctx.timers.now(), ops);
      }
      const write = (): Promise<void> => this.#ctx.kv.batch(ops, { sync: true });
      await (this.#ctx.telemetry?.persistenceWrite(this.strategy.kind, items, this.#failures + 1, write) ?? write());
    } catch (err) {
      this.#writeFailed(toSkeinError(err, 'SKEIN_ERR_STORAGE_WRITE'));
      return;
    }
    state.meta = meta;
    this.#appended = appended;
    state.indexed = true;
    this.#failures = 0;
    this.#ctx.counters.batchSucceeded();
    let replicated = 0;
    for (const item of items) if (item.replicate) replicated++;
    this.#ctx.outbox.appended(replicated);
    const created = this.#created !== undefined && marked.length > 0 ? 1 : 0;
    this.#created = undefined;
    this.#ctx.events?.durable(marked, created);
    if (this.#aborted()) return; // aborted meanwhile: its appends were already rejected
    this.#pending.splice(0, items.length);
    for (const item of items) {
      this.#pendingBytes -= item.bytes.length;
      item.resolve(item.outboxSeq === undefined ? undefined : { outboxSeq: item.outboxSeq });
    }
    if (this.strategy.kind === 'immediate' || this.#phase === 'closing') this.#requestWrite(false);
    this.#maybeCompact(state);
    this.#startQuietPeriod(state);
  }

  #appendOps(state: DocState, meta: DocMeta, items: readonly Pending[]): KvOp[] {
    const ops: KvOp[] = [];
    if (!state.indexed) ops.push(nameIndexPut(this.#nameBytes, state.docId));
    for (const item of items) {
      const key = docKey(state.docId, DocKind.Update, item.seq ?? 0);
      ops.push({ type: 'put', key, value: encodeRecord(key, RecordType.Update, item.bytes) });
      // The outbox record rides in the same batch: durable together with the update, or not at all.
      if (item.outboxSeq !== undefined) ops.push(outboxPut(item.outboxSeq, { name: this.name, update: item.bytes }));
    }
    ops.push(metaPut(state.docId, meta, this.#nameBytes));
    return ops;
  }

  #writeFailed(err: SkeinError): void {
    this.#failures++;
    const counters = this.#ctx.counters;
    counters.batchFailed(err, this.#ctx.timers.now());
    if (this.#phase === 'closed') return;
    const delayMs = retryDelay(this.#ctx.retry, this.#failures);
    this.#ctx.logger.warn(
      { code: err.code, cause: counters.lastErrorDetail, doc: this.name, attempt: this.#failures, delayMs, updates: this.#pending.length },
      'storage batch failed; appends stay unacknowledged until a retry succeeds',
    );
    this.#retryTimer = this.#ctx.timers.setTimeout(() => {
      this.#retryTimer = undefined;
      this.#requestWrite(false);
      this.#notifyIdle();
    }, delayMs);
  }

  async #loadTask(): Promise<Uint8Array[]> {
    const state = this.#state ?? (await lookupDocState(this.#ctx, this.name, this.#nameBytes));
    this.#state ??= state;
    const out: Uint8Array[] = [];
    const stored = new Set<number>();
    if (state?.indexed === true) {
      const contents = await readDocument(this.#ctx.kv, state.docId);
      if (contents.damaged.length > 0) await this.#quarantine(contents.damaged);
      if (contents.snapshot !== undefined) out.push(contents.snapshot.bytes);
      for (const u of contents.updates) {
        out.push(u.bytes);
        stored.add(u.seq);
      }
    }
    // Accepted but not yet durable: part of the document all the same. (A retried batch may
    // already be on disk; its seqs were seen above and are not returned twice.)
    for (const p of this.#pending) if (p.seq === undefined || !stored.has(p.seq)) out.push(p.bytes);
    // A log that outgrew the threshold without a later write (e.g. written just before a
    // shutdown) is compacted, so the next cold load is flat — a moment after this load, not
    // beside it: the first compaction of a process starts the worker thread (~90 ms of CPU),
    // which would compete with serving the reader this load is for.
    if (state?.indexed === true && shouldCompact(this.#ctx.compaction, state.meta)) {
      this.#checkCompactionAt(this.#ctx.timers.now() + READ_COMPACTION_DELAY_MS);
    } else if (state?.indexed === true && this.#compactionTimer === undefined) this.#startQuietPeriod(state);
    return out;
  }

  /**
   * Note a write (or a load, when no check is pending: reads do not restart a quiet period):
   * once nothing was written for `compaction.idleMs` and the log has updates after its
   * snapshot (or two or more without one), it is compacted so the next cold load reads one
   * record. One timer per quiet period, not one per write: a check that comes early (a write
   * came meanwhile) waits out the rest.
   */
  #startQuietPeriod(state: DocState): void {
    if (!this.#compactsAtRest()) return;
    this.#quietSince = this.#ctx.timers.now();
    if (this.#compactionTimer === undefined && worthCompactingAtRest(state.meta)) {
      this.#checkCompactionAt(this.#quietSince + this.#ctx.compaction.idleMs);
    }
  }

  #compactsAtRest(): boolean {
    const { idleMs, enabled } = this.#ctx.compaction;
    return idleMs > 0 && enabled && this.#phase === 'open';
  }

  /** Check for a compaction at `at` (the engine's clock), or earlier if one is set for earlier. */
  #checkCompactionAt(at: number): void {
    if (this.#phase !== 'open') return;
    if (this.#compactionTimer !== undefined) {
      if (this.#compactionAt <= at) return;
      this.#ctx.timers.clearTimeout(this.#compactionTimer);
    }
    this.#compactionAt = at;
    this.#compactionTimer = this.#ctx.timers.setTimeout(() => this.#checkCompaction(), Math.max(0, at - this.#ctx.timers.now()));
  }

  /** The check's timer fired (`#recheck`). */
  #checkCompaction(): void {
    this.#compactionTimer = undefined;
    const state = this.#state;
    if (state?.indexed === true) this.#recheck(state);
    this.#notifyIdle();
  }

  /**
   * Compact now when the thresholds say so, or when the log is worth it and has been quiet long
   * enough (else check again when it will have been). Run by the check's timer, and after a
   * merge was written: triggers during it did nothing, so the appends written meanwhile may
   * call for the next compaction.
   */
  #recheck(state: DocState): void {
    if (this.#phase !== 'open') return;
    const quietUntil = this.#quietSince + this.#ctx.compaction.idleMs;
    if (shouldCompact(this.#ctx.compaction, state.meta)) this.#queueCompaction();
    else if (this.#compactsAtRest() && worthCompactingAtRest(state.meta)) {
      if (this.#ctx.timers.now() >= quietUntil) this.#queueCompaction();
      else this.#checkCompactionAt(quietUntil);
    }
  }

  #clearCompactionCheck(): void {
    if (this.#compactionTimer !== undefined) this.#ctx.timers.clearTimeout(this.#compactionTimer);
    this.#compactionTimer = undefined;
  }

  /** Move damaged records to quarantine in one synced batch; failure is logged, not fatal. */
  async #quarantine(damaged: Parameters<typeof quarantineOps>[1]): Promise<void> {
    this.#epoch++;
    reportDamage(this.#ctx, this.name, damaged);
    const ops = quarantineOps(this.#ctx, damaged, this.#ctx.timers.now());
    try {
      await this.#ctx.kv.batch(ops, { sync: true });
      this.#ctx.counters.quarantinedRecords += countQuarantined(ops);
    } catch (err) {
      const e = new SkeinError('SKEIN_ERR_STORAGE_WRITE', 'failed to quarantine damaged records', { cause: err });
      this.#ctx.counters.failed(e, this.#ctx.timers.now());
      this.#ctx.logger.error({ code: e.code, doc: this.name }, 'quarantine write failed; damaged records stay in place');
    }
  }

  #maybeCompact(state: DocState): void {
    if (this.#phase !== 'open' || !shouldCompact(this.#ctx.compaction, state.meta)) return;
    this.#queueCompaction();
  }

  #queueCompaction(): void {
    if (this.#compactionQueued || this.#phase !== 'open') return;
    this.#compactionQueued = true;
    void this.#compaction('background').catch(noop);
  }

  /**
   * The owner let the document go (its `offerState` offer withdrawn): a log with updates after
   * its snapshot is compacted now from the state the owner held last — cheap for a small
   * document, and the next cold load reads one record. Also while the store closes (a
   * shutdown releases every document first): that is what the next start loads. Only small
   * documents, only from that state (no merge): at most a few ms per released document.
   */
  released(offered: () => Uint8Array | undefined): void {
    const state = this.#state;
    const { enabled, idleMs } = this.#ctx.compaction;
    if (this.#phase === 'closed' || !enabled || idleMs === 0 || state?.indexed !== true || !worthCompactingAtRest(state.meta)) return;
    const offer = this.#offer(state.meta, offered);
    if (offer === undefined) return;
    // Checked when the task starts and again after its read: a closing store's time is bounded.
    const skip = (): boolean => this.#phase !== 'open' && this.#ctx.timers.now() > this.#ctx.shutdown.compactUntil;
    void this.#compaction('release', { ...offer, only: true, skip }).catch(noop);
  }

  /**
   * The owner's in-memory state for a compaction, while the stored log suggests a small
   * document: it holds the durable log and the updates accepted but not yet written (checked
   * against both sets of clocks before it is used).
   */
  #offer(meta: DocMeta, state: () => Uint8Array | undefined): OfferedState | undefined {
    if (meta.snapshotBytes + meta.logBytes > LIVE_STATE_MAX_BYTES) return undefined;
    const update = state();
    return update === undefined ? undefined : { update, accepted: this.#pending.map((p) => p.clocks) };
  }

  /** Queue a compaction; resolves with its outcome (after its merge's write, if it merges in the worker). */
  #compaction(mode: 'background' | 'on-demand' | 'release', released?: OfferedState): Promise<CompactionOutcome> {
    return this.#enqueue(() => this.#compactTask(mode, released)).then((started) => started.outcome);
  }

  /**
   * One compaction (a task of the queue). Its outcome comes wrapped, so that a merge in the
   * worker can finish after this task: the queue is not held while a large document is
   * merged, and the result is written by a later task of the queue.
   */
  async #compactTask(mode: 'background' | 'on-demand' | 'release', released?: OfferedState): Promise<{ outcome: Promise<CompactionOutcome> }> {
    const onDemand = mode === 'on-demand';
    if (mode === 'background') this.#compactionQueued = false;
    const nothing: CompactionOutcome = { compacted: false, mergedUpdates: 0, snapshotSeq: 0, snapshotBytes: 0, quarantined: 0 };
    const done = (outcome: CompactionOutcome): { outcome: Promise<CompactionOutcome> } => ({ outcome: Promise.resolve(outcome) });
    if (this.#phase === 'closed' || (mode === 'background' && this.#phase !== 'open') || released?.skip?.() === true) return done(nothing);
    const merging = this.#merge;
    if (merging !== undefined) {
      // One compaction of a document at a time. A trigger does nothing (the merge's write checks
      // the thresholds again); an on-demand or a release compaction runs once the merge is written.
      if (mode === 'background') return done(nothing);
      return { outcome: merging.then(noop, noop).then(() => this.#compaction(mode, released)) };
    }
    try {
      const state = this.#state ?? (await lookupDocState(this.#ctx, this.name, this.#nameBytes));
      this.#state ??= state;
      if (state?.indexed !== true) return done(nothing);
      const live = released ?? this.#offer(state.meta, () => this.#ctx.liveState(this.name));
      const started = await startCompaction(this.#ctx, state, live);
      if (started.kind === 'nothing') return done(nothing);
      if (started.kind === 'planned') return done(await writeCompaction(this.#ctx, state, started.plan, started.base, started.fromLive));
      const epoch = this.#epoch;
      const outcome: Promise<CompactionOutcome> = started.merge
        .then((plan) => this.#enqueue(() => {
          // Deleted, damaged records quarantined by a load, or the store closed meanwhile: not written.
          if (this.#epoch !== epoch || this.#state !== state || this.#phase === 'closed') return Promise.resolve(nothing);
          return writeCompaction(this.#ctx, state, plan, started.base, false);
        }))
        .then((written) => {
          this.#merge = undefined;
          this.#recheck(state);
          return written;
        })
        .catch((err: unknown) => this.#compactionFailed(err, onDemand, nothing))
        .finally(() => {
          if (this.#merge === outcome) this.#merge = undefined;
          this.#notifyIdle();
        });
      this.#merge = outcome;
      return { outcome };
    } catch (err) {
      return done(this.#compactionFailed(err, onDemand, nothing));
    }
  }

  /** Count and log a failed compaction (nothing was changed); an on-demand one rethrows. */
  #compactionFailed(err: unknown, onDemand: boolean, nothing: CompactionOutcome): CompactionOutcome {
    const e = toSkeinError(err, 'SKEIN_ERR_STORAGE_WRITE');
    // A merge the closing store's worker gave up on: the close, not a failure.
    if (e.code === 'SKEIN_ERR_STORAGE_CLOSED' && this.#phase === 'closed' && !onDemand) return nothing;
    this.#ctx.counters.compactionFailures++;
    this.#ctx.counters.failed(e, this.#ctx.timers.now());
    this.#ctx.logger.error({ code: e.code, cause: this.#ctx.counters.lastErrorDetail, doc: this.name }, 'compaction failed; the log is unchanged');
    if (onDemand) throw e;
    return nothing;
  }
}

/** A log a cold load would have to merge: updates after a snapshot, or two or more without one. */
function worthCompactingAtRest(meta: DocMeta): boolean {
  return meta.logCount > 0 && (meta.snapshotSeq > 0 || meta.logCount >= 2);
}

/** What `metaAfterAppend` made: the metadata, and the clocks its state vector encodes. */
interface Appended {
  readonly meta: DocMeta;
  readonly clocks: ReadonlyMap<number, number>;
  /** The clients of `clocks`, descending (the state vector's order). */
  readonly clients: readonly number[];
}

/**
 * Metadata after `items` land: counts, bytes, state vector, timestamps. `known`: the clocks of
 * `meta.stateVector` when the caller holds them (the previous append's), else they are decoded.
 */
function metaAfterAppend(meta: DocMeta, items: readonly Pending[], now: number, known: Appended | undefined): Appended {
  const reuse = known !== undefined && known.meta.stateVector === meta.stateVector;
  const clocks = reuse ? new Map(known.clocks) : decodeClocks(meta.stateVector);
  const before = clocks.size;
  let bytes = 0;
  let lastSeq = meta.lastSeq;
  for (const item of items) {
    mergeClocks(clocks, item.clocks);
    bytes += item.bytes.length;
    lastSeq = Math.max(lastSeq, item.seq ?? 0);
  }
  // The same clients as before (the common case): the same order, no sort.
  const clients = reuse && clocks.size === before ? known.clients : clientsOf(clocks);
  // Every field named (one object shape, whichever way `meta` was made).
  const next: DocMeta = {
    name: meta.name,
    createdAt: meta.createdAt,
    updatedAt: now,
    lastSeq,
    snapshotSeq: meta.snapshotSeq,
    snapshotBytes: meta.snapshotBytes,
    logCount: meta.logCount + items.length,
    logBytes: meta.logBytes + bytes,
    totalUpdates: meta.totalUpdates + items.length,
    stateVector: encodeClocks(clocks, clients),
  };
  return { meta: next, clocks, clients };
}

function closedError(): SkeinError {
  return new SkeinError('SKEIN_ERR_STORAGE_CLOSED', 'the store is closing or closed');
}

function noop(): void {}
