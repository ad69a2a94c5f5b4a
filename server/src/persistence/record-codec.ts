import { crc32 } from 'node:zlib';
import { ByteReader, ByteWriter, ProtocolError, ProtocolErrorCode, decodeStateVector, varUintSize } from '@skein/protocol';

/**
 * Every value the engine stores is a record:
 *
 *   <type: u8> <crc: u32 BE> <payload>
 *
 * `crc` is CRC-32 (zlib) over key ‖ type ‖ payload. Covering the key means a value that
 * ends up under the wrong key (a misdirected write, a copied block) fails verification just
 * like flipped bits do. CRC-32 detects every burst error up to 32 bits and random damage with
 * probability 1 − 2⁻³²; it guards against media and software faults, not adversaries, and
 * runs at memory speed. See `docs/storage.md` ("Byte formats").
 *
 * Everything here encodes with the protocol's `ByteWriter` and decodes with its
 * bounds-checked `ByteReader`: a payload decoder throws only a `ProtocolError` (coded), which
 * `readRecord` reports as `decode` damage. The bytes are those of format version 1 (lib0
 * `encoding` wrote them before; golden tests pin them).
 */
export const RecordType = {
  Format: 0x01,
  NameIndex: 0x02,
  Meta: 0x03,
  Snapshot: 0x04,
  Update: 0x05,
  Quarantine: 0x06,
  Outbox: 0x07,
  VersionMeta: 0x08,
  VersionState: 0x09,
  ChangeMark: 0x0a,
  Event: 0x0b,
  DeadLetter: 0x0c,
  SnapshotManifest: 0x0d,
  SnapshotPart: 0x0e,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

const HEADER = 5;

const utf8 = new TextEncoder();

export type RecordDamage = 'truncated' | 'checksum' | 'type' | 'decode';

export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly damage: RecordDamage };

export function encodeRecord(key: Uint8Array, type: RecordType, payload: Uint8Array): Uint8Array {
  return recordOf(key, type, payload.length, (w) => w.writeBytes(payload));
}

/**
 * A record whose payload `write` puts straight after the header: `size` is the payload's exact
 * length, so the record is one array, written once (no payload array copied into it).
 */
function recordOf(key: Uint8Array, type: RecordType, size: number, write: (w: ByteWriter) => void): Uint8Array {
  const w = new ByteWriter(HEADER + size).writeU8(type).writeU32(0);
  write(w);
  const record = w.toBytes();
  const crc = checksum(key, type, record.subarray(HEADER));
  new DataView(record.buffer, record.byteOffset, HEADER).setUint32(1, crc);
  return record;
}

/** The verified payload of a record (a view into `value`), or what is wrong with it. */
export function openRecord(key: Uint8Array, value: Uint8Array, type: RecordType): Decoded<Uint8Array> {
  if (value.length < HEADER) return { ok: false, damage: 'truncated' };
  const reader = new ByteReader(value);
  const storedType = reader.readU8('the record type');
  const stored = reader.readU32('the record checksum');
  const payload = reader.readRest();
  if (stored !== checksum(key, storedType, payload)) return { ok: false, damage: 'checksum' };
  if (storedType !== type) return { ok: false, damage: 'type' };
  return { ok: true, value: payload };
}

/** One byte for `checksum`'s type (crc32 is synchronous: one array serves every call). */
const TYPE_BYTE = new Uint8Array(1);

function checksum(key: Uint8Array, type: number, payload: Uint8Array): number {
  TYPE_BYTE[0] = type;
  return crc32(payload, crc32(TYPE_BYTE, crc32(key)));
}

/** Open a record and decode its payload; decoder exceptions become `decode` damage. */
export function readRecord<T>(
  key: Uint8Array,
  value: Uint8Array,
  type: RecordType,
  decode: (payload: Uint8Array) => T,
): Decoded<T> {
  const opened = openRecord(key, value, type);
  return opened.ok ? decodePayload(opened.value, decode) : opened;
}

/** `decode(payload)`, with any exception it throws as `decode` damage. */
export function decodePayload<T>(payload: Uint8Array, decode: (payload: Uint8Array) => T): Decoded<T> {
  try {
    return { ok: true, value: decode(payload) };
  } catch {
    return { ok: false, damage: 'decode' };
  }
}

