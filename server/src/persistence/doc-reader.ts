import * as Y from 'yjs';
import { stateVectorOf } from '../crdt/state-vector.js';
import { SkeinError } from '../errors/skein-error.js';
import type { EngineContext } from './engine-context.js';
import {
  DocKind, Space, docKey, metaKey, nameKey, parseDocKey, parseIdKey, quarantineKey, snapshotPartRange, snapshotRange, spaceRange, updateRange,
} from './key-layout.js';
import type { KvEntry, KvOp, KvRange, KvStore } from './kv-store.js';
import {
  RecordType, decodeManifest, decodeMeta, decodePayload, decodeVarUint, encodeClocks, encodeMetaRecord, encodeQuarantine, encodeRecord, mergeClocks,
  openRecord, readRecord, type Clocks, type Decoded, type DocMeta, type RecordDamage, type SnapshotManifest,
} from './record-codec.js';

export interface StoredUpdate {
  readonly seq: number;
  readonly bytes: Uint8Array;
}

export interface DamagedRecord {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly damage: RecordDamage;
}

/** A document's records as classified by `sortRecords` (all of them) or `readDocument` (what a load needs). */
export interface DocContents {
  /** The latest intact snapshot, if any. */
  readonly snapshot: StoredUpdate | undefined;
  /** Every intact snapshot key, oldest first (compaction keeps the newest two). */
  readonly snapshotKeys: readonly Uint8Array[];
  /** The part keys of each intact chunked snapshot, by its seq (they go when it goes). */
  readonly snapshotParts: ReadonlyMap<number, readonly Uint8Array[]>;
  /** Part keys that belong to no intact snapshot: a compaction that did not finish, or a quarantined manifest's. */
  readonly orphanParts: readonly Uint8Array[];
  /** Intact updates after the snapshot, in sequence order. */
  readonly updates: readonly StoredUpdate[];
  /** Intact updates at or below the snapshot's seq (merged into it; kept while they back the previous generation). */
  readonly staleKeys: readonly Uint8Array[];
  readonly damaged: readonly DamagedRecord[];
}

/** The bytes are a Yjs update the decoder accepts (throws otherwise). */
export function checkUpdate(payload: Uint8Array): Uint8Array {
  Y.parseUpdateMeta(payload);
  return payload;
}

/**
 * `checkUpdate` for a snapshot record: every struct is decoded for its state vector, which is
 * kept for whoever asks next for the same bytes (a document loaded from one snapshot needs it
 * at once, `crdt/state-vector.ts`). Updates get the plain check: their vectors are not asked
 * for, and computing and keeping one per record doubled the cost of reading a log (a
 * compaction reads two generations of it).
 */
export function checkSnapshot(payload: Uint8Array): Uint8Array {
  stateVectorOf(payload);
  return payload;
}

function unchecked(payload: Uint8Array): Uint8Array {
  return payload;
}

/** What a snapshot key holds: the update itself, or the manifest of a chunked snapshot. */
export type SnapshotHead = { readonly whole: Uint8Array } | { readonly manifest: SnapshotManifest };

/**
 * The record under a snapshot key, checksum verified, as a whole update (its payload not yet
 * checked) or a chunked snapshot's manifest; any other type is `type` damage.
 */
export function openSnapshot(key: Uint8Array, value: Uint8Array): Decoded<SnapshotHead> {
  if (value[0] === RecordType.SnapshotManifest) {
    const manifest = readRecord(key, value, RecordType.SnapshotManifest, decodeManifest);
    return manifest.ok ? { ok: true, value: { manifest: manifest.value } } : manifest;
  }
  const whole = openRecord(key, value, RecordType.Snapshot);
  return whole.ok ? { ok: true, value: { whole: whole.value } } : whole;
}

/**
 * The update a chunked snapshot's parts hold together (a fresh buffer), given the part
 * entries of its seq in key order: parts 0 … `manifest.parts` − 1 all present and intact,
 * adding up to `manifest.bytes` (parts numbered beyond are leftovers, not its own). A
 * missing part or a wrong total is `truncated`.
 */
