import { threadId } from 'node:worker_threads';
import { SkeinError, toSkeinError } from '../errors/skein-error.js';
import type { CompactionPolicy, EngineContext } from './engine-context.js';
import { countQuarantined, reportDamage, type DocState } from './doc-state.js';
import { collect, metaPut, quarantineOps } from './doc-reader.js';
import { planCompaction, type CompactionInput, type CompactionPlan, type LiveSnapshot } from './compaction-plan.js';
import { stateVectorOf } from '../crdt/state-vector.js';
import { DocKind, docKey, docRange, parseDocKey } from './key-layout.js';
import type { KvOp } from './kv-store.js';
import { decodeClocks, mergeClocks, type DocMeta } from './record-codec.js';

export { compactUpdates } from './compaction-plan.js';

/** Runs `planCompaction` somewhere (a worker thread); see `compaction-worker-pool.ts`. */
export interface Compactor {
  plan(input: CompactionInput): Promise<CompactionPlan>;
  /** Stop the worker (if any): jobs in flight and later `plan` calls reject with `SKEIN_ERR_STORAGE_CLOSED`. */
  close(): Promise<void>;
}

export interface CompactionOutcome {
  readonly compacted: boolean;
  /** Updates merged into the new snapshot. */
  readonly mergedUpdates: number;
  /** Sequence number the new snapshot covers. */
  readonly snapshotSeq: number;
  readonly snapshotBytes: number;
  readonly quarantined: number;
}

const NOTHING: CompactionOutcome = { compacted: false, mergedUpdates: 0, snapshotSeq: 0, snapshotBytes: 0, quarantined: 0 };

/** The background trigger: too many updates after the snapshot, or too many bytes. */
export function shouldCompact(policy: CompactionPolicy, meta: DocMeta): boolean {
  if (!policy.enabled || meta.logCount === 0) return false;
  if (meta.logCount >= policy.maxUpdates && meta.logBytes >= policy.minCountRatio * meta.snapshotBytes) return true;
  return meta.logBytes >= policy.minLogBytes && meta.logBytes >= policy.maxLogRatio * meta.snapshotBytes;
}

/**
 * Fold every durable update with seq ≤ S (S = the last durable seq) and the newest intact
 * snapshot into one new snapshot at S, keeping one generation back (see `docs/storage.md`,
 * "Snapshot generations"): the snapshot it was built from and every update after that one
 * stay; only what is now covered twice over (older snapshots, updates at or below the base)
 * is deleted. ONE atomic batch: put the snapshot, delete those keys, quarantine damaged
 * records, rewrite the metadata.
 *
 * Must run inside the document's serialized queue: no batch of that document is in flight,
 * so every update on disk with seq ≤ S is durable and read here, and later appends get
 * seq > S and are never touched. A crash before the batch leaves the old state; after it,
 * the new one; there is no state in between. The merge itself (`planCompaction`) is pure
 * CPU work and runs on `ctx.compactor` when there is one (a worker thread), so the event
 * loop keeps serving while a large document is folded.
 */
