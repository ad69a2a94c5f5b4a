import fc from 'fast-check';
import { ProtocolErrorCode } from '@skein/protocol';
import { describe, expect, it } from 'vitest';
import {
  DocKind, FORMAT_KEY, Space, decodeDocKey, decodeIdKey, decodeNameKey, docKey, docRange, encodeName, metaKey, nameKey,
  parseDocKey, parseIdKey, prefixRange, quarantineKey, readU64, snapshotPartKey, snapshotPartRange, snapshotRange, spaceRange, updateRange, writeU64,
} from '../../src/persistence/key-layout.js';
import { RUNS, arbBytes, ascii, bytes, codeOf, inView, u64, viewInto } from './helpers.js';

const BIG = 2 ** 40 + 258; // 00 00 01 00 00 00 01 02

describe('storage keys: golden bytes', () => {
  it('format key', () => {
    expect(Array.from(FORMAT_KEY)).toEqual([0x00, ...ascii('skein-format')]);
  });

  it('name key: 01 then the UTF-8 name', () => {
    expect(Array.from(nameKey(encodeName('doc') as Uint8Array))).toEqual([0x01, ...ascii('doc')]);
    expect(Array.from(nameKey(encodeName('é/1') as Uint8Array))).toEqual([0x01, 0xc3, 0xa9, 0x2f, 0x31]);
  });

  it('meta key: 02 docId:u64be', () => {
    expect(Array.from(metaKey(7))).toEqual([0x02, 0, 0, 0, 0, 0, 0, 0, 7]);
    expect(Array.from(metaKey(BIG))).toEqual([0x02, 0, 0, 1, 0, 0, 0, 1, 2]);
    expect(parseIdKey(metaKey(BIG), Space.Meta)).toBe(BIG);
  });

  it('document keys: 03 docId:u64be kind:u8 seq:u64be', () => {
    expect(Array.from(docKey(7, DocKind.Snapshot, 2))).toEqual([0x03, ...u64(7), 0x01, ...u64(2)]);
    expect(Array.from(docKey(BIG, DocKind.Update, Number.MAX_SAFE_INTEGER))).toEqual([
      0x03, 0, 0, 1, 0, 0, 0, 1, 2, 0x02, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ]);
    const key = Uint8Array.from([0x03, ...u64(7), 0x02, ...u64(3)]);
    expect(parseDocKey(key)).toEqual({ docId: 7, kind: DocKind.Update, seq: 3, part: 0 });
    expect(parseDocKey(viewInto(key, 3, 3))).toEqual({ docId: 7, kind: DocKind.Update, seq: 3, part: 0 });
  });

  it('snapshot part keys: 03 docId:u64be 03 seq:u64be part:u32be (format version 2)', () => {
    const key = snapshotPartKey(7, 2, 1);
    expect(Array.from(key)).toEqual([0x03, ...u64(7), 0x03, ...u64(2), 0, 0, 0, 1]);
    expect(parseDocKey(key)).toEqual({ docId: 7, kind: DocKind.SnapshotPart, seq: 2, part: 1 });
    expect(parseDocKey(viewInto(snapshotPartKey(7, 2, 0xffffffff), 2, 2))).toEqual({ docId: 7, kind: DocKind.SnapshotPart, seq: 2, part: 0xffffffff });
    // Parts sort after the document's updates, by seq, then by part.
    expect(Buffer.compare(docKey(7, DocKind.Update, Number.MAX_SAFE_INTEGER), key)).toBe(-1);
    expect(Buffer.compare(snapshotPartKey(7, 2, 9), snapshotPartKey(7, 3, 0))).toBe(-1);
    expect(Buffer.compare(snapshotPartKey(7, 2, 1), snapshotPartKey(7, 2, 2))).toBe(-1);
    expect(snapshotPartRange(7, 2)).toEqual({ gte: snapshotPartKey(7, 2, 0), lte: snapshotPartKey(7, 2, 0xffffffff) });
  });

  it('quarantine key: 05 id:u64be', () => {
    expect(Array.from(quarantineKey(1))).toEqual([0x05, ...u64(1)]);
    expect(parseIdKey(viewInto(quarantineKey(1), 2, 2), Space.Quarantine)).toBe(1);
  });

  it('ranges', () => {
    expect(spaceRange(Space.Meta)).toEqual({ gte: bytes(0x02), lt: bytes(0x03) });
    expect(prefixRange(bytes(0x01, 0xff))).toEqual({ gte: bytes(0x01, 0xff), lt: bytes(0x02) });
    expect(prefixRange(bytes(0xff))).toEqual({ gte: bytes(0xff) });
    expect(docRange(7)).toEqual({ gte: Uint8Array.from([0x03, ...u64(7)]), lt: Uint8Array.from([0x03, ...u64(8)]) });
    expect(updateRange(7, 3, 9)).toEqual({ gt: docKey(7, DocKind.Update, 3), lte: docKey(7, DocKind.Update, 9) });
    expect(snapshotRange(7)).toEqual({
      gte: docKey(7, DocKind.Snapshot, 0),
      lte: docKey(7, DocKind.Snapshot, Number.MAX_SAFE_INTEGER),
    });
  });

  it('u64 helpers write and read big-endian at an offset', () => {
    const target = new Uint8Array(10);
    writeU64(target, 1, BIG);
    expect(Array.from(target)).toEqual([0, 0, 0, 1, 0, 0, 0, 1, 2, 0]);
    expect(readU64(target, 1)).toBe(BIG);
    expect(readU64(viewInto(target, 5, 5), 1)).toBe(BIG);
  });
});

