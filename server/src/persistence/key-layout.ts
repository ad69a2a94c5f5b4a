import { ByteReader, ByteWriter, ProtocolError, ProtocolErrorCode } from '@skein/protocol';
import type { KvRange } from './kv-store.js';

/**
 * Storage format version 2: every key the engine writes. See `docs/storage.md`.
 *
 *   00 "skein-format"                       → format record (version)
 *   01 <name: 1..255 bytes of UTF-8>        → name index: the document's numeric id
 *   02 <docId: u64 BE>                      → document metadata
 *   03 <docId: u64 BE> 01 <seq: u64 BE>     → snapshot covering every update with seq ≤ seq
 *                                             (the update itself, or the manifest of a chunked one)
 *   03 <docId: u64 BE> 02 <seq: u64 BE>     → one update
 *   03 <docId: u64 BE> 03 <seq: u64 BE> <part: u32 BE>
 *                                           → one part of the chunked snapshot at seq (version 2)
 *   05 <quarantineId: u64 BE>               → a damaged record moved out of the way
 *   06 <outboxSeq: u64 BE>                  → a replication-outbox entry (name, update), written
 *                                             in the same batch as the update's log record
 *   07 <docId: u64 BE> 01 <versionId: u64 BE> → a version's metadata (kind, label, time, user, size)
 *   07 <docId: u64 BE> 02 <versionId: u64 BE> → a version's state (the document at that point), written
 *                                             in the same batch as its metadata; compaction never
 *                                             touches space 07, deleting the document removes it
 *   08 <docId: u64 BE> <seq: u64 BE>        → a change mark (document events on): "changed since
 *                                             the last document.changed", written in the batch of
 *                                             the change (seq: the batch's first update seq)
 *   09 <eventSeq: u64 BE>                   → a document event in the webhook outbox
 *   0a <deadLetterId: u64 BE>               → a webhook delivery given up on (dead letter)
 *
 * Names appear in exactly one place (the name index) and everything else is keyed by a
 * fixed-width id, so a range over one document can never reach another document's keys,
 * whatever bytes the names contain.
 *
 * Keys are written with the protocol's `ByteWriter` and read with its bounds-checked
 * `ByteReader`. The `decode*Key` functions throw a coded `ProtocolError` for anything that
 * is not a key of their shape (Empty, UnknownMessageType for another space, Truncated,
 * TrailingBytes, VarintOverflow for an id above 2^53 - 1, LengthOutOfBounds/InvalidString
 * for a name); the `parse*Key` functions answer `undefined` instead.
 */
export const FORMAT_VERSION = 2;
/** Versions this build opens; an older one is marked with the current one when opened to write (`open-store.ts`). */
export const OLDEST_FORMAT_VERSION = 1;

export const Space = {
  Format: 0x00,
  Name: 0x01,
  Meta: 0x02,
  Doc: 0x03,
  Quarantine: 0x05,
  Outbox: 0x06,
  Version: 0x07,
  Mark: 0x08,
  Event: 0x09,
  DeadLetter: 0x0a,
} as const;

/** The two records of one version (space `07`). */
export const VersionPart = {
  Meta: 0x01,
  State: 0x02,
} as const;
export type VersionPart = (typeof VersionPart)[keyof typeof VersionPart];

export const DocKind = {
  Snapshot: 0x01,
  Update: 0x02,
  SnapshotPart: 0x03,
} as const;
export type DocKind = (typeof DocKind)[keyof typeof DocKind];

export const MAX_NAME_BYTES = 255;
const U64 = 8;
const U32 = 4;
const DOC_KEY_LENGTH = 1 + U64 + 1 + U64;
/** A snapshot has at most this many parts (a u32 index; far more than any size limit allows). */
export const MAX_SNAPSHOT_PARTS = 0xffffffff;

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

export const FORMAT_KEY: Uint8Array = new ByteWriter(13).writeU8(Space.Format).writeBytes(utf8.encode('skein-format')).toBytes();

/** UTF-8 bytes of a document name, or `undefined` when it is not a valid stored name. */
export function encodeName(name: string): Uint8Array | undefined {
  if (name.length === 0) return undefined;
  const bytes = utf8.encode(name);
  if (bytes.length > MAX_NAME_BYTES) return undefined;
  // A lone surrogate encodes as U+FFFD: two different names would share one key.
  return decodeName(bytes) === name ? bytes : undefined;
}

export function decodeName(bytes: Uint8Array): string | undefined {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return undefined;
  }
}

