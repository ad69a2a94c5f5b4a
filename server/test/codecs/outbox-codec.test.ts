import fc from 'fast-check';
import { ProtocolErrorCode } from '@skein/protocol';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createMemoryStore } from '../../src/persistence/log-store.js';
import { outboxPut } from '../../src/persistence/store-outbox.js';
import { silentLogger } from '../../src/logging/logger.js';
import { decodeOutboxKey, decodeOutboxValue, encodeOutboxKey, encodeOutboxValue } from '../../src/persistence/outbox-codec.js';
import { RUNS, arbBytes, ascii, bytes, codeOf, inView, u64, viewInto } from './helpers.js';

/** key = seq:u64be; value = name:varString update:varUint8Array. */
const GOLDEN: ReadonlyArray<readonly [string, Uint8Array, number[]]> = [
  ['doc', bytes(1, 2, 3), [3, ...ascii('doc'), 3, 1, 2, 3]],
  ['é', bytes(), [2, 0xc3, 0xa9, 0]],
];

const Y_UPDATE = ((): Uint8Array => {
  const doc = new Y.Doc();
  doc.getMap('m').set('k', 1);
  return Y.encodeStateAsUpdate(doc);
})();

describe('outbox records: golden bytes', () => {
  it('a store outbox record is 06 seq:u64be → type 07, crc, name:varString update:varUint8Array', async () => {
    const store = createMemoryStore({ logger: silentLogger() });
    for (const [name] of GOLDEN) expect(await store.append(name, Y_UPDATE, { replicate: true })).toEqual({ outboxSeq: expect.any(Number) as number });
    const [name, update, value] = GOLDEN[0]!;
    const op = outboxPut(7, { name, update });
    expect(Array.from(op.key)).toEqual([6, ...u64(7)]);
    expect(op.type === 'put' && Array.from(op.value.subarray(0, 1))).toEqual([7]);
    expect(op.type === 'put' && Array.from(op.value.subarray(5))).toEqual(value);
    expect((await store.outbox.peek(10)).map((e) => e.name)).toEqual(GOLDEN.map(([n]) => n));
    await store.close();
  });

  for (const [name, update, value] of GOLDEN) {
    it(`encodes and decodes "${name}" (also from a view into a larger buffer)`, () => {
      expect(Array.from(encodeOutboxValue(name, update))).toEqual(value);
      expect(decodeOutboxValue(Uint8Array.from(value))).toEqual({ name, update });
      expect(decodeOutboxValue(viewInto(Uint8Array.from(value), 3, 3))).toEqual({ name, update });
    });
  }

  it('keys', () => {
    expect(Array.from(encodeOutboxKey(1))).toEqual(u64(1));
    expect(Array.from(encodeOutboxKey(2 ** 40 + 258))).toEqual([0, 0, 1, 0, 0, 0, 1, 2]);
    expect(decodeOutboxKey(viewInto(Uint8Array.from(u64(300)), 2, 2))).toBe(300);
  });
});

const P = ProtocolErrorCode;

describe('outbox records: every error code from a crafted input', () => {
  const CASES: ReadonlyArray<readonly [string, () => unknown, string]> = [
    ['value: empty', () => decodeOutboxValue(bytes()), P.Empty],
    ['value: ends after the name', () => decodeOutboxValue(bytes(1, 0x61)), P.Truncated],
    ['value: name longer than the input', () => decodeOutboxValue(bytes(4, 0x61)), P.LengthOutOfBounds],
    ['value: name not UTF-8', () => decodeOutboxValue(bytes(1, 0xff, 0)), P.InvalidString],
    ['value: update longer than the input', () => decodeOutboxValue(bytes(1, 0x61, 3, 1)), P.LengthOutOfBounds],
    ['value: name length above 2^53 - 1', () => decodeOutboxValue(bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)), P.VarintOverflow],
    ['value: trailing byte', () => decodeOutboxValue(bytes(1, 0x61, 0, 0)), P.TrailingBytes],
    ['key: empty', () => decodeOutboxKey(bytes()), P.Empty],
    ['key: short', () => decodeOutboxKey(bytes(0, 0, 0, 1)), P.Truncated],
    ['key: long', () => decodeOutboxKey(Uint8Array.from([...u64(1), 0])), P.TrailingBytes],
    ['key: above 2^53 - 1', () => decodeOutboxKey(bytes(0, 0x20, 0, 0, 0, 0, 0, 0)), P.VarintOverflow],
  ];
  for (const [name, decode, code] of CASES) {
    it(`${name} → ${code}`, () => {
      expect(codeOf(decode)).toBe(code);
    });
  }

  it('an update cut short by the view is refused even when the larger buffer holds the rest', () => {
    const backing = encodeOutboxValue('doc', bytes(1, 2, 3));
    expect(codeOf(() => decodeOutboxValue(backing.subarray(0, backing.length - 1)))).toBe(P.LengthOutOfBounds);
  });
});

describe('outbox records: properties', () => {
  it('round-trips, also from views into larger buffers', () => {
    const arbEntry = fc.tuple(fc.string({ unit: 'grapheme', maxLength: 60 }), arbBytes());
    fc.assert(
      fc.property(
        arbEntry.chain(([name, update]) => fc.tuple(fc.constant({ name, update }), inView(encodeOutboxValue(name, update)))),
        fc.maxSafeNat(),
        ([entry, value], seq) => {
          expect(decodeOutboxValue(value)).toEqual(entry);
          expect(decodeOutboxKey(viewInto(encodeOutboxKey(seq), 1, 1))).toBe(seq);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('arbitrary bytes (incl. views into larger buffers) only raise coded errors', () => {
    fc.assert(
      fc.property(arbBytes(), (input) => {
        codeOf(() => decodeOutboxValue(input));
        codeOf(() => decodeOutboxKey(input));
      }),
      { numRuns: RUNS },
    );
  });
});
