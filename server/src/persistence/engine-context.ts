import { systemClock, type Clock, type TimerHandle } from '../clock/clock.js';
import type { ErrorCode } from '../errors/registry.js';
import type { SkeinError } from '../errors/skein-error.js';
import type { Logger } from '../logging/logger.js';
import type { PersistenceProbes } from './probes.js';
import type { Compactor } from './compaction.js';
import type { KvStore } from './kv-store.js';
import type { StoreOutbox } from './store-outbox.js';
import type { StoreEvents } from './store-events.js';

/**
 * The part of the server's one `Clock` the engine uses (debounce, retry, close deadlines,
 * metadata timestamps): injectable so tests drive it on manual time. Any `Clock` is one.
 */
export type Timers = Pick<Clock, 'setTimeout' | 'clearTimeout' | 'now'>;

export type { TimerHandle };

export const systemTimers: Timers = systemClock;

export interface CompactionPolicy {
  /** Background compaction on/off (`compact()` on demand always works). */
  readonly enabled: boolean;
  /**
   * Compact once this many updates are stored after the snapshot — and they add up to at least
   * `minCountRatio` × the snapshot's bytes.
   */
  readonly maxUpdates: number;
  /**
   * A compaction re-encodes the whole document, so a large document edited in small steps
   * would pay O(document) every `maxUpdates` updates: the count trigger waits until the log is
   * this fraction of the snapshot (0.1: compaction reads at most ~11× the bytes written).
   * 0: the count alone decides.
   */
  readonly minCountRatio: number;
  /** …or once the updates after the snapshot reach `minLogBytes` and `maxLogRatio` × snapshot bytes. */
  readonly minLogBytes: number;
  readonly maxLogRatio: number;
  /**
   * Compactions that read at least this many bytes of records merge in the compaction
   * worker thread, off the event loop; smaller ones merge in place (below 8 KiB a merge takes
   * about a millisecond, and a store of small documents never starts the worker). 0: always
   * in the worker; `Infinity`: never.
   */
  readonly offThreadMinBytes: number;
  /**
   * A document whose log has updates after its snapshot (or two or more without one) and
   * that nothing wrote for this long is compacted, whatever the thresholds above: a cold load
   * then reads one snapshot instead of merging the log into it (O(document) each time).
   * 0: only the thresholds.
   */
  readonly idleMs: number;
  /**
   * A new snapshot larger than this is stored as parts of this size (a manifest under the
   * snapshot's key, the parts beside it), written in batches of their own before the
   * compaction's atomic batch: LevelDB copies every value into its batch on the event loop,
   * and every document's group commit waits behind a batch being written, so one 20 MB
   * snapshot in one batch stalled the node (docs/storage.md, "Chunked snapshots").
   */
  readonly snapshotPartBytes: number;
}

export const DEFAULT_COMPACTION: CompactionPolicy = Object.freeze({
  enabled: true,
  maxUpdates: 500,
  minCountRatio: 0.1,
  minLogBytes: 64 * 1024,
  maxLogRatio: 1,
  offThreadMinBytes: 8 * 1024,
  idleMs: 10_000,
  snapshotPartBytes: 1024 * 1024,
});

export interface RetryPolicy {
  /** Delay before the first retry of a failed batch; doubles per consecutive failure… */
  readonly initialDelayMs: number;
  /** …up to this cap. Retries continue until success or close. */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ initialDelayMs: 50, maxDelayMs: 5_000 });

export function retryDelay(policy: RetryPolicy, failures: number): number {
  const exp = policy.initialDelayMs * 2 ** Math.min(Math.max(failures - 1, 0), 30);
  return Math.min(exp, policy.maxDelayMs);
}

/** Counters behind `stats()` and `health()`; mutated only by the engine. */
export class StoreCounters {
  batchesWritten = 0;
  batchFailures = 0;
  consecutiveFailures = 0;
  lastErrorCode: ErrorCode | null = null;
  lastErrorDetail: string | null = null;
  lastErrorAt: number | null = null;
  quarantinedRecords = 0;
  compactions = 0;
  compactionFailures = 0;
  /** Compactions whose merge ran in the worker thread. */
  compactionsOffThread = 0;
  /** Compactions that took the loaded document's own state as the snapshot (no merge). */
  compactionsFromLive = 0;

  batchSucceeded(): void {
    this.batchesWritten++;
    this.consecutiveFailures = 0;
  }

  failed(err: SkeinError, at: number): void {
    this.lastErrorCode = err.code;
    this.lastErrorDetail = causeCode(err);
    this.lastErrorAt = at;
  }

  batchFailed(err: SkeinError, at: number): void {
    this.batchFailures++;
    this.consecutiveFailures++;
    this.failed(err, at);
  }
}

/** The `code` of an error's cause (e.g. LevelDB's `LEVEL_IO_ERROR`), if it has one. */
function causeCode(err: SkeinError): string | null {
  const cause: unknown = err.cause;
  if (typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string') {
    return cause.code;
  }
  return null;
}

/** What every per-document log shares with the engine. */
export interface EngineContext {
  /** The node's one store, behind node-wide group commit (`group-commit.ts`). */
  readonly kv: KvStore;
  /** Writes that reached the store underneath (one fsync each when synced). */
  diskWrites(): number;
  /** The replication outbox: records ride in the same batch as the log records they copy. */
  readonly outbox: StoreOutbox;
  /** The document-event journal, when the store journals events (change marks ride in the log batches). */
  readonly events?: StoreEvents;
  readonly logger: Logger;
  readonly timers: Timers;
  readonly counters: StoreCounters;
  readonly compaction: CompactionPolicy;
  readonly retry: RetryPolicy;
  /** Spans and metrics of batch writes, and the health model's persistence figures. */
  readonly telemetry?: PersistenceProbes;
  /** Where compaction merges run (a worker thread); absent: on the calling thread. */
  readonly compactor?: Compactor;
  /**
   * Set when the store starts closing: compactions of released documents (document-log.ts,
   * `released`) that have not started by `compactUntil` are skipped, so a shutdown that
   * releases many documents at once spends a bounded time on them.
   */
  readonly shutdown: { compactUntil: number };
  /** The in-memory state of a loaded document, where its owner offered one (`DocumentStore.offerState`). */
  liveState(name: string): Uint8Array | undefined;
  allocateDocId(): number;
  allocateQuarantineId(): number;
}
