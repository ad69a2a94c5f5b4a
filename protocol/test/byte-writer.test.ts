import fc from 'fast-check';
import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter, ProtocolErrorCode } from '../src/index.js';
import { RUNS, arbBytes, bytes, codeOf, expectWithin, viewInto } from './helpers.js';

const written = (write: (w: ByteWriter) => unknown): number[] => {
  const w = new ByteWriter(1);
  write(w);
  return Array.from(w.toBytes());
};

describe('ByteWriter: golden bytes', () => {
  it('u8', () => {
    expect(written((w) => w.writeU8(0).writeU8(0xff))).toEqual([0x00, 0xff]);
  });

  it('varuint (minimal LEB128)', () => {
    expect(written((w) => w.writeVarUint(0))).toEqual([0x00]);
    expect(written((w) => w.writeVarUint(127))).toEqual([0x7f]);
    expect(written((w) => w.writeVarUint(128))).toEqual([0x80, 0x01]);
    expect(written((w) => w.writeVarUint(300))).toEqual([0xac, 0x02]);
    expect(written((w) => w.writeVarUint(Number.MAX_SAFE_INTEGER))).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]);
  });

  it('u32 and u64, big-endian', () => {
    expect(written((w) => w.writeU32(0x0102_0304))).toEqual([1, 2, 3, 4]);
    expect(written((w) => w.writeU32(0xffff_ffff))).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect(written((w) => w.writeU64(2 ** 40 + 258))).toEqual([0, 0, 1, 0, 0, 0, 1, 2]);
    expect(written((w) => w.writeU64(Number.MAX_SAFE_INTEGER))).toEqual([0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  });

  it('bytes, var-bytes and var-string', () => {
    expect(written((w) => w.writeBytes(bytes(9, 8)))).toEqual([9, 8]);
    expect(written((w) => w.writeVarBytes(bytes(9, 8)))).toEqual([2, 9, 8]);
    expect(written((w) => w.writeVarBytes(bytes()))).toEqual([0]);
    expect(written((w) => w.writeVarString('é'))).toEqual([2, 0xc3, 0xa9]);
    expect(written((w) => w.writeVarString('\ud800'))).toEqual([3, 0xef, 0xbf, 0xbd]);
  });

  it('grows past its capacity and hands out an array of its own', () => {
    const w = new ByteWriter(2);
    const payload = new Uint8Array(1000).fill(7);
    w.writeVarBytes(payload).writeU8(1);
    expect(w.length).toBe(1003);
    const out = w.toBytes();
    expect(out.length).toBe(1003);
    expect(out.buffer.byteLength).toBe(1003);
    expect(w.length).toBe(0);
    w.writeU8(5);
    expect(out[0]).toBe(0xe8);
    expect(Array.from(w.toBytes())).toEqual([5]);
  });

  it('refuses values it cannot encode with a RangeError (a programming error, not input)', () => {
    const w = new ByteWriter();
    expect(() => w.writeU8(256)).toThrow(RangeError);
    expect(() => w.writeU32(-1)).toThrow(RangeError);
    expect(() => w.writeU64(2 ** 53)).toThrow(RangeError);
    expect(() => w.writeVarUint(1.5)).toThrow(RangeError);
    expect(w.length).toBe(0);
  });

  it('writes what lib0 encoding writes', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), arbBytes(50), fc.string({ unit: 'grapheme', maxLength: 40 }), (n, b, s) => {
        const enc = encoding.createEncoder();
        encoding.writeVarUint(enc, n);
        encoding.writeVarUint8Array(enc, b);
        encoding.writeVarString(enc, s);
        encoding.writeUint32BigEndian(enc, n % 2 ** 32);
        const mine = new ByteWriter().writeVarUint(n).writeVarBytes(b).writeVarString(s).writeU32(n % 2 ** 32);
        expect(mine.toBytes()).toEqual(encoding.toUint8Array(enc));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('ByteReader: fixed-width reads', () => {
  it('reads u8, u32, u64, bytes and the rest from a view into a larger buffer', () => {
    const input = viewInto(bytes(7, 1, 2, 3, 4, 0, 0, 1, 0, 0, 0, 1, 2, 9, 8, 6, 5), 4, 4);
    const r = new ByteReader(input);
    expect(r.readU8()).toBe(7);
    expect(r.readU32()).toBe(0x0102_0304);
    expect(r.readU64()).toBe(2 ** 40 + 258);
    const two = r.readBytes(2);
    expect(Array.from(two)).toEqual([9, 8]);
    expectWithin(two, input);
    r.skip(1);
    expect(r.position).toBe(16);
    const rest = r.readRest();
    expect(Array.from(rest)).toEqual([5]);
    expectWithin(rest, input);
    expect(r.remaining).toBe(0);
    expect(r.readRest().length).toBe(0);
    r.expectEnd();
  });

  it('raises Truncated at the end of the view, never reading the bytes after it', () => {
    const input = viewInto(bytes(1, 2, 3), 0, 8);
    expect(codeOf(() => new ByteReader(input).readU32())).toBe(ProtocolErrorCode.Truncated);
    expect(codeOf(() => new ByteReader(input).readU64())).toBe(ProtocolErrorCode.Truncated);
    expect(codeOf(() => new ByteReader(input).readBytes(4))).toBe(ProtocolErrorCode.Truncated);
    expect(codeOf(() => new ByteReader(input).skip(4))).toBe(ProtocolErrorCode.Truncated);
    expect(codeOf(() => new ByteReader(bytes()).readU8())).toBe(ProtocolErrorCode.Truncated);
  });

  it('raises VarintOverflow for a u64 above 2^53 - 1', () => {
    expect(new ByteReader(bytes(0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)).readU64()).toBe(Number.MAX_SAFE_INTEGER);
    expect(codeOf(() => new ByteReader(bytes(0x00, 0x20, 0, 0, 0, 0, 0, 0)).readU64())).toBe(ProtocolErrorCode.VarintOverflow);
  });

  it('round-trips everything the writer writes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }), fc.nat({ max: 0xffff_ffff }), fc.maxSafeNat(), fc.maxSafeNat(), arbBytes(40), fc.string({ unit: 'binary', maxLength: 30 }),
        (u8, u32, u64, v, b, s) => {
          const out = new ByteWriter().writeU8(u8).writeU32(u32).writeU64(u64).writeVarUint(v).writeVarBytes(b).writeVarString(s).writeBytes(b).toBytes();
          const r = new ByteReader(viewInto(out, 3, 3));
          expect([r.readU8(), r.readU32(), r.readU64(), r.readVarUint()]).toEqual([u8, u32, u64, v]);
          expect(r.readVarBytes(Infinity)).toEqual(b);
          expect(r.readVarString(Infinity)).toBe(s.isWellFormed() ? s : s.toWellFormed());
          expect(r.readBytes(b.length)).toEqual(b);
          r.expectEnd();
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('arbitrary bytes only raise coded errors', () => {
    fc.assert(
      fc.property(arbBytes(), (input) => {
        const r = new ByteReader(input);
        codeOf(() => {
          r.readU8();
          r.readU64();
          r.readVarString(64);
          r.readU32();
          r.readBytes(3);
          r.readVarBytes(100);
          r.expectEnd();
        });
        expect(r.position).toBeLessThanOrEqual(input.length);
      }),
      { numRuns: RUNS },
    );
  });
});
