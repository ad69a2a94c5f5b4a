import type { ErrorCode } from '../errors/registry.js';
import { checkUpdate, collect, joinParts, openSnapshot, read } from './doc-reader.js';
import {
  DocKind, FORMAT_KEY, Space, VersionPart, decodeName, decodeVersionKey, encodeName, keyHex, metaKey, nameKey, parseDocKey, parseIdKey, snapshotPartRange,
  spaceRange,
} from './key-layout.js';
import { compareBytes, type KvRange, type KvStore } from './kv-store.js';
import {
  RecordType, decodeMeta, decodePayload, decodeQuarantine, decodeVarUint, openRecord, readRecord, type Decoded, type DocMeta,
} from './record-codec.js';

/** One stored document, as listed by `documents()`. */
export interface DocumentInfo {
  readonly name: string;
  readonly docId: number | null;
  /** `null` when the metadata (or the index record) is damaged or missing: see `problem`. */
  readonly meta: DocMeta | null;
  readonly problem: string | null;
}

export type VerifyProblemKind =
  | 'damaged' // checksum, type or decode failure
  | 'orphan' // records of a document id that no metadata describes
  | 'index-mismatch' // name index and metadata disagree
  | 'stale' // a record already covered by a newer snapshot (harmless, compaction removes it)
  | 'unknown-key' // a key outside the storage layout
  | 'quarantined'; // a record moved to quarantine earlier (kept for inspection)

export interface VerifyProblem {
  readonly kind: VerifyProblemKind;
  /** `SKEIN_ERR_STORAGE_CORRUPT_RECORD` for real damage; `null` for harmless findings (`stale`). */
  readonly code: ErrorCode | null;
  /** The key, hex (name-index keys contain the document name, never content). */
  readonly key: string;
  readonly doc: string | null;
  readonly seq: number | null;
  readonly detail: string;
}

/** Every stored document with its metadata, in name order, streamed from the name index (or part of it: `range`). */
export async function* listDocuments(kv: KvStore, range: KvRange = spaceRange(Space.Name)): AsyncGenerator<DocumentInfo> {
  const entries = kv.iterate(range);
  for await (const { key, value } of readingAll(entries)) {
    const name = decodeName(key.subarray(1)) ?? `<invalid utf-8 ${keyHex(key)}>`;
    const index = readRecord(key, value, RecordType.NameIndex, decodeVarUint);
    if (!index.ok) {
      yield { name, docId: null, meta: null, problem: `name-index record ${index.damage}` };
      continue;
    }
    const mKey = metaKey(index.value);
    const raw = await read('document metadata', () => kv.get(mKey));
    const meta = raw === undefined ? undefined : readRecord(mKey, raw, RecordType.Meta, decodeMeta);
    if (meta === undefined) yield { name, docId: index.value, meta: null, problem: 'metadata missing' };
    else if (!meta.ok) yield { name, docId: index.value, meta: null, problem: `metadata ${meta.damage}` };
    else yield { name, docId: index.value, meta: meta.value, problem: null };
  }
}

