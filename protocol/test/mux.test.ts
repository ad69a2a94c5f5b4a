import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  MAX_MUX_CHANNEL,
  MUX_PROTOCOL,
  ProtocolErrorCode,
  decodeMuxControl,
  decodeMuxFrame,
  encodeMuxControl,
  encodeMuxFrame,
  encodeMuxHeader,
  encodeSyncStep1,
  encodeSyncStep2,
  isCutShortMuxPayload,
  type MuxControl,
} from '../src/index.js';

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code ?? (err as Error).name;
  }
  return undefined;
}

describe('skein-mux.v1 golden bytes', () => {
  it('names the sub-protocol', () => {
    expect(MUX_PROTOCOL).toBe('skein-mux.v1');
  });

  it.each<[string, MuxControl, number[]]>([
    ['open channel 1 "doc"', { op: 'open', channel: 1, name: 'doc' }, [0, 0, 1, 3, ...ascii('doc')]],
    ['open channel 300 "é"', { op: 'open', channel: 300, name: 'é' }, [0, 0, 0xac, 0x02, 2, 0xc3, 0xa9]],
    ['close channel 7', { op: 'close', channel: 7 }, [0, 1, 7]],
    [
      'closed channel 2, 4403, "no"',
      { op: 'closed', channel: 2, code: 4403, reason: 'no' },
      [0, 2, 2, 0xb3, 0x22, 2, ...ascii('no')],
    ],
  ])('%s', (_name, message, bytes) => {
    expect(Array.from(encodeMuxControl(message))).toEqual(bytes);
    const frame = decodeMuxFrame(Uint8Array.from(bytes));
    expect(frame.channel).toBe(0);
    expect(decodeMuxControl(frame.payload)).toEqual(message);
  });

  it('a channel message is varUint(channel) ‖ the one-document message; header ‖ payload is the same bytes', () => {
    const step1 = encodeSyncStep1(Uint8Array.of(0));
    expect(Array.from(encodeMuxFrame(129, step1))).toEqual([0x81, 0x01, ...step1]);
    expect(Array.from(encodeMuxHeader(129))).toEqual([0x81, 0x01]);
    const frame = decodeMuxFrame(encodeMuxFrame(129, step1));
    expect(frame.channel).toBe(129);
    expect(Array.from(frame.payload)).toEqual(Array.from(step1));
  });
});

describe('skein-mux.v1 messages cut short', () => {
  it('empty, or a sync message shorter than its length prefix, is cut short; whole messages and other types are not', () => {
    const step2 = encodeSyncStep2(new Uint8Array(300).fill(7));
    expect(isCutShortMuxPayload(new Uint8Array(0))).toBe(true);
    expect(isCutShortMuxPayload(step2.subarray(0, 2))).toBe(true); // inside the length varint
    expect(isCutShortMuxPayload(step2.subarray(0, 100))).toBe(true);
    expect(isCutShortMuxPayload(step2.subarray(0, step2.length - 1))).toBe(true);
    expect(isCutShortMuxPayload(step2)).toBe(false);
    expect(isCutShortMuxPayload(encodeSyncStep1(Uint8Array.of(0)))).toBe(false);
    expect(isCutShortMuxPayload(Uint8Array.of(102, 5))).toBe(false); // an Ack
    expect(isCutShortMuxPayload(Uint8Array.of(1, 5, 0))).toBe(false); // not sync: decoded (and refused) as usual
  });
});

describe('skein-mux.v1 bounds', () => {
  it('refuses empty messages, a missing payload, channels past the bound and channel 0 in control fields', () => {
    expect(codeOf(() => decodeMuxFrame(new Uint8Array()))).toBe(ProtocolErrorCode.Empty);
    expect(decodeMuxFrame(Uint8Array.of(5))).toEqual({ channel: 5, payload: new Uint8Array(0) });
    expect(codeOf(() => decodeMuxFrame(Uint8Array.of(0x80)))).toBe(ProtocolErrorCode.Truncated);
    expect(codeOf(() => decodeMuxFrame(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x08, 0)))).toBe(ProtocolErrorCode.LengthOutOfBounds);
    expect(codeOf(() => decodeMuxControl(Uint8Array.of(1, 0)))).toBe(ProtocolErrorCode.LengthOutOfBounds);
    expect(codeOf(() => encodeMuxFrame(MAX_MUX_CHANNEL + 1, Uint8Array.of(0)))).toBe('RangeError');
  });

  it('refuses unknown ops, trailing bytes, names over 255 bytes, invalid UTF-8 and close codes past 4999', () => {
    expect(codeOf(() => decodeMuxControl(Uint8Array.of(9, 1)))).toBe(ProtocolErrorCode.UnknownMessageType);
    expect(codeOf(() => decodeMuxControl(Uint8Array.of(1, 1, 0)))).toBe(ProtocolErrorCode.TrailingBytes);
    expect(codeOf(() => decodeMuxControl(Uint8Array.of(0, 1, 0x80, 0x02, ...new Array<number>(256).fill(0x61))))).toBe(ProtocolErrorCode.LengthOutOfBounds);
    expect(codeOf(() => decodeMuxControl(Uint8Array.of(0, 1, 1, 0xff)))).toBe(ProtocolErrorCode.InvalidString);
    expect(codeOf(() => decodeMuxControl(Uint8Array.of(2, 1, 0x88, 0x27, 0)))).toBe(ProtocolErrorCode.LengthOutOfBounds);
  });

  it('property: every control message round-trips; arbitrary bytes decode or throw a ProtocolError', () => {
    const channel = fc.integer({ min: 1, max: MAX_MUX_CHANNEL });
    const name = fc.string({ minLength: 1, maxLength: 60 });
    const control: fc.Arbitrary<MuxControl> = fc.oneof(
      fc.record({ op: fc.constant('open' as const), channel, name }),
      fc.record({ op: fc.constant('close' as const), channel }),
      fc.record({ op: fc.constant('closed' as const), channel, code: fc.integer({ min: 1000, max: 4999 }), reason: fc.string({ maxLength: 30 }) }),
    );
    fc.assert(
      fc.property(control, (m) => {
        expect(decodeMuxControl(decodeMuxFrame(encodeMuxControl(m)).payload)).toEqual(m);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        try {
          const frame = decodeMuxFrame(bytes);
          if (frame.channel === 0) decodeMuxControl(frame.payload);
        } catch (err) {
          expect((err as Error).name).toBe('ProtocolError');
        }
      }),
    );
  });
});
