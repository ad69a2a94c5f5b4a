import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type DecodeLimits,
  ProtocolError,
  ProtocolErrorCode,
  decodeAwarenessUpdate,
  decodeMessage,
  decodeStateVector,
  encodeAwarenessUpdate,
  encodeMessage,
  encodeStateVector,
} from '../src/index.js';
import {
  RUNS,
  arbAwarenessEntry,
  arbBytes,
  arbMessage,
  codeOf,
  expectWithin,
  viewInto,
  viewsOf,
} from './helpers.js';

const opts = { numRuns: RUNS };

/** The codes a cut-short input may raise: nothing about its content is wrong, only its end. */
const END_OF_INPUT_CODES: readonly string[] = [
  ProtocolErrorCode.Empty,
  ProtocolErrorCode.Truncated,
  ProtocolErrorCode.LengthOutOfBounds,
];

const arbLimits: fc.Arbitrary<DecodeLimits | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.record(
    {
      maxBytesLength: fc.nat({ max: 400 }),
      maxAwarenessEntries: fc.nat({ max: 20 }),
      maxStringBytes: fc.nat({ max: 100 }),
    },
    { requiredKeys: [] },
  ),
);

/** Decode with every decoder; only ProtocolError may escape, and views stay inside `input`. */
function decodeAll(input: Uint8Array, limits: DecodeLimits | undefined): void {
  for (const decode of [
    () => {
      const message = decodeMessage(input, limits);
      for (const view of viewsOf(message)) expectWithin(view, input);
    },
    () => decodeAwarenessUpdate(input, limits),
    () => decodeStateVector(input),
  ]) {
    try {
      decode();
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      expect(Object.values(ProtocolErrorCode)).toContain(err.code);
    }
  }
}

