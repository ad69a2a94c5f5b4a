import type { ErrorCode } from '../errors/registry.js';
import type { DocumentLog } from './document-log.js';
import type { StoreCounters } from './engine-context.js';
import type { StrategyKind } from './strategy-rules.js';

export interface PendingTotals {
  /** Accepted appends not yet durable (not acknowledged). */
  readonly updates: number;
  readonly bytes: number;
}

export interface StoreStats {
  /** Per-document logs held in memory (documents with recent or pending activity). */
  readonly documentsOpen: number;
  /** Append batches written successfully (each one synced). */
  readonly batchesWritten: number;
  /**
   * Writes that reached the disk (node-wide group commit: one write, one fsync, carries the
   * batches of every document that asked while the previous write was in flight).
   */
  readonly diskWrites: number;
  /** Failed batch attempts, in total and since the last successful batch (any document). */
  readonly batchFailures: number;
  readonly consecutiveFailures: number;
  /** Documents whose last batch attempt failed and which wait for a retry. */
  readonly failingDocuments: number;
  readonly lastErrorCode: ErrorCode | null;
  /** The underlying error's code, e.g. `LEVEL_IO_ERROR`. */
  readonly lastErrorDetail: string | null;
  readonly lastErrorAt: number | null;
  readonly pending: Readonly<Record<StrategyKind, PendingTotals>>;
  /** Records in quarantine (found at open plus moved since). */
  readonly quarantinedRecords: number;
  readonly compactions: number;
  readonly compactionFailures: number;
  /** Compactions whose merge ran in the worker thread, off the event loop. */
  readonly compactionsOffThread: number;
  /** Compactions that took the loaded document's own state as the snapshot, merging nothing. */
  readonly compactionsFromLive: number;
}

export type HealthStatus = 'ok' | 'degraded' | 'closed';

export interface StoreHealth {
  /** `degraded`: writes are failing; acknowledgements wait for the retries to succeed. */
  readonly status: HealthStatus;
  /** Short machine-readable reasons (empty when ok). */
  readonly reasons: readonly string[];
  readonly consecutiveFailures: number;
  readonly failingDocuments: number;
  readonly lastErrorCode: ErrorCode | null;
  readonly lastErrorAt: number | null;
  readonly quarantinedRecords: number;
}

export function buildStats(counters: StoreCounters, logs: Iterable<DocumentLog>, diskWrites: number): StoreStats {
  const pending = { immediate: { updates: 0, bytes: 0 }, debounced: { updates: 0, bytes: 0 } };
  let documentsOpen = 0;
  let failingDocuments = 0;
  for (const log of logs) {
    documentsOpen++;
    if (log.failing) failingDocuments++;
    const totals = pending[log.strategy.kind];
    totals.updates += log.pendingUpdates;
    totals.bytes += log.pendingBytes;
  }
  return {
    documentsOpen,
    batchesWritten: counters.batchesWritten,
    diskWrites,
    batchFailures: counters.batchFailures,
    consecutiveFailures: counters.consecutiveFailures,
    failingDocuments,
    lastErrorCode: counters.lastErrorCode,
    lastErrorDetail: counters.lastErrorDetail,
    lastErrorAt: counters.lastErrorAt,
    pending,
    quarantinedRecords: counters.quarantinedRecords,
    compactions: counters.compactions,
    compactionFailures: counters.compactionFailures,
    compactionsOffThread: counters.compactionsOffThread,
    compactionsFromLive: counters.compactionsFromLive,
  };
}

export function buildHealth(phase: 'open' | 'closing' | 'closed', stats: StoreStats): StoreHealth {
  const reasons: string[] = [];
  if (phase !== 'open') reasons.push(`store-${phase}`);
  if (stats.failingDocuments > 0) reasons.push('storage-writes-failing');
  let status: HealthStatus = 'ok';
  if (phase !== 'open') status = 'closed';
  else if (reasons.length > 0) status = 'degraded';
  return {
    status,
    reasons,
    consecutiveFailures: stats.consecutiveFailures,
    failingDocuments: stats.failingDocuments,
    lastErrorCode: stats.lastErrorCode,
    lastErrorAt: stats.lastErrorAt,
    quarantinedRecords: stats.quarantinedRecords,
  };
}
