import { compactUpdates } from '../crdt/compact.js';
import { threadId } from 'node:worker_threads';
import * as Y from 'yjs';
import { SkeinError } from '../errors/skein-error.js';
import { sortRecords, type DamagedRecord } from './doc-reader.js';
import { DocKind, docKey, parseDocKey, snapshotPartKey } from './key-layout.js';
import type { KvEntry } from './kv-store.js';
import { RecordType, encodeClocks, encodeManifest, encodeRecord, mergeClocks, type Clocks } from './record-codec.js';

/**
 * The CPU-heavy half of a compaction, as a pure function of the records read: verify every
 * record, merge, verify the result, encode the snapshot record. No I/O and no engine state,
 * so the same code runs in the compaction worker (`compaction-worker.ts`) and, where no
 * worker can start, on the calling thread. The I/O half (read, one atomic batch) stays in
 * `compaction.ts`, inside the document's queue.
 */

export interface CompactionInput {
  readonly docId: number;
  /** Fold every update with seq ≤ upto (the last durable seq when the task started). */
  readonly upto: number;
  /** Every record of the document (`docRange(docId)`), in key order, unverified. */
  readonly entries: readonly KvEntry[];
  /** A snapshot larger than this is stored in parts of this size (`CompactionPolicy.snapshotPartBytes`). */
  readonly partBytes: number;
}

/** One record to write before the compaction's batch (a part of a chunked snapshot). */
export interface PlannedPart {
  readonly key: Uint8Array;
  readonly record: Uint8Array;
}

export interface PlannedSnapshot {
  /** The new snapshot covers every update with seq ≤ seq. */
  readonly seq: number;
  /**
   * The record value to store under `docKey(docId, Snapshot, seq)` (checksum included): the
   * update itself, or the manifest of a chunked snapshot whose `parts` are written first.
   */
  readonly record: Uint8Array;
  /** A chunked snapshot's part records, in order (empty: the record holds the update). */
  readonly parts: readonly PlannedPart[];
  /** Payload bytes (the Yjs update). */
  readonly bytes: number;
  /** Yjs state-vector encoding of the new snapshot. */
  readonly stateVector: Uint8Array;
}

/**
 * The loaded document's own state as the new snapshot (`DocumentStore.offerState`), already
 * checked by the caller to cover exactly the clocks of the records it replaces: the records
 * are still read and their checksums checked (for what to delete and what to quarantine),
 * not decoded or merged.
 */
export interface LiveSnapshot {
  readonly update: Uint8Array;
  readonly stateVector: Uint8Array;
}

export interface CompactionPlan {
  /** `undefined`: no update after the newest intact snapshot, nothing to fold. */
  readonly snapshot: PlannedSnapshot | undefined;
  /** The snapshot the new one was built from: it stays, as the previous generation. */
  readonly base: { readonly seq: number; readonly bytes: number } | undefined;
  /** Updates folded into the new snapshot (they stay too, backing the base generation). */
  readonly merged: number;
  /**
   * Keys the new snapshot makes redundant twice over: snapshots older than the base (with
   * their parts) and updates at or below the base's seq; and parts of no intact snapshot
   * (except those the new snapshot's parts overwrite). Empty when no snapshot is written.
   */
  readonly deletes: readonly Uint8Array[];
  readonly damaged: readonly DamagedRecord[];
  /** `worker_threads.threadId` of the thread that computed the plan. */
  readonly thread: number;
}

/**
 * Plan one compaction (see `docs/storage.md`, "Snapshot generations"). The invariant kept:
 * after the batch, the newest snapshot N and the previous one P are both stored, with every
 * update after P; so if either snapshot record is damaged, the other one plus the retained
 * updates still hold the whole document.
 */