export function joinParts(manifest: SnapshotManifest, parts: readonly KvEntry[]): Decoded<Uint8Array> {
  if (parts.length < manifest.parts) return { ok: false, damage: 'truncated' };
  const payloads: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < manifest.parts; i++) {
    const entry = parts[i] as KvEntry;
    if (parseDocKey(entry.key)?.part !== i) return { ok: false, damage: 'truncated' };
    const part = openRecord(entry.key, entry.value, RecordType.SnapshotPart);
    if (!part.ok) return part;
    payloads.push(part.value);
    total += part.value.length;
  }
  if (total !== manifest.bytes) return { ok: false, damage: 'truncated' };
  const joined = new Uint8Array(total);
  let at = 0;
  for (const p of payloads) {
    joined.set(p, at);
    at += p.length;
  }
  return { ok: true, value: joined };
}

/** A snapshot's update from its head (and parts), its payload checked by `check`. */
function snapshotBytes(head: SnapshotHead, parts: readonly KvEntry[], check: (payload: Uint8Array) => Uint8Array): Decoded<Uint8Array> {
  const bytes = 'whole' in head ? { ok: true as const, value: head.whole } : joinParts(head.manifest, parts);
  return bytes.ok ? decodePayload(bytes.value, check) : bytes;
}

/** Run a KV read; any failure becomes `SKEIN_ERR_STORAGE_READ` (never an empty result). */
export async function read<T>(what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof SkeinError) throw err;
    throw new SkeinError('SKEIN_ERR_STORAGE_READ', `failed to read ${what}`, { cause: err });
  }
}

/** Collect every entry of a range (for bounded ranges only: one document). */
export async function collect(kv: KvStore, range: KvRange, what: string): Promise<{ key: Uint8Array; value: Uint8Array }[]> {
  return read(what, async () => {
    const out: { key: Uint8Array; value: Uint8Array }[] = [];
    for await (const entry of kv.iterate(range)) out.push(entry);
    return out;
  });
}

/**
 * Read what a load needs of one document: its newest intact snapshot and the intact updates
 * after it (up to `uptoSeq`), verifying every record it returns. Damaged records are returned
 * separately, never thrown; I/O errors reject.
 *
 * Snapshots are verified newest first: when the newest is damaged, the previous generation
 * (kept by compaction together with every update after it, see `docs/storage.md`) is used,
 * and the updates are read from that one's seq on. Older snapshots and the retained updates
 * at or below the chosen snapshot are neither read nor verified (so `staleKeys` is empty and
 * `snapshotKeys` holds the chosen snapshot only): compaction and `verify` check those.
 */
export async function readDocument(kv: KvStore, docId: number, uptoSeq?: number): Promise<DocContents> {
  const damaged: DamagedRecord[] = [];
  let snapshot: StoredUpdate | undefined;
  let snapshotKey: Uint8Array | undefined;
  // One snapshot per read (newest first): a large older generation is not even read.
  const lowest = snapshotRange(docId).gte;
  let range: KvRange = { ...snapshotRange(docId), reverse: true, limit: 1 };
  while (snapshot === undefined) {
    const [entry] = await collect(kv, range, 'document snapshot');
    if (entry === undefined) break;
    range = { ...(lowest === undefined ? {} : { gte: lowest }), lt: entry.key, reverse: true, limit: 1 };
    const parts = parseDocKey(entry.key);
    if (parts === undefined || parts.docId !== docId || parts.kind !== DocKind.Snapshot) continue;
    const head = openSnapshot(entry.key, entry.value);
    const pieces = head.ok && 'manifest' in head.value ? await collect(kv, snapshotPartRange(docId, parts.seq), 'snapshot parts') : [];
    // A damaged chunked snapshot's manifest is quarantined; its parts are left to the next compaction.
    const rec = head.ok ? snapshotBytes(head.value, pieces, checkSnapshot) : head;
    if (!rec.ok) damaged.push({ key: entry.key, value: entry.value, damage: rec.damage });
    else {
      snapshot = { seq: parts.seq, bytes: rec.value };
      snapshotKey = entry.key;
    }
  }
  const floor = snapshot?.seq ?? 0;
  const upto = uptoSeq ?? Number.MAX_SAFE_INTEGER;
  const entries = upto > floor ? await collect(kv, updateRange(docId, floor, upto), 'document updates') : [];
  const rest = sortRecords(docId, entries, uptoSeq);
  return {
    snapshot,
    snapshotKeys: snapshotKey === undefined ? [] : [snapshotKey],
    snapshotParts: new Map(),
    orphanParts: [],
    updates: rest.updates,
    staleKeys: [],
    damaged: [...damaged, ...rest.damaged],
  };
}

