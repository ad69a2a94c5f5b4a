import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeMessage,
  encodeAck,
  encodeHello,
  encodeMessage,
  encodeWelcome,
  SkeinFeature,
  SKEIN_PROTOCOL_VERSION,
  type Message,
} from '../src/index.js';

describe('Skein extension messages', () => {
  it('encodes golden frames', () => {
    expect([...encodeHello(SkeinFeature.DurableAcks)]).toEqual([100, SKEIN_PROTOCOL_VERSION, 1]);
    expect([...encodeWelcome(1, 1)]).toEqual([101, 1, 1]);
    expect([...encodeAck(1)]).toEqual([102, 1]);
    expect([...encodeAck(300)]).toEqual([102, 0xac, 0x02]);
  });

  it('decodes golden frames', () => {
    expect(decodeMessage(Uint8Array.of(100, 1, 1))).toEqual({ type: 'skein-hello', version: 1, features: 1 });
    expect(decodeMessage(Uint8Array.of(101, 1, 0))).toEqual({ type: 'skein-welcome', version: 1, features: 0 });
    expect(decodeMessage(Uint8Array.of(102, 0xac, 0x02))).toEqual({ type: 'skein-ack', seq: 300 });
  });

  it('round-trips arbitrary extension messages', () => {
    const arb: fc.Arbitrary<Message> = fc.oneof(
      fc.record({ type: fc.constant('skein-hello' as const), version: fc.maxSafeNat(), features: fc.maxSafeNat() }),
      fc.record({ type: fc.constant('skein-welcome' as const), version: fc.maxSafeNat(), features: fc.maxSafeNat() }),
      fc.record({ type: fc.constant('skein-ack' as const), seq: fc.maxSafeNat() }),
    );
    fc.assert(
      fc.property(arb, (m) => {
        expect(decodeMessage(encodeMessage(m))).toEqual(m);
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects negative or fractional fields when encoding (programming errors)', () => {
    expect(() => encodeAck(-1)).toThrow(RangeError);
    expect(() => encodeAck(1.5)).toThrow(RangeError);
  });
});