/** Apply a random mutation to a valid encoding. */
const arbMutated = (arbValid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> =>
  fc
    .tuple(arbValid, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat({ max: 3 }), fc.nat({ max: 16 }))
    .map(([valid, at, value, kind, pad]) => {
      const copy = Uint8Array.from(valid);
      const i = copy.length === 0 ? 0 : at % copy.length;
      if (kind === 0) return viewInto(copy.subarray(0, i), pad, 8);
      if (kind === 1 && copy.length > 0) copy[i] = value;
      if (kind === 2) return viewInto(Uint8Array.from([...copy.subarray(0, i), value, ...copy.subarray(i)]), pad, 8);
      return viewInto(copy, pad, 8, value);
    });

describe('round trips', () => {
  it('decodeMessage(encodeMessage(m)) equals m', () => {
    fc.assert(
      fc.property(arbMessage, (message) => {
        expect(decodeMessage(encodeMessage(message))).toEqual(message);
      }),
      opts,
    );
  });

  it('encodeMessage(decodeMessage(b)) equals b for every frame the encoder made', () => {
    fc.assert(
      fc.property(arbMessage, fc.nat({ max: 16 }), (message, pad) => {
        const frame = encodeMessage(message);
        expect(encodeMessage(decodeMessage(viewInto(frame, pad, 4)))).toEqual(frame);
      }),
      opts,
    );
  });

  it('decodeAwarenessUpdate(encodeAwarenessUpdate(e)) equals e for JSON states', () => {
    fc.assert(
      fc.property(fc.array(arbAwarenessEntry, { maxLength: 8 }), (entries) => {
        const expected = entries.map((e) => ({ ...e, state: JSON.parse(JSON.stringify(e.state)) as unknown }));
        expect(decodeAwarenessUpdate(encodeAwarenessUpdate(entries))).toEqual(expected);
      }),
      opts,
    );
  });

  it('decodeStateVector(encodeStateVector(sv)) equals sv', () => {
    const arbSv = fc
      .array(fc.tuple(fc.oneof(fc.nat({ max: 1000 }), fc.maxSafeNat()), fc.oneof(fc.nat({ max: 1000 }), fc.maxSafeNat())), {
        maxLength: 10,
      })
      .map((entries) => new Map(entries));
    fc.assert(
      fc.property(arbSv, (sv) => {
        const encoded = encodeStateVector(sv);
        expect(decodeStateVector(encoded)).toEqual(sv);
        expect(encodeStateVector(decodeStateVector(encoded))).toEqual(encoded);
      }),
      opts,
    );
  });
});

describe('robustness on hostile input', () => {
  it('arbitrary bytes (also views into larger buffers) only raise ProtocolError', () => {
    fc.assert(fc.property(arbBytes(64), arbLimits, (input, limits) => decodeAll(input, limits)), opts);
  });

  it('mutated valid frames only raise ProtocolError', () => {
    fc.assert(
      fc.property(arbMutated(arbMessage.map(encodeMessage)), arbLimits, (input, limits) => decodeAll(input, limits)),
      opts,
    );
  });

  it('mutated valid awareness updates only raise ProtocolError', () => {
    const arbUpdate = fc.array(arbAwarenessEntry, { maxLength: 4 }).map(encodeAwarenessUpdate);
    fc.assert(fc.property(arbMutated(arbUpdate), arbLimits, (input, limits) => decodeAll(input, limits)), opts);
  });

  it('every proper prefix of a valid frame is rejected, even when the buffer continues', () => {
    fc.assert(
      fc.property(arbMessage, fc.nat(), (message, at) => {
        const frame = encodeMessage(message);
        const cut = at % frame.length;
        // The backing buffer still holds the rest of the frame: a decoder that reads past the
        // view would "succeed" here.
        const input = Uint8Array.from(frame).subarray(0, cut);
        expect(END_OF_INPUT_CODES).toContain(codeOf(() => decodeMessage(input)));
      }),
      opts,
    );
  });

  it('bytes after a complete frame raise TrailingBytes', () => {
    fc.assert(
      fc.property(arbMessage, fc.uint8Array({ minLength: 1, maxLength: 8 }), (message, extra) => {
        const input = Uint8Array.from([...encodeMessage(message), ...extra]);
        expect(codeOf(() => decodeMessage(input))).toBe(ProtocolErrorCode.TrailingBytes);
      }),
      opts,
    );
  });

  it('every proper prefix of a valid awareness update or state vector is rejected', () => {
    const arbSv = fc.array(fc.tuple(fc.maxSafeNat(), fc.maxSafeNat()), { maxLength: 4 }).map((e) => new Map(e));
    fc.assert(
      fc.property(fc.array(arbAwarenessEntry, { maxLength: 4 }), arbSv, fc.nat(), (entries, sv, at) => {
        const update = encodeAwarenessUpdate(entries);
        const vector = encodeStateVector(sv);
        const cutUpdate = Uint8Array.from(update).subarray(0, at % update.length);
        const cutVector = Uint8Array.from(vector).subarray(0, at % vector.length);
        expect(END_OF_INPUT_CODES).toContain(codeOf(() => decodeAwarenessUpdate(cutUpdate)));
        expect(END_OF_INPUT_CODES).toContain(codeOf(() => decodeStateVector(cutVector)));
      }),
      opts,
    );
  });

  it('bytes after a complete awareness update raise TrailingBytes', () => {
    fc.assert(
      fc.property(fc.array(arbAwarenessEntry, { maxLength: 4 }), fc.uint8Array({ minLength: 1, maxLength: 8 }), (entries, extra) => {
        const input = Uint8Array.from([...encodeAwarenessUpdate(entries), ...extra]);
        expect(codeOf(() => decodeAwarenessUpdate(input))).toBe(ProtocolErrorCode.TrailingBytes);
      }),
      opts,
    );
  });

  it('never reads a varint past 2^53 - 1', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 12 }), (raw) => {
        // Force a run of continuation bytes: value bytes 0..6 continue, 7th byte arbitrary.
        const input = raw.map((b, i) => (i < 7 ? b | 0x80 : b));
        const result = codeOf(() => decodeStateVector(input));
        const last = input[7] ?? 0;
        if (last > 0x0f) expect(result).toBe(ProtocolErrorCode.VarintOverflow);
        else expect(result).not.toBe(ProtocolErrorCode.VarintOverflow);
      }),
      opts,
    );
  });
});
