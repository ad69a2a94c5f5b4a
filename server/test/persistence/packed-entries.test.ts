import { describe, expect, it } from 'vitest';
import { MessageChannel } from 'node:worker_threads';
import fc from 'fast-check';
import { packEntries, packedBytes, transferList, unpackEntries } from '../../src/persistence/packed-entries.js';

const bytes = (...xs: number[]): Uint8Array => Uint8Array.from(xs);

describe('packed entries (records handed to the compaction worker as one buffer)', () => {
  it('golden layout: keys and values back to back, offsets of each start and the end', () => {
    const packed = packEntries([{ key: bytes(1, 2), value: bytes(9) }, { key: bytes(3), value: bytes() }]);
    expect(Array.from(packed.bytes)).toEqual([1, 2, 9, 3]);
    expect(Array.from(packed.offsets)).toEqual([0, 2, 3, 4, 4]);
    expect(packed.bytes.byteOffset).toBe(0);
    expect(packed.bytes.buffer.byteLength).toBe(4);
    expect(packed.large).toEqual([]);
    expect(Array.from(packed.largeAt)).toEqual([]);
  });

  it('a large value that owns its buffer is handed over as it is (not copied); views and shared buffers are copied', () => {
    const big = bytes(7, 7, 7, 7, 7);
    const shared = new Uint8Array(8).fill(5);
    const entries = [
      { key: bytes(1), value: bytes(9) },
      { key: bytes(2), value: big },
      { key: bytes(3), value: shared.subarray(0, 6) }, // a view: part of its buffer
      { key: bytes(4), value: big }, // the same buffer again: transferred once only
    ];
    const packed = packEntries(entries, 4);
    expect(packed.large).toHaveLength(1);
    expect(packed.large[0]).toBe(big);
    expect(Array.from(packed.largeAt)).toEqual([1]);
    // Entry 1's value has an empty span; entry 3's (the same buffer again) is copied in.
    expect(Array.from(packed.bytes)).toEqual([1, 9, 2, 3, 5, 5, 5, 5, 5, 5, 4, 7, 7, 7, 7, 7]);
    expect(Array.from(packed.offsets)).toEqual([0, 1, 2, 3, 3, 4, 10, 11, 16]);
    // Every key and value counted once (the pool's rule for a large job): 4 keys + 1 + 5 + 6 + 5.
    expect(packedBytes(packed)).toBe(4 + 1 + 5 + 6 + 5);
    expect(transferList(packed)).toContain(big.buffer);
    expect(new Set(transferList(packed)).size).toBe(transferList(packed).length);
    const back = unpackEntries(packed);
    expect(back[1]?.value).toBe(big);
    expect(back.map((e) => [Array.from(e.key), Array.from(e.value)])).toEqual(entries.map((e) => [Array.from(e.key), Array.from(e.value)]));
  });

  it('the transfer leaves the large value with the worker: posted through a real MessageChannel, nothing is copied back', async () => {
    const big = new Uint8Array(100_000).fill(3);
    const packed = packEntries([{ key: bytes(1), value: big }, { key: bytes(2), value: bytes(4) }]);
    const { port1, port2 } = new MessageChannel();
    const got = new Promise<typeof packed>((resolve) => port2.once('message', resolve));
    port1.postMessage(packed, transferList(packed));
    const received = await got;
    port1.close();
    expect(big.byteLength).toBe(0); // detached here: moved, not cloned
    const back = unpackEntries(received);
    expect(back[0]?.value.byteLength).toBe(100_000);
    expect(back[0]?.value.every((x) => x === 3)).toBe(true);
    expect(Array.from(back[1]?.value ?? [])).toEqual([4]);
  });

  it('round-trips any entries, as views of one buffer', () => {
    const entry = fc.record({ key: fc.uint8Array({ maxLength: 20 }), value: fc.uint8Array({ maxLength: 200 }) });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 50 }), (entries) => {
        const back = unpackEntries(packEntries(entries, 64));
        expect(back.map((e) => [Array.from(e.key), Array.from(e.value)])).toEqual(entries.map((e) => [Array.from(e.key), Array.from(e.value)]));
      }),
    );
    expect(unpackEntries(packEntries([]))).toEqual([]);
  });

  it('refuses offsets that do not describe the buffer', () => {
    const { bytes: b } = packEntries([{ key: bytes(1), value: bytes(2) }]);
    const none = { large: [], largeAt: new Uint32Array(0) };
    expect(() => unpackEntries({ bytes: b, offsets: Uint32Array.of(0, 1), ...none })).toThrow(RangeError);
    expect(() => unpackEntries({ bytes: b, offsets: Uint32Array.of(0, 1, 3), ...none })).toThrow(RangeError);
    expect(() => unpackEntries({ bytes: b, offsets: Uint32Array.of(1, 0, 2), ...none })).toThrow(RangeError);
    // A large value whose entry also has bytes in the buffer, or a count that does not match.
    expect(() => unpackEntries({ bytes: b, offsets: Uint32Array.of(0, 1, 2), large: [bytes(5)], largeAt: Uint32Array.of(0) })).toThrow(RangeError);
    expect(() => unpackEntries({ bytes: b, offsets: Uint32Array.of(0, 1, 2), large: [], largeAt: Uint32Array.of(0) })).toThrow(RangeError);
    expect(() => unpackEntries({ bytes: b, offsets: Uint32Array.of(0, 1, 2), large: [bytes(5)], largeAt: Uint32Array.of(3) })).toThrow(RangeError);
  });
});