/** Scan every record once, yielding each problem found (read-only: nothing is repaired). */
export async function* verifyStore(kv: KvStore): AsyncGenerator<VerifyProblem> {
  const docs = new DocTracker(kv);
  for await (const { key, value } of readingAll(kv.iterate({}))) {
    switch (key[0]) {
      case Space.Format:
        if (compareBytes(key, FORMAT_KEY) !== 0) yield problem('unknown-key', key, null, null, 'unknown key in the format space');
        else if (!openRecord(key, value, RecordType.Format).ok) yield problem('damaged', key, null, null, 'format record damaged');
        break;
      case Space.Name:
        yield* verifyNameIndex(kv, key, value);
        break;
      case Space.Meta:
        yield* verifyMeta(kv, key, value);
        break;
      case Space.Doc:
        yield* docs.check(key, value);
        break;
      case Space.Quarantine: {
        const entry = readRecord(key, value, RecordType.Quarantine, decodeQuarantine);
        const detail = entry.ok
          ? `quarantined (${entry.value.reason}) at ${new Date(entry.value.at).toISOString()}, original key ${keyHex(entry.value.originalKey)}`
          : `quarantine record ${entry.damage}`;
        yield problem('quarantined', key, null, null, detail);
        break;
      }
      case Space.Outbox:
        if (!openRecord(key, value, RecordType.Outbox).ok) yield problem('damaged', key, null, null, 'replication-outbox record damaged');
        break;
      case Space.Version: {
        const parts = parseVersionKey(key);
        const type = parts?.part === VersionPart.Meta ? RecordType.VersionMeta : RecordType.VersionState;
        if (parts === undefined || (parts.part !== VersionPart.Meta && parts.part !== VersionPart.State)) {
          yield problem('unknown-key', key, null, null, 'malformed version key');
        } else if (!openRecord(key, value, type).ok) {
          yield problem('damaged', key, null, parts.versionId, `version ${parts.part === VersionPart.Meta ? 'metadata' : 'state'} damaged`);
        }
        break;
      }
      case Space.Mark:
        if (!openRecord(key, value, RecordType.ChangeMark).ok) yield problem('damaged', key, null, null, 'change-mark record damaged');
        break;
      case Space.Event:
        if (!openRecord(key, value, RecordType.Event).ok) yield problem('damaged', key, null, null, 'webhook-outbox event record damaged');
        break;
      case Space.DeadLetter:
        if (!openRecord(key, value, RecordType.DeadLetter).ok) yield problem('damaged', key, null, null, 'webhook dead-letter record damaged');
        break;
      case undefined:
      default:
        yield problem('unknown-key', key, null, null, 'key outside the storage layout');
    }
  }
}

async function* verifyNameIndex(kv: KvStore, key: Uint8Array, value: Uint8Array): AsyncGenerator<VerifyProblem> {
  const name = decodeName(key.subarray(1)) ?? null;
  const index = readRecord(key, value, RecordType.NameIndex, decodeVarUint);
  if (!index.ok) {
    yield problem('damaged', key, name, null, `name-index record ${index.damage}`);
    return;
  }
  const mKey = metaKey(index.value);
  const raw = await read('document metadata', () => kv.get(mKey));
  if (raw === undefined) yield problem('index-mismatch', key, name, null, `no metadata for document id ${index.value}`);
  else {
    const meta = readRecord(mKey, raw, RecordType.Meta, decodeMeta);
    if (meta.ok && meta.value.name !== name) yield problem('index-mismatch', key, name, null, 'metadata names another document');
  }
}

async function* verifyMeta(kv: KvStore, key: Uint8Array, value: Uint8Array): AsyncGenerator<VerifyProblem> {
  const docId = parseIdKey(key, Space.Meta);
  const meta = readRecord(key, value, RecordType.Meta, decodeMeta);
  if (docId === undefined) {
    yield problem('unknown-key', key, null, null, 'malformed metadata key');
    return;
  }
  if (!meta.ok) {
    yield problem('damaged', key, null, null, `metadata of document id ${docId} ${meta.damage}`);
    return;
  }
  const nameBytes = encodeName(meta.value.name);
  const raw = nameBytes === undefined ? undefined : await read('name index', () => kv.get(nameKey(nameBytes)));
  const index = raw === undefined || nameBytes === undefined
    ? undefined
    : readRecord(nameKey(nameBytes), raw, RecordType.NameIndex, decodeVarUint);
  if (index === undefined || (index.ok && index.value !== docId)) {
    yield problem('index-mismatch', key, meta.value.name, null, `the name index does not point to document id ${docId}`);
  }
}

/** Checks `03` records in key order, remembering the current document. */
class DocTracker {
  readonly #kv: KvStore;
  #docId = -1;
  #name: string | null = null;
  /** Intact snapshots seen so far of the current document (at most the newest two). */
  #snapshots: { readonly key: Uint8Array; readonly seq: number }[] = [];
  /** Part count of each intact chunked snapshot of the current document, by seq (stale ones too). */
  #chunked = new Map<number, { readonly parts: number; stale: boolean }>();

  constructor(kv: KvStore) {
    this.#kv = kv;
  }