export function planCompaction(input: CompactionInput, live?: LiveSnapshot): CompactionPlan {
  // With the document's own state as the snapshot the payloads are not merged: checksums
  // find damage (what to quarantine); a load still checks every payload it applies.
  const contents = sortRecords(input.docId, input.entries, input.upto, live === undefined);
  const base = contents.snapshot;
  const baseInfo = base === undefined ? undefined : { seq: base.seq, bytes: base.bytes.length };
  if (contents.updates.length === 0) {
    return { snapshot: undefined, base: baseInfo, merged: 0, deletes: [], damaged: contents.damaged, thread: threadId };
  }
  let merged: Uint8Array;
  let stateVector: Uint8Array;
  if (live !== undefined) ({ update: merged, stateVector } = live);
  else {
    const parts = base === undefined ? [] : [base.bytes];
    for (const u of contents.updates) parts.push(u.bytes);
    try {
      merged = compactUpdates(parts);
      stateVector = Y.encodeStateVectorFromUpdate(merged);
    } catch (err) {
      throw new SkeinError('SKEIN_ERR_STORAGE_CORRUPT_RECORD', 'the records could not be merged', { cause: err });
    }
    verifySnapshot(parts, merged);
  }
  const seq = Math.max(input.upto, base?.seq ?? 0);
  const key = docKey(input.docId, DocKind.Snapshot, seq);
  const parts = merged.length > input.partBytes ? splitSnapshot(input.docId, seq, merged, input.partBytes) : [];
  const baseKey = base === undefined ? undefined : docKey(input.docId, DocKind.Snapshot, base.seq);
  const deletes: Uint8Array[] = [];
  for (const k of contents.snapshotKeys) {
    if (baseKey !== undefined && sameBytes(k, baseKey)) continue;
    deletes.push(k, ...(contents.snapshotParts.get(parseDocKey(k)?.seq ?? -1) ?? []));
  }
  deletes.push(...contents.staleKeys);
  // Leftovers of an unfinished compaction; a new part written under the same key is not one.
  for (const k of contents.orphanParts) {
    const p = parseDocKey(k);
    if (p === undefined || p.seq !== seq || p.part >= parts.length) deletes.push(k);
  }
  const record = parts.length === 0
    ? encodeRecord(key, RecordType.Snapshot, merged)
    : encodeRecord(key, RecordType.SnapshotManifest, encodeManifest({ parts: parts.length, bytes: merged.length }));
  return {
    snapshot: { seq, record, parts, bytes: merged.length, stateVector },
    base: baseInfo,
    merged: contents.updates.length,
    deletes,
    damaged: contents.damaged,
    thread: threadId,
  };
}

/** `update` as part records of `partBytes` each (the last one shorter), each a copy of its slice. */
function splitSnapshot(docId: number, seq: number, update: Uint8Array, partBytes: number): PlannedPart[] {
  const parts: PlannedPart[] = [];
  for (let at = 0, i = 0; at < update.length; at += partBytes, i++) {
    const key = snapshotPartKey(docId, seq, i);
    parts.push({ key, record: encodeRecord(key, RecordType.SnapshotPart, update.subarray(at, at + partBytes)) });
  }
  return parts;
}

/**
 * The new snapshot must decode and cover exactly the clocks of what went into it (every
 * client, up to its highest clock): checked before anything is written or deleted.
 */
function verifySnapshot(parts: readonly Uint8Array[], merged: Uint8Array): void {
  const input: Clocks = new Map();
  for (const p of parts) mergeClocks(input, Y.parseUpdateMeta(p).to);
  let output: Clocks;
  try {
    output = Y.parseUpdateMeta(merged).to;
  } catch (err) {
    throw new SkeinError('SKEIN_ERR_INTERNAL', 'the new snapshot does not decode; nothing was changed', { cause: err });
  }
  if (!sameBytes(encodeClocks(input), encodeClocks(output))) {
    throw new SkeinError('SKEIN_ERR_INTERNAL', 'the new snapshot does not cover the state of its input; nothing was changed');
  }
}

// The fold itself is a shared CRDT codec (a leaf, `crdt/`): the cluster's shared tier uses it too.
export { compactUpdates };

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