const P = ProtocolErrorCode;
const TOO_BIG = [0x00, 0x20, 0, 0, 0, 0, 0, 0]; // 2^53

describe('storage keys: every error code from a crafted input', () => {
  const CASES: ReadonlyArray<readonly [string, () => unknown, string]> = [
    ['doc key: empty', () => decodeDocKey(bytes()), P.Empty],
    ['doc key: another space', () => decodeDocKey(metaKey(7)), P.UnknownMessageType],
    ['doc key: one byte short', () => decodeDocKey(docKey(7, DocKind.Update, 3).subarray(0, 17)), P.Truncated],
    ['doc key: one byte long', () => decodeDocKey(Uint8Array.from([...docKey(7, DocKind.Update, 3), 0])), P.TrailingBytes],
    ['doc key: doc id above 2^53 - 1', () => decodeDocKey(Uint8Array.from([3, ...TOO_BIG, 2, ...u64(1)])), P.VarintOverflow],
    ['doc key: seq above 2^53 - 1', () => decodeDocKey(Uint8Array.from([3, ...u64(1), 2, ...TOO_BIG])), P.VarintOverflow],
    ['part key: without its part index', () => decodeDocKey(docKey(7, DocKind.SnapshotPart, 3)), P.Truncated],
    ['part key: one byte short', () => decodeDocKey(snapshotPartKey(7, 3, 1).subarray(0, 21)), P.Truncated],
    ['part key: one byte long', () => decodeDocKey(Uint8Array.from([...snapshotPartKey(7, 3, 1), 0])), P.TrailingBytes],
    ['id key: empty', () => decodeIdKey(bytes(), Space.Meta), P.Empty],
    ['id key: another space', () => decodeIdKey(quarantineKey(1), Space.Meta), P.UnknownMessageType],
    ['id key: short', () => decodeIdKey(bytes(Space.Meta, 0, 0), Space.Meta), P.Truncated],
    ['id key: long', () => decodeIdKey(Uint8Array.from([...metaKey(1), 0]), Space.Meta), P.TrailingBytes],
    ['id key: id above 2^53 - 1', () => decodeIdKey(Uint8Array.from([Space.Meta, ...TOO_BIG]), Space.Meta), P.VarintOverflow],
    ['name key: empty', () => decodeNameKey(bytes()), P.Empty],
    ['name key: another space', () => decodeNameKey(metaKey(1)), P.UnknownMessageType],
    ['name key: no name', () => decodeNameKey(bytes(Space.Name)), P.LengthOutOfBounds],
    ['name key: 256 name bytes', () => decodeNameKey(Uint8Array.from([Space.Name, ...new Uint8Array(256).fill(0x61)])), P.LengthOutOfBounds],
    ['name key: not UTF-8', () => decodeNameKey(bytes(Space.Name, 0xc3)), P.InvalidString],
    ['readU64: past the end', () => readU64(bytes(1, 2, 3, 4, 5, 6, 7, 8), 1), P.Truncated],
    ['readU64: above 2^53 - 1', () => readU64(Uint8Array.from(TOO_BIG), 0), P.VarintOverflow],
  ];
  for (const [name, decode, code] of CASES) {
    it(`${name} → ${code}`, () => {
      expect(codeOf(decode)).toBe(code);
    });
  }

  it('parse*Key answers undefined where decode*Key raises', () => {
    expect(parseDocKey(Uint8Array.from([3, ...TOO_BIG, 2, ...u64(1)]))).toBeUndefined();
    expect(parseDocKey(metaKey(7))).toBeUndefined();
    expect(parseIdKey(bytes(Space.Meta), Space.Meta)).toBeUndefined();
    expect(parseIdKey(docKey(1, DocKind.Update, 1), Space.Meta)).toBeUndefined();
  });

  it('a key cut short by the view is refused even when the larger buffer holds the rest', () => {
    const backing = docKey(7, DocKind.Update, 3);
    expect(codeOf(() => decodeDocKey(backing.subarray(0, 17)))).toBe(P.Truncated);
    expect(codeOf(() => readU64(backing.subarray(0, 12), 10))).toBe(P.Truncated);
  });

  it('writers refuse ids a key cannot hold with a RangeError', () => {
    expect(() => metaKey(-1)).toThrow(RangeError);
    expect(() => docKey(2 ** 53, DocKind.Update, 1)).toThrow(RangeError);
    expect(() => writeU64(new Uint8Array(8), 0, 0.5)).toThrow(RangeError);
  });
});