export async function compactDocument(ctx: EngineContext, state: DocState, live?: OfferedState): Promise<CompactionOutcome> {
  const upto = state.meta.lastSeq;
  const entries = (await collect(ctx.kv, docRange(state.docId), 'document records')).filter((entry) => {
    const parts = parseDocKey(entry.key);
    return parts === undefined || parts.kind !== DocKind.Update || parts.seq <= upto;
  });
  if (live?.skip?.() === true) return NOTHING;
  const input: CompactionInput = { docId: state.docId, upto, entries };
  const bytes = entries.reduce((sum, e) => sum + e.value.length, 0);
  const snapshot = live !== undefined && entries.length <= LIVE_MAX_RECORDS ? liveSnapshot(state.meta, live) : undefined;
  if (snapshot === undefined && live?.only === true) return NOTHING;
  const compactor = snapshot === undefined && bytes >= ctx.compaction.offThreadMinBytes ? ctx.compactor : undefined;
  let plan: CompactionPlan;
  try {
    // After this, `entries` may be detached (their buffers moved to the worker): not read again.
    plan = compactor === undefined ? planCompaction(input, snapshot) : await compactor.plan(input);
  } catch (err) {
    const e = toSkeinError(err, 'SKEIN_ERR_INTERNAL');
    throw e.code === 'SKEIN_ERR_STORAGE_CORRUPT_RECORD'
      ? new SkeinError(e.code, `records of "${state.meta.name}" could not be merged`, { cause: e })
      : e;
  }
  if (plan.snapshot === undefined && plan.damaged.length === 0) return NOTHING;
  const ops: KvOp[] = quarantineOps(ctx, plan.damaged, ctx.timers.now());
  let meta = state.meta;
  if (plan.snapshot !== undefined) {
    const snap = plan.snapshot;
    for (const key of plan.deletes) ops.push({ type: 'del', key });
    // After the quarantine deletes: the new snapshot key may equal a damaged one's.
    ops.push({ type: 'put', key: docKey(state.docId, DocKind.Snapshot, snap.seq), value: snap.record });
    meta = { ...state.meta, snapshotSeq: snap.seq, snapshotBytes: snap.bytes, logCount: 0, logBytes: 0, stateVector: snap.stateVector };
    ops.push(metaPut(state.docId, meta));
  }
  reportDamage(ctx, state.meta.name, plan.damaged);
  try {
    await ctx.kv.batch(ops, { sync: true });
  } catch (err) {
    throw new SkeinError('SKEIN_ERR_STORAGE_WRITE', `failed to write the compaction of "${state.meta.name}"`, { cause: err });
  }
  state.meta = meta;
  const quarantined = countQuarantined(ops);
  ctx.counters.quarantinedRecords += quarantined;
  if (plan.snapshot === undefined) return { ...NOTHING, quarantined };
  ctx.counters.compactions++;
  if (snapshot !== undefined) ctx.counters.compactionsFromLive++;
  if (plan.thread !== threadId) ctx.counters.compactionsOffThread++;
  return { compacted: true, mergedUpdates: plan.merged, snapshotSeq: plan.snapshot.seq, snapshotBytes: plan.snapshot.bytes, quarantined };
}

/**
 * A loaded document's state (`DocumentStore.offerState`) is used as the new snapshot only for
 * logs this short: the records are still read and checked on the event loop (a few µs each)
 * instead of in the worker. Longer logs take the worker's merge.
 */
const LIVE_MAX_RECORDS = 4096;

/**
 * A loaded document's in-memory state (`DocumentStore.offerState`), with the clocks of every
 * update accepted for it but not yet written (they are in that state too).
 */
export interface OfferedState {
  readonly update: Uint8Array;
  readonly accepted: readonly ReadonlyMap<number, number>[];
  /** Compact from this state or not at all (no merge of the records when it does not fit). */
  readonly only?: boolean;
  /** True: give up (checked again once the records are read, before any CPU-heavy step). */
  readonly skip?: () => boolean;
}

/**
 * The offered state as the new snapshot, if its clocks are exactly those of the durable log
 * plus the accepted updates (checked on its decoded structs). Anything else — a state ahead
 * (a change applied but not appended), behind, or bytes that do not decode — is not used: the
 * records are merged instead. A snapshot that also holds accepted updates is safe: they are
 * written later with seqs above it, and applying them again on load changes nothing.
 */
function liveSnapshot(meta: DocMeta, live: OfferedState): LiveSnapshot | undefined {
  let stateVector: Uint8Array;
  try {
    stateVector = stateVectorOf(live.update);
  } catch {
    return undefined;
  }
  const have = decodeClocks(stateVector);
  const want = decodeClocks(meta.stateVector);
  for (const clocks of live.accepted) mergeClocks(want, clocks);
  if (have.size !== want.size) return undefined;
  for (const [client, clock] of want) if (have.get(client) !== clock) return undefined;
  return { update: live.update, stateVector };
}
