import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { decodeBinaryFrame, encodeBinaryFrame, encodeBinaryFrameHead, frameHeaderLength } from '../../src/transport/ws-frame.js';

// The reference: ws's own Sender.frame (what `ws.send` writes), header and payload joined.
const { Sender } = createRequire(import.meta.url)('ws') as { Sender: { frame(data: Buffer, o: object): Buffer[] } };
const wsFrame = (payload: Uint8Array): Uint8Array =>
  new Uint8Array(Buffer.concat(Sender.frame(Buffer.from(payload), { fin: true, opcode: 2, mask: false, readOnly: false, rsv1: false })));

const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);

describe('ws-frame: one unmasked final binary frame', () => {
  it('golden bytes: 7-bit, 16-bit and 64-bit lengths', () => {
    expect([...encodeBinaryFrame(Uint8Array.of(0, 1, 2))]).toEqual([0x82, 3, 0, 1, 2]);
    expect([...encodeBinaryFrame(new Uint8Array(0))]).toEqual([0x82, 0]);
    expect([...encodeBinaryFrame(bytes(125)).subarray(0, 2)]).toEqual([0x82, 125]);
    expect([...encodeBinaryFrame(bytes(126)).subarray(0, 4)]).toEqual([0x82, 126, 0, 126]);
    expect([...encodeBinaryFrame(bytes(65535)).subarray(0, 4)]).toEqual([0x82, 126, 0xff, 0xff]);
    expect([...encodeBinaryFrame(bytes(65536)).subarray(0, 10)]).toEqual([0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
  });

  it('is byte for byte what ws writes for the same message, at every length boundary', () => {
    for (const n of [0, 1, 125, 126, 127, 1000, 65535, 65536, 70000]) {
      const payload = bytes(n);
      const frame = encodeBinaryFrame(payload);
      expect(frame.byteLength).toBe(frameHeaderLength(n) + n);
      expect(Buffer.compare(Buffer.from(frame), Buffer.from(wsFrame(payload)))).toBe(0);
      expect([...decodeBinaryFrame(frame)]).toEqual([...payload]);
    }
  });

  it('a frame head followed by its body is the frame of head and body joined, at every length boundary', () => {
    expect([...encodeBinaryFrameHead(Uint8Array.of(0, 1, 3), 3)]).toEqual([0x82, 6, 0, 1, 3]);
    expect([...encodeBinaryFrameHead(new Uint8Array(0), 0)]).toEqual([0x82, 0]);
    expect([...encodeBinaryFrameHead(Uint8Array.of(0, 1, 0x82, 0x01), 130)]).toEqual([0x82, 126, 0, 134, 0, 1, 0x82, 0x01]);
    for (const n of [0, 1, 121, 122, 123, 1000, 65531, 65532, 65533, 70000]) {
      const head = Uint8Array.of(0, 1, 9, 9);
      const body = bytes(n);
      const joined = new Uint8Array([...head, ...body]);
      const start = encodeBinaryFrameHead(head, n);
      expect(start.byteLength).toBe(frameHeaderLength(head.byteLength + n) + head.byteLength);
      expect(Buffer.compare(Buffer.concat([start, body]), Buffer.from(wsFrame(joined)))).toBe(0);
    }
    expect(() => encodeBinaryFrameHead(new Uint8Array(0), -1)).toThrow(RangeError);
    expect(() => encodeBinaryFrameHead(new Uint8Array(0), 1.5)).toThrow(RangeError);
  });

  it('decode refuses what encode never writes', () => {
    expect(() => decodeBinaryFrame(Uint8Array.of(0x82))).toThrow(RangeError);
    expect(() => decodeBinaryFrame(Uint8Array.of(0x81, 0))).toThrow(/not a final binary frame/);
    expect(() => decodeBinaryFrame(Uint8Array.of(0x02, 0))).toThrow(/not a final binary frame/);
    expect(() => decodeBinaryFrame(Uint8Array.of(0x82, 0x83, 1, 2, 3, 4, 9, 9, 9))).toThrow(/masked/);
    expect(() => decodeBinaryFrame(Uint8Array.of(0x82, 5, 1, 2))).toThrow(/declares 5/);
    expect(() => decodeBinaryFrame(Uint8Array.of(0x82, 126, 0))).toThrow(/truncated/);
  });
});
