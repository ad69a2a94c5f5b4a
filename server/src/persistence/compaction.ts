import { threadId } from 'node:worker_threads';
import { SkeinError, toSkeinError } from '../errors/skein-error.js';
import type { CompactionPolicy, EngineContext } from './engine-context.js';
import { countQuarantined, reportDamage, type DocState } from './doc-state.js';
import { collect, metaPut, quarantineOps } from './doc-reader.js';
import { planCompaction, type CompactionInput, type CompactionPlan, type LiveSnapshot } from './compaction-plan.js';
import { stateVectorOf } from '../crdt/state-vector.js';
import { DocKind, docKey, docRange, parseDocKey } from './key-layout.js';
import type { KvOp } from './kv-store.js';
import { decodeClocks, encodeClocks, mergeClocks, type DocMeta } from './record-codec.js';

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
 * A compaction once its records are read: nothing to do, a plan made on the calling thread,
 * or the merge still running in the worker. `base` is the document's metadata when the
 * records were read (the snapshot will cover seq ≤ `base.lastSeq`).
 */
export type CompactionStart =
  | { readonly kind: 'nothing' }
  | { readonly kind: 'planned'; readonly plan: CompactionPlan; readonly base: DocMeta; readonly fromLive: boolean }
  | { readonly kind: 'merging'; readonly merge: Promise<CompactionPlan>; readonly base: DocMeta };

/**
 * Fold every durable update with seq ≤ S (S = the last durable seq) and the newest intact
 * snapshot into one new snapshot at S, keeping one generation back (see `docs/storage.md`,
 * "Snapshot generations"): the snapshot it was built from and every update after that one
 * stay; only what is now covered twice over (older snapshots, updates at or below the base)
 * is deleted. ONE atomic batch: put the snapshot, delete those keys, quarantine damaged
 * records, rewrite the metadata. A crash before the batch leaves the old state; after it,
 * the new one; there is no state in between.
 *
 * Two steps, each a task of the document's serialized queue (`DocumentLog`): this one reads
 * the records — no batch of the document is in flight, so every update on disk with seq ≤ S
 * is durable and read here, and later appends get seq > S and are never touched — and plans
 * the new snapshot: from the offered live state, on the calling thread for a small log, or in
 * the worker (`ctx.compactor`), in which case `merge` is still running and the queue is free
 * meanwhile (a 20 MB document's merge takes seconds: the document's appends do not wait for
 * it). `writeCompaction` writes the plan.
 */
export async function startCompaction(ctx: EngineContext, state: DocState, live?: OfferedState): Promise<CompactionStart> {
  const base = state.meta;
  const upto = base.lastSeq;
  const entries = (await collect(ctx.kv, docRange(state.docId), 'document records')).filter((entry) => {
    const parts = parseDocKey(entry.key);
    return parts === undefined || parts.kind !== DocKind.Update || parts.seq <= upto;
  });
  if (live?.skip?.() === true) return { kind: 'nothing' };
  const input: CompactionInput = { docId: state.docId, upto, entries, partBytes: ctx.compaction.snapshotPartBytes };
  const bytes = entries.reduce((sum, e) => sum + e.value.length, 0);
  const snapshot = live !== undefined && entries.length <= LIVE_MAX_RECORDS ? liveSnapshot(base, live) : undefined;
  if (snapshot === undefined && live?.only === true) return { kind: 'nothing' };
  const compactor = snapshot === undefined && bytes >= ctx.compaction.offThreadMinBytes ? ctx.compactor : undefined;
  if (compactor === undefined) {
    let plan: CompactionPlan;
    try {
      plan = planCompaction(input, snapshot);
    } catch (err) {
      throw planFailed(err, base.name);
    }
    return { kind: 'planned', plan, base, fromLive: snapshot !== undefined };
  }
  // After this, `entries` may be detached (their buffers moved to the worker): not read again.
  const merge = compactor.plan(input).catch((err: unknown) => {
    throw planFailed(err, base.name);
  });
  return { kind: 'merging', merge, base };
}

function planFailed(err: unknown, name: string): SkeinError {
  const e = toSkeinError(err, 'SKEIN_ERR_INTERNAL');
  return e.code === 'SKEIN_ERR_STORAGE_CORRUPT_RECORD' ? new SkeinError(e.code, `records of "${name}" could not be merged`, { cause: e }) : e;
}

/**
 * Write a planned compaction (in the document's queue). Updates appended since the records
 * were read (`base`) have seqs above the new snapshot: they stay after it, and the metadata
 * keeps counting them (and their clocks) as the log after the snapshot.
 */
export async function writeCompaction(ctx: EngineContext, state: DocState, plan: CompactionPlan, base: DocMeta, fromLive: boolean): Promise<CompactionOutcome> {
  if (plan.snapshot === undefined && plan.damaged.length === 0) return NOTHING;
  const ops: KvOp[] = quarantineOps(ctx, plan.damaged, ctx.timers.now());
  const current = state.meta;
  let meta = current;
  if (plan.snapshot !== undefined) {
    const snap = plan.snapshot;
    for (const key of plan.deletes) ops.push({ type: 'del', key });
    let stateVector = snap.stateVector;
    if (current !== base) {
      const clocks = decodeClocks(current.stateVector);
      mergeClocks(clocks, decodeClocks(snap.stateVector));
      stateVector = encodeClocks(clocks);
    }
    meta = {
      ...current, snapshotSeq: snap.seq, snapshotBytes: snap.bytes,
      logCount: current.logCount - base.logCount, logBytes: current.logBytes - base.logBytes, stateVector,
    };
    ops.push(metaPut(state.docId, meta));
    // Last: after the quarantine deletes (the new snapshot key may equal a damaged one's), and
    // after every other op, because LevelDB copies each value into its write batch's buffer on
    // this thread and that buffer doubles when it grows: a small op after a large value makes
    // it copy the value again (a 20 MB one: 60–330 ms on a cloud VM, page faults). A snapshot
    // over `snapshotPartBytes` is only its manifest here, its parts written before.
    ops.push({ type: 'put', key: docKey(state.docId, DocKind.Snapshot, snap.seq), value: snap.record });
  }
  reportDamage(ctx, base.name, plan.damaged);
  try {
    // A chunked snapshot's parts first, one unsynced batch each (the batch below syncs them
    // with it): LevelDB copies a value into its batch on this thread and the node's group
    // commit writes one batch at a time, so a part at a time keeps both short. Until the
    // manifest is written they belong to nothing; after a crash the next compaction deletes them.
    for (const part of plan.snapshot?.parts ?? []) await ctx.kv.batch([{ type: 'put', key: part.key, value: part.record }], { sync: false });
    await ctx.kv.batch(ops, { sync: true });
  } catch (err) {
    throw new SkeinError('SKEIN_ERR_STORAGE_WRITE', `failed to write the compaction of "${base.name}"`, { cause: err });
  }
  state.meta = meta;
  const quarantined = countQuarantined(ops);
  ctx.counters.quarantinedRecords += quarantined;
  if (plan.snapshot === undefined) return { ...NOTHING, quarantined };
  ctx.counters.compactions++;
  if (fromLive) ctx.counters.compactionsFromLive++;
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
