import { describe, expect, it } from 'vitest';
import { DocKind, FORMAT_KEY, docKey, metaKey, nameKey, quarantineKey } from '../../src/persistence/key-layout.js';
import {
  type DocMeta, type QuarantineEntry, type RecordType as RecordTypeValue, RecordType,
  decodeClocks, decodeMeta, decodeQuarantine, decodeVarUint, encodeClocks, encodeMeta, encodeQuarantine, encodeRecord,
  encodeVarUint, openRecord, readRecord,
} from '../../src/persistence/record-codec.js';
import { ascii, bytes, viewInto } from './helpers.js';

const META: DocMeta = {
  name: 'doc', createdAt: 1000, updatedAt: 2000, lastSeq: 3, snapshotSeq: 2, snapshotBytes: 10,
  logCount: 1, logBytes: 5, totalUpdates: 3, stateVector: bytes(1, 0x2a, 3),
};
/** name "doc", 1000 (e8 07), 2000 (d0 0f), 3, 2, 10, 1, 5, 3, stateVector (3 bytes). */
const META_BYTES = [3, ...ascii('doc'), 0xe8, 0x07, 0xd0, 0x0f, 3, 2, 10, 1, 5, 3, 3, 1, 0x2a, 3];

const QUARANTINE: QuarantineEntry = { at: 1000, reason: 'checksum', originalKey: bytes(3, 1), originalValue: bytes(5, 0, 0) };
const QUARANTINE_BYTES = [0xe8, 0x07, 8, ...ascii('checksum'), 2, 3, 1, 3, 5, 0, 0];

/**
 * One record of every type: [name, key, type, payload, exact stored value]. The value is
 * `type crc32(key ‖ type ‖ payload):u32be payload`; the CRCs were cross-checked with
 * Python's `zlib.crc32`.
 */
const GOLDEN: ReadonlyArray<readonly [string, Uint8Array, RecordTypeValue, number[], number[]]> = [
  ['format (version 1)', FORMAT_KEY, RecordType.Format, [1], [0x01, 0x7d, 0x53, 0xc9, 0x2d]],
  ['name index (doc → 7)', nameKey(Uint8Array.from(ascii('doc'))), RecordType.NameIndex, [7], [0x02, 0x93, 0xaa, 0xc6, 0x86]],
  ['meta', metaKey(7), RecordType.Meta, META_BYTES, [0x03, 0x41, 0x44, 0x4b, 0x33]],
  ['snapshot (empty Yjs update)', docKey(7, DocKind.Snapshot, 2), RecordType.Snapshot, [0, 0], [0x04, 0x71, 0xcc, 0x6d, 0x08]],
  ['update', docKey(7, DocKind.Update, 3), RecordType.Update, [1, 2, 3], [0x05, 0x4e, 0x43, 0xd0, 0xc6]],
  ['quarantine', quarantineKey(1), RecordType.Quarantine, QUARANTINE_BYTES, [0x06, 0x75, 0x4a, 0x7f, 0x19]],
];

describe('stored records: golden bytes', () => {
  for (const [name, key, type, payload, header] of GOLDEN) {
    const value = [...header, ...payload];
    it(`encodes a ${name} record`, () => {
      expect(Array.from(encodeRecord(key, type, Uint8Array.from(payload)))).toEqual(value);
    });
    it(`opens a ${name} record, also from a view into a larger buffer`, () => {
      for (const input of [Uint8Array.from(value), viewInto(Uint8Array.from(value), 3, 5)]) {
        const opened = openRecord(key, input, type);
        expect(opened.ok && Array.from(opened.value)).toEqual(payload);
      }
    });
  }

  it('varuint payloads (format version, name index)', () => {
    expect(Array.from(encodeVarUint(7))).toEqual([7]);
    expect(Array.from(encodeVarUint(300))).toEqual([0xac, 0x02]);
    expect(decodeVarUint(bytes(0xac, 0x02))).toBe(300);
  });

  it('meta payload', () => {
    expect(Array.from(encodeMeta(META))).toEqual(META_BYTES);
    expect(decodeMeta(Uint8Array.from(META_BYTES))).toEqual(META);
    expect(decodeMeta(viewInto(Uint8Array.from(META_BYTES), 4, 4))).toEqual(META);
  });

  it('quarantine payload', () => {
    expect(Array.from(encodeQuarantine(QUARANTINE))).toEqual(QUARANTINE_BYTES);
    expect(decodeQuarantine(Uint8Array.from(QUARANTINE_BYTES))).toEqual(QUARANTINE);
    expect(decodeQuarantine(viewInto(Uint8Array.from(QUARANTINE_BYTES), 4, 4))).toEqual(QUARANTINE);
  });

  it('clocks (Yjs state vector: count, then client/clock pairs by client descending)', () => {
    const clocks = new Map([[1, 5], [300, 2]]);
    const golden = [2, 0xac, 0x02, 2, 1, 5];
    expect(Array.from(encodeClocks(clocks))).toEqual(golden);
    expect(decodeClocks(Uint8Array.from(golden))).toEqual(clocks);
    expect(Array.from(encodeClocks(new Map()))).toEqual([0]);
    expect(decodeClocks(bytes(0))).toEqual(new Map());
  });

  it('readRecord decodes a meta record end to end', () => {
    const key = metaKey(7);
    const value = encodeRecord(key, RecordType.Meta, Uint8Array.from(META_BYTES));
    expect(readRecord(key, value, RecordType.Meta, decodeMeta)).toEqual({ ok: true, value: META });
  });
});
