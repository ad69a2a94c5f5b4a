import fc from 'fast-check';
import { ProtocolErrorCode } from '@skein/protocol';
import { describe, expect, it } from 'vitest';
import { DocKind, FORMAT_KEY, docKey, metaKey, nameKey, quarantineKey, snapshotPartKey } from '../../src/persistence/key-layout.js';
import {
  type DocMeta, type QuarantineEntry, type RecordType as RecordTypeValue, RecordType,
  decodeClocks, decodeManifest, decodeMeta, decodeQuarantine, decodeVarUint, encodeClocks, encodeManifest, encodeMeta, encodeMetaRecord, encodeQuarantine,
  encodeRecord, encodeVarUint, openRecord, readRecord,
} from '../../src/persistence/record-codec.js';
import { RUNS, arbBytes, ascii, bytes, codeOf, inView, viewInto } from './helpers.js';

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
  ['format (version 2)', FORMAT_KEY, RecordType.Format, [2], [0x01, 0xe4, 0x5a, 0x98, 0x97]],
  ['name index (doc → 7)', nameKey(Uint8Array.from(ascii('doc'))), RecordType.NameIndex, [7], [0x02, 0x93, 0xaa, 0xc6, 0x86]],
  ['meta', metaKey(7), RecordType.Meta, META_BYTES, [0x03, 0x41, 0x44, 0x4b, 0x33]],
  ['snapshot (empty Yjs update)', docKey(7, DocKind.Snapshot, 2), RecordType.Snapshot, [0, 0], [0x04, 0x71, 0xcc, 0x6d, 0x08]],
  ['update', docKey(7, DocKind.Update, 3), RecordType.Update, [1, 2, 3], [0x05, 0x4e, 0x43, 0xd0, 0xc6]],
  ['quarantine', quarantineKey(1), RecordType.Quarantine, QUARANTINE_BYTES, [0x06, 0x75, 0x4a, 0x7f, 0x19]],
  ['snapshot manifest (2 parts, 300 bytes)', docKey(7, DocKind.Snapshot, 2), RecordType.SnapshotManifest, [2, 0xac, 0x02], [0x0d, 0x4e, 0x98, 0xa2, 0xff]],
  ['snapshot part', snapshotPartKey(7, 2, 1), RecordType.SnapshotPart, [9, 8, 7], [0x0e, 0x45, 0x2a, 0x50, 0x0b]],
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

  it('snapshot manifest payload: varuint parts, varuint bytes', () => {
    expect(Array.from(encodeManifest({ parts: 2, bytes: 300 }))).toEqual([2, 0xac, 0x02]);
    expect(decodeManifest(bytes(2, 0xac, 0x02))).toEqual({ parts: 2, bytes: 300 });
    expect(decodeManifest(viewInto(bytes(2, 0xac, 0x02), 4, 4))).toEqual({ parts: 2, bytes: 300 });
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

  it('the meta record in one step (every append writes it): the golden bytes, with or without the name bytes given', () => {
    const golden = GOLDEN.find(([name]) => name === 'meta');
    const expected = [...(golden?.[4] ?? []), ...META_BYTES];
    expect(Array.from(encodeMetaRecord(metaKey(7), META))).toEqual(expected);
    expect(Array.from(encodeMetaRecord(metaKey(7), META, Uint8Array.from(ascii('doc'))))).toEqual(expected);
  });

  it('readRecord decodes a meta record end to end', () => {
    const key = metaKey(7);
    const value = encodeRecord(key, RecordType.Meta, Uint8Array.from(META_BYTES));
    expect(readRecord(key, value, RecordType.Meta, decodeMeta)).toEqual({ ok: true, value: META });
  });
});

const P = ProtocolErrorCode;
const OVERFLOW = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];

