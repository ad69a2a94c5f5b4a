import * as Y from 'yjs';
import { compactUpdates } from '../crdt/compact.js';
import { SkeinError } from '../errors/skein-error.js';
import type { CompactionPolicy, EngineContext } from './engine-context.js';
import { countQuarantined, reportDamage, type DocState } from './doc-state.js';
import { metaPut, quarantineOps, readDocument } from './doc-reader.js';
import { DocKind, docKey } from './key-layout.js';
import type { KvOp } from './kv-store.js';
import { RecordType, encodeRecord, type DocMeta } from './record-codec.js';

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
  if (meta.logCount >= policy.maxUpdates) return true;
  return meta.logBytes >= policy.minLogBytes && meta.logBytes >= policy.maxLogRatio * meta.snapshotBytes;
}

/**
 * Merge the snapshot and every durable update with seq ≤ S (S = the last durable seq) into
 * one new snapshot at S and, in ONE atomic batch: put the snapshot, delete the superseded
 * snapshot and the merged updates, quarantine damaged records, rewrite the metadata.
 *
 * Must run inside the document's serialized queue: no batch of that document is in flight,
 * so every update on disk with seq ≤ S is durable and read here, and later appends get
 * seq > S and are never touched. A crash before the batch leaves the old state; after it,
 * the new one; there is no state in between.
 */
export async function compactDocument(ctx: EngineContext, state: DocState): Promise<CompactionOutcome> {
  const upto = state.meta.lastSeq;
  const contents = await readDocument(ctx.kv, state.docId, upto);
  if (contents.updates.length === 0 && contents.damaged.length === 0 && contents.staleKeys.length === 0) return NOTHING;
  const parts = contents.snapshot === undefined ? [] : [contents.snapshot.bytes];
  for (const u of contents.updates) parts.push(u.bytes);
  let merged: Uint8Array;
  let stateVector: Uint8Array;
  try {
    merged = compactUpdates(parts);
    stateVector = Y.encodeStateVectorFromUpdate(merged);
  } catch (err) {
    throw new SkeinError('SKEIN_ERR_STORAGE_CORRUPT_RECORD', `records of "${state.meta.name}" could not be merged`, { cause: err });
  }
  const snapshotSeq = Math.max(upto, contents.snapshot?.seq ?? 0);
  const snapKey = docKey(state.docId, DocKind.Snapshot, snapshotSeq);
  const meta: DocMeta = {
    ...state.meta,
    snapshotSeq,
    snapshotBytes: merged.length,
    logCount: 0,
    logBytes: 0,
    stateVector,
  };
  const ops: KvOp[] = quarantineOps(ctx, contents.damaged, ctx.timers.now());
  for (const key of contents.snapshotKeys) ops.push({ type: 'del', key });
  for (const key of contents.staleKeys) ops.push({ type: 'del', key });
  for (const u of contents.updates) ops.push({ type: 'del', key: docKey(state.docId, DocKind.Update, u.seq) });
  // After the deletes: the new snapshot key may equal the old one (a forced re-compaction).
  ops.push({ type: 'put', key: snapKey, value: encodeRecord(snapKey, RecordType.Snapshot, merged) });
  ops.push(metaPut(state.docId, meta));
  reportDamage(ctx, state.meta.name, contents.damaged);
  try {
    await ctx.kv.batch(ops, { sync: true });
  } catch (err) {
    throw new SkeinError('SKEIN_ERR_STORAGE_WRITE', `failed to write the compaction of "${state.meta.name}"`, { cause: err });
  }
  state.meta = meta;
  const quarantined = countQuarantined(ops);
  ctx.counters.quarantinedRecords += quarantined;
  ctx.counters.compactions++;
  return { compacted: true, mergedUpdates: contents.updates.length, snapshotSeq, snapshotBytes: merged.length, quarantined };
}

// The fold itself is a shared CRDT codec (a leaf, `crdt/`): the cluster's shared tier uses it too.
export { compactUpdates };