export function nameKey(nameBytes: Uint8Array): Uint8Array {
  return new ByteWriter(1 + nameBytes.length).writeU8(Space.Name).writeBytes(nameBytes).toBytes();
}

export function metaKey(docId: number): Uint8Array {
  return idKey(Space.Meta, docId);
}

export function docKey(docId: number, kind: DocKind, seq: number): Uint8Array {
  return new ByteWriter(DOC_KEY_LENGTH).writeU8(Space.Doc).writeU64(docId).writeU8(kind).writeU64(seq).toBytes();
}

/** `03 docId 03 seq part`: part `part` (from 0) of the chunked snapshot at `seq`. */
export function snapshotPartKey(docId: number, seq: number, part: number): Uint8Array {
  return new ByteWriter(DOC_KEY_LENGTH + U32).writeU8(Space.Doc).writeU64(docId).writeU8(DocKind.SnapshotPart).writeU64(seq).writeU32(part).toBytes();
}

export function quarantineKey(id: number): Uint8Array {
  return idKey(Space.Quarantine, id);
}

/** `space id:u64be`: the shape of meta (`02`) and quarantine (`05`) keys. */
function idKey(space: number, id: number): Uint8Array {
  return new ByteWriter(1 + U64).writeU8(space).writeU64(id).toBytes();
}

export interface DocKeyParts {
  readonly docId: number;
  readonly kind: number;
  readonly seq: number;
  /** The part index of a snapshot-part key (`DocKind.SnapshotPart`); 0 for every other kind. */
  readonly part: number;
}

/**
 * A `03 docId kind seq` key's parts (any kind byte; a snapshot-part key has a u32 part index
 * after the seq), or a coded ProtocolError.
 */
export function decodeDocKey(key: Uint8Array): DocKeyParts {
  const reader = keyReader(key, Space.Doc);
  const docId = reader.readU64('the document id');
  const kind = reader.readU8('the record kind');
  const seq = reader.readU64('the sequence number');
  const part = kind === DocKind.SnapshotPart ? reader.readU32('the part index') : 0;
  reader.expectEnd('the document key');
  return { docId, kind, seq, part };
}

/** The id of a `space id:u64be` key (`02 <docId>`, `05 <id>`), or a coded ProtocolError. */
export function decodeIdKey(key: Uint8Array, space: number): number {
  const reader = keyReader(key, space);
  const id = reader.readU64('the id');
  reader.expectEnd('the key');
  return id;
}

/** The document name of a `01 <name>` key, or a coded ProtocolError. */
export function decodeNameKey(key: Uint8Array): string {
  const reader = keyReader(key, Space.Name);
  const length = reader.remaining;
  if (length === 0 || length > MAX_NAME_BYTES) {
    throw new ProtocolError(ProtocolErrorCode.LengthOutOfBounds, `a name key holds 1..${MAX_NAME_BYTES} name bytes, not ${length}`);
  }
  const name = decodeName(reader.readRest());
  if (name === undefined) throw new ProtocolError(ProtocolErrorCode.InvalidString, 'the name in a name key is not UTF-8');
  return name;
}

export function parseDocKey(key: Uint8Array): DocKeyParts | undefined {
  return orUndefined(() => decodeDocKey(key));
}

/** The id in a `02 <docId>` or `05 <id>` key, or `undefined` for any other shape. */
export function parseIdKey(key: Uint8Array, space: number): number | undefined {
  return orUndefined(() => decodeIdKey(key, space));
}

function keyReader(key: Uint8Array, space: number): ByteReader {
  if (key.length === 0) throw new ProtocolError(ProtocolErrorCode.Empty, 'the key is empty');
  const reader = new ByteReader(key);
  const found = reader.readU8('the key space');
  if (found !== space) throw new ProtocolError(ProtocolErrorCode.UnknownMessageType, `key space ${found} is not ${space}`);
  return reader;
}

function orUndefined<T>(decode: () => T): T | undefined {
  try {
    return decode();
  } catch (err) {
    if (err instanceof ProtocolError) return undefined;
    throw err;
  }
}

/** Every key that starts with `prefix`. */
export function prefixRange(prefix: Uint8Array): KvRange {
  const end = prefixEnd(prefix);
  return end === undefined ? { gte: prefix } : { gte: prefix, lt: end };
}

/** Every key of one space (`01`, `02`, `03`, `05`). */
export function spaceRange(space: number): KvRange {
  return prefixRange(Uint8Array.of(space));
}