// ---------------------------------------------------------------------------------------
// Payloads

export function encodeVarUint(n: number): Uint8Array {
  return new ByteWriter(8).writeVarUint(n).toBytes();
}

export function decodeVarUint(payload: Uint8Array): number {
  const reader = payloadReader(payload, 'the varuint record');
  const n = reader.readVarUint('the varuint record');
  reader.expectEnd('the varuint record');
  return n;
}

/** A reader over a payload that must not be empty (Empty otherwise). */
function payloadReader(payload: Uint8Array, what: string): ByteReader {
  if (payload.length === 0) throw new ProtocolError(ProtocolErrorCode.Empty, `${what} is empty`);
  return new ByteReader(payload);
}

/**
 * A chunked snapshot (format version 2): the record under the snapshot's key names how many
 * part records (`03 docId 03 seq part`, type SnapshotPart, each payload a slice of the update)
 * hold its bytes and how many bytes they hold together. Written in the compaction's atomic
 * batch, after the parts: parts without their manifest are leftovers of a compaction that
 * did not finish, and never part of a document.
 */
export interface SnapshotManifest {
  /** Number of parts, ≥ 1. */
  readonly parts: number;
  /** Bytes of the update the parts hold together, ≥ 1. */
  readonly bytes: number;
}

export function encodeManifest(manifest: SnapshotManifest): Uint8Array {
  return new ByteWriter(16).writeVarUint(manifest.parts).writeVarUint(manifest.bytes).toBytes();
}

/** Decode a manifest: both numbers at least 1, nothing after them (ProtocolError otherwise). */
export function decodeManifest(payload: Uint8Array): SnapshotManifest {
  const reader = payloadReader(payload, 'the snapshot manifest');
  const parts = reader.readVarUint('the number of parts');
  const bytes = reader.readVarUint('the snapshot size');
  reader.expectEnd('the snapshot manifest');
  if (parts < 1 || bytes < parts || parts > 0xffffffff) {
    throw new ProtocolError(ProtocolErrorCode.LengthOutOfBounds, `a snapshot manifest of ${parts} parts and ${bytes} bytes`);
  }
  return { parts, bytes };
}

/** Per-document metadata, rewritten in the same batch as every change to the document. */
export interface DocMeta {
  readonly name: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Highest durable update sequence number (0: none yet). */
  readonly lastSeq: number;
  /** Sequence number the snapshot covers (0: no snapshot). */
  readonly snapshotSeq: number;
  readonly snapshotBytes: number;
  /** Updates stored after the snapshot, and their bytes. */
  readonly logCount: number;
  readonly logBytes: number;
  /** Updates ever appended (compaction does not reset it). */
  readonly totalUpdates: number;
  /** Yjs state-vector encoding: the highest clock per client seen in stored updates. */
  readonly stateVector: Uint8Array;
}

export function encodeMeta(meta: DocMeta): Uint8Array {
  const nameBytes = utf8.encode(meta.name);
  const w = new ByteWriter(metaSize(meta, nameBytes));
  writeMeta(w, meta, nameBytes);
  return w.toBytes();
}

/**
 * The metadata record under `key` (`encodeRecord(key, Meta, encodeMeta(meta))`, the same
 * bytes) in one array. It is rewritten with every batch of a document: `nameBytes`, the
 * name's UTF-8 bytes, when the caller already holds them.
 */
export function encodeMetaRecord(key: Uint8Array, meta: DocMeta, nameBytes: Uint8Array = utf8.encode(meta.name)): Uint8Array {
  return recordOf(key, RecordType.Meta, metaSize(meta, nameBytes), (w) => writeMeta(w, meta, nameBytes));
}

function metaSize(meta: DocMeta, nameBytes: Uint8Array): number {
  return varUintSize(nameBytes.length) + nameBytes.length
    + varUintSize(meta.createdAt) + varUintSize(meta.updatedAt) + varUintSize(meta.lastSeq) + varUintSize(meta.snapshotSeq)
    + varUintSize(meta.snapshotBytes) + varUintSize(meta.logCount) + varUintSize(meta.logBytes) + varUintSize(meta.totalUpdates)
    + varUintSize(meta.stateVector.length) + meta.stateVector.length;
}

