import { describe, expect, it } from 'vitest';
import {
  DocKind, FORMAT_KEY, Space, docKey, docRange, encodeName, metaKey, nameKey, parseDocKey, parseIdKey, prefixRange,
  quarantineKey, readU64, snapshotRange, spaceRange, updateRange, writeU64,
} from '../../src/persistence/key-layout.js';
import { ascii, bytes, u64, viewInto } from './helpers.js';

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
    expect(parseDocKey(key)).toEqual({ docId: 7, kind: DocKind.Update, seq: 3 });
    expect(parseDocKey(viewInto(key, 3, 3))).toEqual({ docId: 7, kind: DocKind.Update, seq: 3 });
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
