import type { KvRange } from './kv-store.js';

/**
 * Storage format version 1: every key the engine writes. See `docs/storage.md`.
 *
 *   00 "skein-format"                       → format record (version)
 *   01 <name: 1..255 bytes of UTF-8>        → name index: the document's numeric id
 *   02 <docId: u64 BE>                      → document metadata
 *   03 <docId: u64 BE> 01 <seq: u64 BE>     → snapshot covering every update with seq ≤ seq
 *   03 <docId: u64 BE> 02 <seq: u64 BE>     → one update
 *   05 <quarantineId: u64 BE>               → a damaged record moved out of the way
 *   06 <outboxSeq: u64 BE>                  → a replication-outbox entry (name, update), written
 *                                             in the same batch as the update's log record
 *
 * Names appear in exactly one place (the name index) and everything else is keyed by a
 * fixed-width id, so a range over one document can never reach another document's keys,
 * whatever bytes the names contain.
 */
export const FORMAT_VERSION = 1;

export const Space = {
  Format: 0x00,
  Name: 0x01,
  Meta: 0x02,
  Doc: 0x03,
  Quarantine: 0x05,
  Outbox: 0x06,
} as const;

export const DocKind = {
  Snapshot: 0x01,
  Update: 0x02,
} as const;
export type DocKind = (typeof DocKind)[keyof typeof DocKind];

export const MAX_NAME_BYTES = 255;
const U64 = 8;
const DOC_KEY_LENGTH = 1 + U64 + 1 + U64;

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

export const FORMAT_KEY: Uint8Array = Uint8Array.of(Space.Format, ...utf8.encode('skein-format'));

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
  const key = new Uint8Array(1 + nameBytes.length);
  key[0] = Space.Name;
  key.set(nameBytes, 1);
  return key;
}

export function metaKey(docId: number): Uint8Array {
  const key = new Uint8Array(1 + U64);
  key[0] = Space.Meta;
  writeU64(key, 1, docId);
  return key;
}

export function docKey(docId: number, kind: DocKind, seq: number): Uint8Array {
  const key = new Uint8Array(DOC_KEY_LENGTH);
  key[0] = Space.Doc;
  writeU64(key, 1, docId);
  key[1 + U64] = kind;
  writeU64(key, 2 + U64, seq);
  return key;
}

export function quarantineKey(id: number): Uint8Array {
  const key = new Uint8Array(1 + U64);
  key[0] = Space.Quarantine;
  writeU64(key, 1, id);
  return key;
}

export interface DocKeyParts {
  readonly docId: number;
  readonly kind: number;
  readonly seq: number;
}

export function parseDocKey(key: Uint8Array): DocKeyParts | undefined {
  if (key.length !== DOC_KEY_LENGTH || key[0] !== Space.Doc) return undefined;
  return { docId: readU64(key, 1), kind: key[1 + U64] ?? -1, seq: readU64(key, 2 + U64) };
}

/** The id in a `02 <docId>` or `05 <id>` key, or `undefined` for any other shape. */
export function parseIdKey(key: Uint8Array, space: number): number | undefined {
  if (key.length !== 1 + U64 || key[0] !== space) return undefined;
  return readU64(key, 1);
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

/** Every snapshot and update key of one document (snapshots first, then updates by seq). */
export function docRange(docId: number): KvRange {
  const prefix = new Uint8Array(1 + U64);
  prefix[0] = Space.Doc;
  writeU64(prefix, 1, docId);
  return prefixRange(prefix);
}

/** Update keys of one document with `after < seq ≤ upto`. */
export function updateRange(docId: number, after: number, upto = Number.MAX_SAFE_INTEGER): KvRange {
  return { gt: docKey(docId, DocKind.Update, after), lte: docKey(docId, DocKind.Update, upto) };
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

export function writeU64(target: Uint8Array, offset: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a u64-safe integer: ${value}`);
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
  view.setUint32(offset, Math.floor(value / 2 ** 32));
  view.setUint32(offset + 4, value >>> 0);
}

export function readU64(source: Uint8Array, offset: number): number {
  const view = new DataView(source.buffer, source.byteOffset, source.byteLength);
  return view.getUint32(offset) * 2 ** 32 + view.getUint32(offset + 4);
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