  async *check(key: Uint8Array, value: Uint8Array): AsyncGenerator<VerifyProblem> {
    const parts = parseDocKey(key);
    if (parts === undefined || (parts.kind !== DocKind.Snapshot && parts.kind !== DocKind.Update && parts.kind !== DocKind.SnapshotPart)) {
      yield problem('unknown-key', key, null, null, 'malformed document record key');
      return;
    }
    if (parts.docId !== this.#docId) yield* this.#enter(key, parts.docId);
    if (parts.kind === DocKind.SnapshotPart) {
      // Each part was checked with its manifest; here only whether it belongs to one.
      const owner = this.#chunked.get(parts.seq);
      if (owner === undefined || parts.part >= owner.parts) {
        yield problem('stale', key, this.#name, parts.seq, 'snapshot part of no intact snapshot (an unfinished compaction)');
      } else if (owner.stale) yield problem('stale', key, this.#name, parts.seq, 'part of a superseded snapshot');
      return;
    }
    const isSnapshot = parts.kind === DocKind.Snapshot;
    const rec = isSnapshot ? await this.#snapshot(key, value, parts.docId, parts.seq) : readRecord(key, value, RecordType.Update, checkUpdate);
    if (!rec.ok) {
      yield problem('damaged', key, this.#name, parts.seq, `${isSnapshot ? 'snapshot' : 'update'} ${rec.damage}`);
      return;
    }
    if (isSnapshot) {
      // Compaction keeps two generations (the newest snapshot and the one before it, with
      // every update after that one): only what lies below both is stale.
      const older = this.#snapshots.length >= 2 ? this.#snapshots.shift() : undefined;
      if (older !== undefined) {
        yield problem('stale', older.key, this.#name, older.seq, 'superseded snapshot');
        const chunked = this.#chunked.get(older.seq);
        if (chunked !== undefined) chunked.stale = true;
      }
      this.#snapshots.push({ key, seq: parts.seq });
    } else if (this.#snapshots.length >= 2 && parts.seq <= (this.#snapshots[0]?.seq ?? 0)) {
      yield problem('stale', key, this.#name, parts.seq, 'update already merged into both retained snapshots');
    }
  }

  /** A snapshot record checked whole: a chunked one with its parts (read here), joined and decoded. */
  async #snapshot(key: Uint8Array, value: Uint8Array, docId: number, seq: number): Promise<Decoded<unknown>> {
    const head = openSnapshot(key, value);
    if (!head.ok) return head;
    if ('whole' in head.value) return decodePayload(head.value.whole, checkUpdate);
    const manifest = head.value.manifest;
    const joined = joinParts(manifest, await collect(this.#kv, snapshotPartRange(docId, seq), 'snapshot parts'));
    if (!joined.ok) return joined;
    const checked = decodePayload(joined.value, checkUpdate);
    if (checked.ok) this.#chunked.set(seq, { parts: manifest.parts, stale: false });
    return checked;
  }

  async *#enter(key: Uint8Array, docId: number): AsyncGenerator<VerifyProblem> {
    this.#docId = docId;
    this.#snapshots = [];
    this.#chunked = new Map();
    const mKey = metaKey(docId);
    const raw = await read('document metadata', () => this.#kv.get(mKey));
    const meta = raw === undefined ? undefined : readRecord(mKey, raw, RecordType.Meta, decodeMeta);
    this.#name = meta?.ok === true ? meta.value.name : null;
    if (meta === undefined) yield problem('orphan', key, null, null, `records of document id ${docId} without metadata`);
  }
}

function problem(kind: VerifyProblemKind, key: Uint8Array, doc: string | null, seq: number | null, detail: string): VerifyProblem {
  return { kind, code: kind === 'stale' ? null : 'SKEIN_ERR_STORAGE_CORRUPT_RECORD', key: keyHex(key), doc, seq, detail };
}

/** Iterate, turning I/O errors into `SKEIN_ERR_STORAGE_READ`. */
async function* readingAll<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await read('records', () => iterator.next());
      if (next.done === true) return;
      yield next.value;
    }
  } finally {
    await iterator.return?.()?.catch(() => undefined);
  }
}

function parseVersionKey(key: Uint8Array): ReturnType<typeof decodeVersionKey> | undefined {
  try {
    return decodeVersionKey(key);
  } catch {
    return undefined;
  }
}
