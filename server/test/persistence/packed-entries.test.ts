import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { packEntries, unpackEntries } from '../../src/persistence/packed-entries.js';

const bytes = (...xs: number[]): Uint8Array => Uint8Array.from(xs);

describe('packed entries (records handed to the compaction worker as one buffer)', () => {
  it('golden layout: keys and values back to back, offsets of each start and the end', () => {
    const packed = packEntries([{ key: bytes(1, 2), value: bytes(9) }, { key: bytes(3), value: bytes() }]);
    expect(Array.from(packed.bytes)).toEqual([1, 2, 9, 3]);
    expect(Array.from(packed.offsets)).toEqual([0, 2, 3, 4, 4]);
    expect(packed.bytes.byteOffset).toBe(0);
    expect(packed.bytes.buffer.byteLength).toBe(4);
  });

  it('round-trips any entries, as views of one buffer', () => {
    const entry = fc.record({ key: fc.uint8Array({ maxLength: 20 }), value: fc.uint8Array({ maxLength: 200 }) });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 50 }), (entries) => {
        const back = unpackEntries(packEntries(entries));
        expect(back.map((e) => [Array.from(e.key), Array.from(e.value)])).toEqual(entries.map((e) => [Array.from(e.key), Array.from(e.value)]));
      }),
    );
    expect(unpackEntries(packEntries([]))).toEqual([]);
  });

  it('refuses offsets that do not describe the buffer', () => {
    const { bytes: b } = packEntries([{ key: bytes(1), value: bytes(2) }]);
    expect(() => unpackEntries({ bytes: b, offsets: Uint32Array.of(0, 1) })).toThrow(RangeError);
    expect(() => unpackEntries({ bytes: b, offsets: Uint32Array.of(0, 1, 3) })).toThrow(RangeError);
    expect(() => unpackEntries({ bytes: b, offsets: Uint32Array.of(1, 0, 2) })).toThrow(RangeError);
  });
});