/**
 * The pure part of `readDocument`: classify the records of one document (`entries`, in key
 * order, as read from `docRange(docId)`), checking every checksum and payload (`payloads:
 * false`: checksums only, for a compaction whose snapshot does not come from these records).
 * No I/O, no engine state: it also runs inside the compaction worker.
 */
export function sortRecords(docId: number, entries: Iterable<KvEntry>, uptoSeq?: number, payloads = true): DocContents {
  const forSnapshot = payloads ? checkSnapshot : unchecked;
  const forUpdate = payloads ? checkUpdate : unchecked;
  let snapshot: StoredUpdate | undefined;
  const snapshotKeys: Uint8Array[] = [];
  const snapshotParts = new Map<number, Uint8Array[]>();
  const updates: StoredUpdate[] = [];
  const damaged: DamagedRecord[] = [];
  const heads: { key: Uint8Array; value: Uint8Array; seq: number }[] = [];
  // Parts sort after the updates: snapshots are resolved once every record has been seen.
  const partsBySeq = new Map<number, KvEntry[]>();
  for (const entry of entries) {
    const { key, value } = entry;
    const parts = parseDocKey(key);
    if (parts === undefined || parts.docId !== docId) continue; // not a record key of this document: `verify` reports it
    if (parts.kind === DocKind.Snapshot) heads.push({ key, value, seq: parts.seq });
    else if (parts.kind === DocKind.SnapshotPart) {
      const list = partsBySeq.get(parts.seq);
      if (list === undefined) partsBySeq.set(parts.seq, [entry]);
      else list.push(entry);
    } else if (parts.kind === DocKind.Update && (uptoSeq === undefined || parts.seq <= uptoSeq)) {
      const rec = readRecord(key, value, RecordType.Update, forUpdate);
      if (!rec.ok) damaged.push({ key, value, damage: rec.damage });
      else updates.push({ seq: parts.seq, bytes: rec.value });
    }
  }
  for (const { key, value, seq } of heads) {
    const head = openSnapshot(key, value);
    const pieces = head.ok && 'manifest' in head.value ? (partsBySeq.get(seq) ?? []) : [];
    const rec = head.ok ? snapshotBytes(head.value, pieces, forSnapshot) : head;
    if (!rec.ok) damaged.push({ key, value, damage: rec.damage });
    else {
      snapshotKeys.push(key);
      snapshot = { seq, bytes: rec.value }; // keys ascend: the last one wins
      if (pieces.length > 0 && head.ok && 'manifest' in head.value) {
        // Its own parts go with it; any numbered beyond (never written by a finished compaction) are leftovers.
        const count = head.value.manifest.parts;
        snapshotParts.set(seq, pieces.slice(0, count).map((p) => p.key));
        partsBySeq.set(seq, pieces.slice(count));
      }
    }
  }
  const orphanParts = [...partsBySeq.values()].flatMap((list) => list.map((p) => p.key));
  const floor = snapshot?.seq ?? 0;
  const staleKeys: Uint8Array[] = [];
  const live: StoredUpdate[] = [];
  for (const u of updates) {
    if (u.seq <= floor) staleKeys.push(docKey(docId, DocKind.Update, u.seq));
    else live.push(u);
  }
  return { snapshot, snapshotKeys, snapshotParts, orphanParts, updates: live, staleKeys, damaged };
}

