import { crc32 } from 'node:zlib';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

/**
 * Every value the engine stores is a record:
 *
 *   <type: u8> <crc: u32 BE> <payload>
 *
 * `crc` is CRC-32 (zlib) over key ‖ type ‖ payload. Covering the key means a value that
 * ends up under the wrong key (a misdirected write, a copied block) fails verification just
 * like flipped bits do. CRC-32 detects every burst error up to 32 bits and random damage with
 * probability 1 − 2⁻³²; it guards against media and software faults, not adversaries, and
 * runs at memory speed. See `docs/storage.md`.
 */
export const RecordType = {
  Format: 0x01,
  NameIndex: 0x02,
  Meta: 0x03,
  Snapshot: 0x04,
  Update: 0x05,
  Quarantine: 0x06,
  Outbox: 0x07,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

const HEADER = 5;

export type RecordDamage = 'truncated' | 'checksum' | 'type' | 'decode';

export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly damage: RecordDamage };

export function encodeRecord(key: Uint8Array, type: RecordType, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + payload.length);
  out[0] = type;
  new DataView(out.buffer).setUint32(1, checksum(key, type, payload));
  out.set(payload, HEADER);
  return out;
}

/** The verified payload of a record (a view into `value`), or what is wrong with it. */
export function openRecord(key: Uint8Array, value: Uint8Array, type: RecordType): Decoded<Uint8Array> {
  if (value.length < HEADER) return { ok: false, damage: 'truncated' };
  const payload = value.subarray(HEADER);
  const stored = new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(1);
  if (stored !== checksum(key, value[0] ?? 0, payload)) return { ok: false, damage: 'checksum' };
  if (value[0] !== type) return { ok: false, damage: 'type' };
  return { ok: true, value: payload };
}

function checksum(key: Uint8Array, type: number, payload: Uint8Array): number {
  return crc32(payload, crc32(Uint8Array.of(type), crc32(key)));
}

/** Open a record and decode its payload; decoder exceptions become `decode` damage. */
export function readRecord<T>(
  key: Uint8Array,
  value: Uint8Array,
  type: RecordType,
  decode: (payload: Uint8Array) => T,
): Decoded<T> {
  const opened = openRecord(key, value, type);
  if (!opened.ok) return opened;
  try {
    return { ok: true, value: decode(opened.value) };
  } catch {
    return { ok: false, damage: 'decode' };
  }
}

// ---------------------------------------------------------------------------------------
// Payloads

export function encodeVarUint(n: number): Uint8Array {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, n);
  return encoding.toUint8Array(enc);
}

export function decodeVarUint(payload: Uint8Array): number {
  const dec = decoding.createDecoder(payload);
  const n = decoding.readVarUint(dec);
  if (decoding.hasContent(dec)) throw new Error('trailing bytes');
  return n;
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
  const enc = encoding.createEncoder();
  encoding.writeVarString(enc, meta.name);
  for (const n of [
    meta.createdAt, meta.updatedAt, meta.lastSeq, meta.snapshotSeq, meta.snapshotBytes,
    meta.logCount, meta.logBytes, meta.totalUpdates,
  ]) {
    encoding.writeVarUint(enc, n);
  }
  encoding.writeVarUint8Array(enc, meta.stateVector);
  return encoding.toUint8Array(enc);
}

export function decodeMeta(payload: Uint8Array): DocMeta {
  const dec = decoding.createDecoder(payload);
  const name = decoding.readVarString(dec);
  const n = (): number => decoding.readVarUint(dec);
  const meta: DocMeta = {
    name,
    createdAt: n(),
    updatedAt: n(),
    lastSeq: n(),
    snapshotSeq: n(),
    snapshotBytes: n(),
    logCount: n(),
    logBytes: n(),
    totalUpdates: n(),
    stateVector: decoding.readVarUint8Array(dec).slice(),
  };
  if (decoding.hasContent(dec)) throw new Error('trailing bytes');
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
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, entry.at);
  encoding.writeVarString(enc, entry.reason);
  encoding.writeVarUint8Array(enc, entry.originalKey);
  encoding.writeVarUint8Array(enc, entry.originalValue);
  return encoding.toUint8Array(enc);
}

export function decodeQuarantine(payload: Uint8Array): QuarantineEntry {
  const dec = decoding.createDecoder(payload);
  return {
    at: decoding.readVarUint(dec),
    reason: decoding.readVarString(dec),
    originalKey: decoding.readVarUint8Array(dec).slice(),
    originalValue: decoding.readVarUint8Array(dec).slice(),
  };
}

// ---------------------------------------------------------------------------------------
// State vectors (highest clock per client), in Yjs' own encoding

export type Clocks = Map<number, number>;

export function mergeClocks(into: Clocks, from: ReadonlyMap<number, number>): void {
  for (const [client, clock] of from) {
    if ((into.get(client) ?? 0) < clock) into.set(client, clock);
  }
}

export function encodeClocks(clocks: ReadonlyMap<number, number>): Uint8Array {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, clocks.size);
  for (const [client, clock] of [...clocks].sort((a, b) => b[0] - a[0])) {
    encoding.writeVarUint(enc, client);
    encoding.writeVarUint(enc, clock);
  }
  return encoding.toUint8Array(enc);
}

export function decodeClocks(bytes: Uint8Array): Clocks {
  const clocks: Clocks = new Map();
  const dec = decoding.createDecoder(bytes);
  const count = decoding.readVarUint(dec);
  for (let i = 0; i < count; i++) clocks.set(decoding.readVarUint(dec), decoding.readVarUint(dec));
  return clocks;
}