describe('stored records: damage and error codes from crafted inputs', () => {
  const key = metaKey(7);
  const value = encodeRecord(key, RecordType.Meta, Uint8Array.from(META_BYTES));

  it('openRecord reports truncated, checksum and type damage, never throws', () => {
    expect(openRecord(key, value.subarray(0, 4), RecordType.Meta)).toEqual({ ok: false, damage: 'truncated' });
    expect(openRecord(key, bytes(), RecordType.Meta)).toEqual({ ok: false, damage: 'truncated' });
    const flipped = value.slice();
    flipped[7] = (flipped[7] as number) ^ 0x01;
    expect(openRecord(key, flipped, RecordType.Meta)).toEqual({ ok: false, damage: 'checksum' });
    expect(openRecord(metaKey(8), value, RecordType.Meta)).toEqual({ ok: false, damage: 'checksum' });
    expect(openRecord(key, value, RecordType.Snapshot)).toEqual({ ok: false, damage: 'type' });
    expect(openRecord(key, viewInto(value, 0, 10).subarray(0, 4), RecordType.Meta)).toEqual({ ok: false, damage: 'truncated' });
  });

  it('readRecord reports a payload that does not decode as decode damage', () => {
    const bad = encodeRecord(key, RecordType.Meta, bytes(3, 0x61));
    expect(readRecord(key, bad, RecordType.Meta, decodeMeta)).toEqual({ ok: false, damage: 'decode' });
  });

  const CASES: ReadonlyArray<readonly [string, (b: Uint8Array) => unknown, number[], string]> = [
    ['varuint: empty', decodeVarUint, [], P.Empty],
    ['varuint: ends inside the varint', decodeVarUint, [0x80], P.Truncated],
    ['varuint: above 2^53 - 1', decodeVarUint, OVERFLOW, P.VarintOverflow],
    ['varuint: trailing byte', decodeVarUint, [1, 2], P.TrailingBytes],
    ['meta: empty', decodeMeta, [], P.Empty],
    ['meta: name longer than the input', decodeMeta, [3, 0x64, 0x6f], P.LengthOutOfBounds],
    ['meta: name not UTF-8', decodeMeta, [1, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0], P.InvalidString],
    ['meta: ends after the name', decodeMeta, [1, 0x64], P.Truncated],
    ['meta: createdAt above 2^53 - 1', decodeMeta, [1, 0x64, ...OVERFLOW], P.VarintOverflow],
    ['meta: state vector longer than the input', decodeMeta, [1, 0x64, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0], P.LengthOutOfBounds],
    ['meta: trailing byte', decodeMeta, [...META_BYTES, 0], P.TrailingBytes],
    ['meta: empty state vector', decodeMeta, [1, 0x64, 0, 0, 0, 0, 0, 0, 0, 0, 0], P.Empty],
    ['meta: state vector counting more than it holds', decodeMeta, [1, 0x64, 0, 0, 0, 0, 0, 0, 0, 0, 3, 2, 1, 1], P.LengthOutOfBounds],
    ['quarantine: empty', decodeQuarantine, [], P.Empty],
    ['quarantine: ends after the time', decodeQuarantine, [5], P.Truncated],
    ['quarantine: time above 2^53 - 1', decodeQuarantine, OVERFLOW, P.VarintOverflow],
    ['quarantine: reason not UTF-8', decodeQuarantine, [5, 1, 0xc3, 0, 0], P.InvalidString],
    ['quarantine: original value longer than the input', decodeQuarantine, [5, 0, 0, 9, 1], P.LengthOutOfBounds],
    ['quarantine: trailing byte', decodeQuarantine, [...QUARANTINE_BYTES, 0], P.TrailingBytes],
    ['manifest: empty', decodeManifest, [], P.Empty],
    ['manifest: ends after the part count', decodeManifest, [2], P.Truncated],
    ['manifest: no parts', decodeManifest, [0, 5], P.LengthOutOfBounds],
    ['manifest: fewer bytes than parts', decodeManifest, [3, 2], P.LengthOutOfBounds],
    ['manifest: trailing byte', decodeManifest, [2, 0xac, 0x02, 0], P.TrailingBytes],
    ['clocks: empty', decodeClocks, [], P.Empty],
    ['clocks: count the bytes cannot hold', decodeClocks, [2, 1, 1], P.LengthOutOfBounds],
    ['clocks: ends inside a clock', decodeClocks, [1, 1, 0x80], P.Truncated],
    ['clocks: clock above 2^53 - 1', decodeClocks, [1, 1, ...OVERFLOW], P.VarintOverflow],
    ['clocks: trailing byte', decodeClocks, [0, 0], P.TrailingBytes],
  ];
  for (const [name, decode, input, code] of CASES) {
    it(`${name} → ${code}`, () => {
      expect(codeOf(() => decode(Uint8Array.from(input)))).toBe(code);
    });
  }

  it('a field cut short by the view is refused even when the larger buffer holds the rest', () => {
    const backing = Uint8Array.from(QUARANTINE_BYTES);
    expect(codeOf(() => decodeQuarantine(backing.subarray(0, backing.length - 1)))).toBe(P.LengthOutOfBounds);
  });
});