function writeMeta(w: ByteWriter, meta: DocMeta, nameBytes: Uint8Array): void {
  w.writeVarBytes(nameBytes)
    .writeVarUint(meta.createdAt).writeVarUint(meta.updatedAt).writeVarUint(meta.lastSeq).writeVarUint(meta.snapshotSeq)
    .writeVarUint(meta.snapshotBytes).writeVarUint(meta.logCount).writeVarUint(meta.logBytes).writeVarUint(meta.totalUpdates)
    .writeVarBytes(meta.stateVector);
}

/** Decode metadata; its state vector must decode too (`decodeClocks`), else the record is damaged. */
export function decodeMeta(payload: Uint8Array): DocMeta {
  const reader = payloadReader(payload, 'the metadata record');
  const name = reader.readVarString(payload.length, 'the document name');
  const n = (what: string): number => reader.readVarUint(what);
  const meta: DocMeta = {
    name,
    createdAt: n('createdAt'),
    updatedAt: n('updatedAt'),
    lastSeq: n('lastSeq'),
    snapshotSeq: n('snapshotSeq'),
    snapshotBytes: n('snapshotBytes'),
    logCount: n('logCount'),
    logBytes: n('logBytes'),
    totalUpdates: n('totalUpdates'),
    stateVector: reader.readVarBytes(payload.length, 'the state vector').slice(),
  };
  reader.expectEnd('the metadata record');
  decodeClocks(meta.stateVector);
  return meta;
}

/** A record moved out of the log because it was damaged, kept verbatim for inspection. */
export interface QuarantineEntry {
  readonly at: number;
  readonly reason: string;
  readonly originalKey: Uint8Array;
  readonly originalValue: Uint8Array;
}

export function encodeQuarantine(entry: QuarantineEntry): Uint8Array {
  return new ByteWriter(16 + 3 * entry.reason.length + entry.originalKey.length + entry.originalValue.length)
    .writeVarUint(entry.at)
    .writeVarString(entry.reason)
    .writeVarBytes(entry.originalKey)
    .writeVarBytes(entry.originalValue)
    .toBytes();
}

export function decodeQuarantine(payload: Uint8Array): QuarantineEntry {
  const reader = payloadReader(payload, 'the quarantine record');
  const entry: QuarantineEntry = {
    at: reader.readVarUint('the quarantine time'),
    reason: reader.readVarString(payload.length, 'the quarantine reason'),
    originalKey: reader.readVarBytes(payload.length, 'the original key').slice(),
    originalValue: reader.readVarBytes(payload.length, 'the original value').slice(),
  };
  reader.expectEnd('the quarantine record');
  return entry;
}

// ---------------------------------------------------------------------------------------
// State vectors (highest clock per client), in Yjs' own encoding

export type Clocks = Map<number, number>;

export function mergeClocks(into: Clocks, from: ReadonlyMap<number, number>): void {
  for (const [client, clock] of from) {
    if ((into.get(client) ?? 0) < clock) into.set(client, clock);
  }
}

/**
 * Clocks as a Yjs state vector, by client descending (one canonical form: stored state vectors
 * are compared byte for byte). `clients`: the map's keys in that order, when the caller has
 * them (an append whose clients the document already had: its metadata is rewritten with
 * every batch).
 */
export function encodeClocks(clocks: ReadonlyMap<number, number>, clients: readonly number[] = clientsOf(clocks)): Uint8Array {
  let size = varUintSize(clients.length);
  for (const client of clients) size += varUintSize(client) + varUintSize(clocks.get(client) ?? 0);
  const w = new ByteWriter(size).writeVarUint(clients.length);
  for (const client of clients) w.writeVarUint(client).writeVarUint(clocks.get(client) ?? 0);
  return w.toBytes();
}

/** The clients of `clocks`, descending: `encodeClocks`'s order. */
export function clientsOf(clocks: ReadonlyMap<number, number>): number[] {
  // The keys alone are sorted (no [client, clock] pair per entry).
  return [...clocks.keys()].sort((a, b) => b - a);
}

/**
 * Strict decode (the protocol's state-vector decoder): Empty, Truncated, LengthOutOfBounds
 * for a count the bytes cannot hold, VarintOverflow, TrailingBytes.
 */
export function decodeClocks(bytes: Uint8Array): Clocks {
  return decodeStateVector(bytes);
}