/** Ops that move damaged records to quarantine: one put and one delete per record. */
export function quarantineOps(ctx: EngineContext, damaged: readonly DamagedRecord[], at: number): KvOp[] {
  const ops: KvOp[] = [];
  for (const d of damaged) {
    const key = quarantineKey(ctx.allocateQuarantineId());
    const payload = encodeQuarantine({ at, reason: d.damage, originalKey: d.key, originalValue: d.value });
    ops.push({ type: 'put', key, value: encodeRecord(key, RecordType.Quarantine, payload) });
    ops.push({ type: 'del', key: d.key });
  }
  return ops;
}

/** Highest update or snapshot seq stored for a document (0 when none). */
export async function maxStoredSeq(kv: KvStore, docId: number): Promise<number> {
  let max = 0;
  for (const range of [updateRange(docId, 0), snapshotRange(docId)]) {
    const last = await collect(kv, { ...range, reverse: true, limit: 1 }, 'document sequence');
    const parts = last[0] === undefined ? undefined : parseDocKey(last[0].key);
    if (parts !== undefined) max = Math.max(max, parts.seq);
  }
  return max;
}

/** Recompute a document's metadata from its records (after its meta record was damaged). */
export function rebuildMeta(name: string, contents: DocContents, now: number): DocMeta {
  const clocks: Clocks = new Map();
  const parts = contents.snapshot === undefined ? contents.updates : [contents.snapshot, ...contents.updates];
  for (const p of parts) mergeClocks(clocks, Y.parseUpdateMeta(p.bytes).to);
  const last = contents.updates[contents.updates.length - 1];
  return {
    name,
    createdAt: now,
    updatedAt: now,
    lastSeq: last?.seq ?? contents.snapshot?.seq ?? 0,
    snapshotSeq: contents.snapshot?.seq ?? 0,
    snapshotBytes: contents.snapshot?.bytes.length ?? 0,
    logCount: contents.updates.length,
    logBytes: contents.updates.reduce((sum, u) => sum + u.bytes.length, 0),
    totalUpdates: contents.updates.length + (contents.snapshot === undefined ? 0 : 1),
    stateVector: encodeClocks(clocks),
  };
}

/** Find a document's id by scanning metadata (when its name-index record is damaged). */
export async function findDocIdByName(kv: KvStore, name: string): Promise<number | undefined> {
  return read('document metadata', async () => {
    for await (const { key, value } of kv.iterate(spaceRange(Space.Meta))) {
      const meta = readRecord(key, value, RecordType.Meta, decodeMeta);
      const docId = parseIdKey(key, Space.Meta);
      if (meta.ok && meta.value.name === name && docId !== undefined) return docId;
    }
    return undefined;
  });
}

/** `nameBytes`: the UTF-8 bytes of `meta.name`, when the caller holds them (every append's batch). */
export function metaPut(docId: number, meta: DocMeta, nameBytes?: Uint8Array): KvOp {
  const key = metaKey(docId);
  return { type: 'put', key, value: encodeMetaRecord(key, meta, nameBytes) };
}

/**
 * A document's stored updates (snapshot first, then by seq) read with no side effect: unlike a
 * load it quarantines nothing, repairs no index or metadata, compacts nothing and logs nothing.
 * Damaged records (the name index included) are skipped and counted. I/O errors reject.
 */
export async function inspectDocument(kv: KvStore, name: string, nameBytes: Uint8Array): Promise<{ updates: Uint8Array[]; damagedRecords: number }> {
  const key = nameKey(nameBytes);
  const raw = await read('name index', () => kv.get(key));
  if (raw === undefined) return { updates: [], damagedRecords: 0 };
  let damagedRecords = 0;
  const index = readRecord(key, raw, RecordType.NameIndex, decodeVarUint);
  let docId = index.ok ? index.value : undefined;
  if (!index.ok) {
    damagedRecords++;
    docId = await findDocIdByName(kv, name);
    if (docId === undefined) return { updates: [], damagedRecords };
  }
  const contents = await readDocument(kv, docId as number);
  const updates = contents.snapshot === undefined ? [] : [contents.snapshot.bytes];
  for (const u of contents.updates) updates.push(u.bytes);
  return { updates, damagedRecords: damagedRecords + contents.damaged.length };
}