describe('storage keys: properties', () => {
  const arbId = fc.oneof(fc.nat({ max: 1000 }), fc.maxSafeNat());

  it('keys round-trip, also from views into larger buffers', () => {
    fc.assert(
      fc.property(
        fc.tuple(arbId, fc.constantFrom(DocKind.Snapshot, DocKind.Update), arbId).chain(([docId, kind, seq]) =>
          fc.tuple(fc.constant({ docId, kind, seq, part: 0 }), inView(docKey(docId, kind, seq)), inView(metaKey(docId)), inView(quarantineKey(seq)))),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        ([parts, doc, meta, quarantine], name, part) => {
          expect(decodeDocKey(doc)).toEqual(parts);
          expect(decodeDocKey(snapshotPartKey(parts.docId, parts.seq, part))).toEqual({ ...parts, kind: DocKind.SnapshotPart, part });
          expect(decodeIdKey(meta, Space.Meta)).toBe(parts.docId);
          expect(decodeIdKey(quarantine, Space.Quarantine)).toBe(parts.seq);
          const nameBytes = encodeName(name);
          if (nameBytes !== undefined) expect(decodeNameKey(nameKey(nameBytes))).toBe(name);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('key order is (docId, kind, seq) order', () => {
    fc.assert(
      fc.property(fc.tuple(arbId, fc.constantFrom(DocKind.Snapshot, DocKind.Update), arbId), fc.tuple(arbId, fc.constantFrom(DocKind.Snapshot, DocKind.Update), arbId), (a, b) => {
        const ka = Buffer.from(docKey(a[0], a[1], a[2]));
        const kb = Buffer.from(docKey(b[0], b[1], b[2]));
        const byParts = a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
        expect(Math.sign(Buffer.compare(ka, kb))).toBe(Math.sign(byParts));
      }),
      { numRuns: RUNS },
    );
  });

  it('arbitrary bytes (incl. views into larger buffers) only raise coded errors', () => {
    fc.assert(
      fc.property(arbBytes(30), fc.nat({ max: 40 }), (input, offset) => {
        for (const space of [Space.Meta, Space.Quarantine]) codeOf(() => decodeIdKey(input, space));
        codeOf(() => decodeDocKey(input));
        codeOf(() => decodeNameKey(input));
        codeOf(() => readU64(input, offset));
        parseDocKey(input);
        parseIdKey(input, Space.Meta);
      }),
      { numRuns: RUNS },
    );
  });
});