/** Every snapshot, update and snapshot-part key of one document (snapshots first, then updates by seq, then parts). */
export function docRange(docId: number): KvRange {
  return prefixRange(idKey(Space.Doc, docId));
}

/** Update keys of one document with `after < seq ≤ upto`. */
export function updateRange(docId: number, after: number, upto = Number.MAX_SAFE_INTEGER): KvRange {
  return { gt: docKey(docId, DocKind.Update, after), lte: docKey(docId, DocKind.Update, upto) };
}

/** The part keys of one chunked snapshot, in part order. */
export function snapshotPartRange(docId: number, seq: number): KvRange {
  return { gte: snapshotPartKey(docId, seq, 0), lte: snapshotPartKey(docId, seq, MAX_SNAPSHOT_PARTS) };
}

/** Snapshot keys of one document. */
export function snapshotRange(docId: number): KvRange {
  return { gte: docKey(docId, DocKind.Snapshot, 0), lte: docKey(docId, DocKind.Snapshot, Number.MAX_SAFE_INTEGER) };
}

/** The smallest key greater than every key that starts with `prefix` (none if all 0xff). */
function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  const end = prefix.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    const byte = end[i] ?? 0;
    if (byte < 0xff) {
      end[i] = byte + 1;
      return end.subarray(0, i + 1);
    }
  }
  return undefined;
}

/** Write `value` (0..2^53 - 1, else RangeError) as 8 big-endian bytes at `offset` of `target`. */
export function writeU64(target: Uint8Array, offset: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a u64-safe integer: ${value}`);
  target.set(new ByteWriter(U64).writeU64(value).toBytes(), offset);
}

/** The 8 big-endian bytes at `offset` of `source`: Truncated past its end, VarintOverflow above 2^53 - 1. */
export function readU64(source: Uint8Array, offset: number): number {
  return new ByteReader(source.subarray(offset)).readU64();
}

/** Lowercase hex of a key, for reports (keys never contain document content). */
export function keyHex(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex');
}

/** `06 <outboxSeq: u64 BE>`: a replication-outbox record (read back with `parseIdKey(key, Space.Outbox)`). */
export function outboxKey(seq: number): Uint8Array {
  const key = new Uint8Array(1 + U64);
  key[0] = Space.Outbox;
  writeU64(key, 1, seq);
  return key;
}

/** `07 <docId> <part> <versionId>`: one record of a version. */
export function versionKey(docId: number, part: VersionPart, versionId: number): Uint8Array {
  return new ByteWriter(DOC_KEY_LENGTH).writeU8(Space.Version).writeU64(docId).writeU8(part).writeU64(versionId).toBytes();
}

/** A `07 docId part versionId` key's parts, or a coded ProtocolError. */
export function decodeVersionKey(key: Uint8Array): { readonly docId: number; readonly part: number; readonly versionId: number } {
  const reader = keyReader(key, Space.Version);
  const parts = { docId: reader.readU64('the document id'), part: reader.readU8('the version part'), versionId: reader.readU64('the version id') };
  reader.expectEnd('the version key');
  return parts;
}

/** Every version record of one document. */
export function versionRange(docId: number): KvRange {
  return prefixRange(idKey(Space.Version, docId));
}

/** The metadata records of one document's versions, by id. */
export function versionMetaRange(docId: number): KvRange {
  return { gte: versionKey(docId, VersionPart.Meta, 0), lte: versionKey(docId, VersionPart.Meta, Number.MAX_SAFE_INTEGER) };
}

/** `08 <docId> <seq>`: a change mark of one document. */
export function markKey(docId: number, seq: number): Uint8Array {
  return new ByteWriter(1 + 2 * U64).writeU8(Space.Mark).writeU64(docId).writeU64(seq).toBytes();
}

/** Every change mark of one document. */
export function markRange(docId: number): KvRange {
  return prefixRange(idKey(Space.Mark, docId));
}

/** The docId and seq of a `08 <docId> <seq>` key, or `undefined` for any other shape. */
export function parseMarkKey(key: Uint8Array): { readonly docId: number; readonly seq: number } | undefined {
  return orUndefined(() => {
    const reader = keyReader(key, Space.Mark);
    const parts = { docId: reader.readU64('the document id'), seq: reader.readU64('the sequence number') };
    reader.expectEnd('the mark key');
    return parts;
  });
}

/** `09 <seq>` (webhook outbox) and `0a <id>` (dead letters): read back with `parseIdKey`. */
export function eventKey(space: typeof Space.Event | typeof Space.DeadLetter, seq: number): Uint8Array {
  return idKey(space, seq);
}