const arbClocks = fc
  .array(fc.tuple(fc.nat({ max: 0xffff_ffff }), fc.maxSafeNat()), { maxLength: 8 })
  .map((pairs) => new Map(pairs));

const arbMeta: fc.Arbitrary<DocMeta> = fc.record({
  name: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
  createdAt: fc.maxSafeNat(), updatedAt: fc.maxSafeNat(), lastSeq: fc.maxSafeNat(), snapshotSeq: fc.maxSafeNat(),
  snapshotBytes: fc.maxSafeNat(), logCount: fc.maxSafeNat(), logBytes: fc.maxSafeNat(), totalUpdates: fc.maxSafeNat(),
  stateVector: arbClocks.map(encodeClocks),
});

const arbQuarantine: fc.Arbitrary<QuarantineEntry> = fc.record({
  at: fc.maxSafeNat(),
  reason: fc.string({ unit: 'grapheme', maxLength: 40 }),
  originalKey: arbBytes(40),
  originalValue: arbBytes(),
});

describe('stored records: properties', () => {
  it('payloads round-trip, also from views into larger buffers', () => {
    fc.assert(
      fc.property(arbMeta, arbQuarantine, arbClocks, fc.maxSafeNat(), (meta, entry, clocks, n) => {
        const viewOf = (b: Uint8Array): Uint8Array => viewInto(b, 3, 5);
        expect(decodeMeta(viewOf(encodeMeta(meta)))).toEqual(meta);
        expect(decodeQuarantine(viewOf(encodeQuarantine(entry)))).toEqual(entry);
        expect(decodeClocks(viewOf(encodeClocks(clocks)))).toEqual(clocks);
        expect(decodeVarUint(viewOf(encodeVarUint(n)))).toBe(n);
      }),
      { numRuns: RUNS },
    );
  });

  it('the one-step meta record is the meta payload in a record, byte for byte', () => {
    fc.assert(
      fc.property(arbBytes(30), arbMeta, (key, meta) => {
        const record = encodeMetaRecord(key, meta, new TextEncoder().encode(meta.name));
        expect(record).toEqual(encodeRecord(key, RecordType.Meta, encodeMeta(meta)));
        expect(readRecord(key, record, RecordType.Meta, decodeMeta)).toEqual({ ok: true, value: meta });
      }),
      { numRuns: RUNS },
    );
  });

  const arbRecord = fc.tuple(arbBytes(30), fc.constantFrom(...Object.values(RecordType)), arbBytes());

  it('a record opens under its key and type, from any view', () => {
    fc.assert(
      fc.property(arbRecord.chain(([key, type, payload]) => fc.tuple(fc.constant([key, type, payload] as const), inView(encodeRecord(key, type, payload)))), ([[key, type, payload], value]) => {
        expect(openRecord(key, value, type)).toEqual({ ok: true, value: payload });
      }),
      { numRuns: RUNS },
    );
  });

  it('any single flipped bit is detected', () => {
    fc.assert(
      fc.property(arbRecord.chain(([key, type, payload]) => {
        const value = encodeRecord(key, type, payload);
        return fc.tuple(fc.constant(key), fc.constant(type), fc.constant(value), fc.nat({ max: value.length * 8 - 1 }));
      }), ([key, type, value, bit]) => {
        const damaged = value.slice();
        damaged[bit >> 3] = (damaged[bit >> 3] as number) ^ (1 << (bit & 7));
        expect(openRecord(key, damaged, type).ok).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('arbitrary bytes (incl. views into larger buffers) only raise coded errors', () => {
    fc.assert(
      fc.property(arbBytes(), arbBytes(20), (input, key) => {
        for (const decode of [decodeVarUint, decodeMeta, decodeQuarantine, decodeClocks]) codeOf(() => decode(input));
        expect(openRecord(key, input, RecordType.Meta).ok).toBe(false);
        expect(readRecord(key, input, RecordType.Meta, decodeMeta).ok).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });
});
