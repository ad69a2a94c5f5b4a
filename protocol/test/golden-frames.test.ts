import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import {
  type AwarenessEntry,
  type Message,
  decodeAwarenessUpdate,
  decodeMessage,
  decodeStateVector,
  encodeAuthDenied,
  encodeAwareness,
  encodeAwarenessUpdate,
  encodeMessage,
  encodeQueryAwareness,
  encodeStateVector,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncStep2Prefix,
  encodeSyncUpdate,
} from '../src/index.js';
import { ascii, bytes, expectWithin, viewInto } from './helpers.js';

const NULL_JSON = ascii('null');
const big = new Uint8Array(200).map((_, i) => i);
const huge = new Uint8Array(20_000).fill(7);

/** Hand-written frames: [name, message, exact bytes]. */
const GOLDEN: ReadonlyArray<readonly [string, Message, number[]]> = [
  ['sync step 1, empty state vector', { type: 'sync-step1', stateVector: bytes(0) }, [0, 0, 1, 0]],
  ['sync step 1, one client', { type: 'sync-step1', stateVector: bytes(1, 42, 3) }, [0, 0, 3, 1, 42, 3]],
  ['sync step 2, empty Yjs update', { type: 'sync-step2', update: bytes(0, 0) }, [0, 1, 2, 0, 0]],
  ['sync update', { type: 'sync-update', update: bytes(1, 2, 3) }, [0, 2, 3, 1, 2, 3]],
  ['sync update, empty payload', { type: 'sync-update', update: bytes() }, [0, 2, 0]],
  ['sync update, 2-byte length (200)', { type: 'sync-update', update: big }, [0, 2, 0xc8, 0x01, ...big]],
  [
    'awareness, one removed client',
    { type: 'awareness', update: bytes(1, 1, 2, 4, ...NULL_JSON) },
    [1, 8, 1, 1, 2, 4, ...NULL_JSON],
  ],
  ['auth denied "no"', { type: 'auth-denied', reason: 'no' }, [2, 0, 2, ...ascii('no')]],
  ['auth denied, empty reason', { type: 'auth-denied', reason: '' }, [2, 0, 0]],
  ['auth denied "é" (2 UTF-8 bytes)', { type: 'auth-denied', reason: 'é' }, [2, 0, 2, 0xc3, 0xa9]],
  ['auth denied, leading BOM kept', { type: 'auth-denied', reason: '\ufeffx' }, [2, 0, 4, 0xef, 0xbb, 0xbf, 0x78]],
  ['query awareness', { type: 'query-awareness' }, [3]],
];

describe('golden frames', () => {
  for (const [name, message, frame] of GOLDEN) {
    it(`encodes ${name}`, () => {
      expect(Array.from(encodeMessage(message))).toEqual(frame);
    });
    it(`decodes ${name}`, () => {
      expect(decodeMessage(Uint8Array.from(frame))).toEqual(message);
    });
    it(`decodes ${name} from a view at an offset into a larger buffer`, () => {
      const input = viewInto(Uint8Array.from(frame), 5, 7);
      const decoded = decodeMessage(input);
      expect(decoded).toEqual(message);
      for (const value of Object.values(decoded)) {
        if (value instanceof Uint8Array) expectWithin(value, input);
      }
    });
  }

  it('encodes a 3-byte length prefix (20 000 bytes)', () => {
    const frame = encodeSyncUpdate(huge);
    expect(Array.from(frame.subarray(0, 5))).toEqual([0, 2, 0xa0, 0x9c, 0x01]);
    expect(frame.length).toBe(5 + huge.length);
    expect(decodeMessage(frame)).toEqual({ type: 'sync-update', update: huge });
  });

  it('encodeSyncStep2Prefix ‖ update equals encodeSyncStep2(update) (golden bytes; 1-, 2- and 3-byte lengths)', () => {
    expect(Array.from(encodeSyncStep2Prefix(3))).toEqual([0, 1, 3]);
    expect(Array.from(encodeSyncStep2Prefix(300))).toEqual([0, 1, 0xac, 0x02]);
    expect(Array.from(encodeSyncStep2Prefix(20_000))).toEqual([0, 1, 0xa0, 0x9c, 0x01]);
    for (const u of [bytes(9, 8, 7), huge]) {
      const prefix = encodeSyncStep2Prefix(u.length);
      const joined = new Uint8Array(prefix.length + u.length);
      joined.set(prefix);
      joined.set(u, prefix.length);
      expect(joined).toEqual(encodeSyncStep2(u));
    }
    expect(() => encodeSyncStep2Prefix(-1)).toThrow();
  });

  it('shortcut encoders equal encodeMessage', () => {
    const u = bytes(9, 8, 7);
    expect(encodeSyncStep1(u)).toEqual(encodeMessage({ type: 'sync-step1', stateVector: u }));
    expect(encodeSyncStep2(u)).toEqual(encodeMessage({ type: 'sync-step2', update: u }));
    expect(encodeSyncUpdate(u)).toEqual(encodeMessage({ type: 'sync-update', update: u }));
    expect(encodeAwareness(u)).toEqual(encodeMessage({ type: 'awareness', update: u }));
    expect(encodeAuthDenied('r')).toEqual(encodeMessage({ type: 'auth-denied', reason: 'r' }));
    expect(encodeQueryAwareness()).toEqual(bytes(3));
  });

  it('returns byte fields as zero-copy views of the input', () => {
    const frame = bytes(0, 2, 3, 1, 2, 3);
    const decoded = decodeMessage(frame);
    if (decoded.type !== 'sync-update') throw new Error('expected sync-update');
    expect(decoded.update.buffer).toBe(frame.buffer);
    expect(decoded.update.byteOffset).toBe(3);
  });

  it('encoders copy their input and return fresh arrays', () => {
    const update = bytes(1, 2);
    const frame = encodeSyncUpdate(update);
    update[0] = 99;
    expect(Array.from(frame)).toEqual([0, 2, 2, 1, 2]);
    const q = encodeQueryAwareness();
    q[0] = 0;
    expect(Array.from(encodeQueryAwareness())).toEqual([3]);
  });

  it('rejects a non-message object with a TypeError', () => {
    expect(() => encodeMessage({ type: 'nope' } as unknown as Message)).toThrow(TypeError);
  });
});

describe('golden awareness updates', () => {
  const cases: ReadonlyArray<readonly [string, AwarenessEntry[], number[]]> = [
    ['no entries', [], [0]],
    ['one removed client', [{ clientId: 1, clock: 2, state: null }], [1, 1, 2, 4, ...NULL_JSON]],
    [
      'two clients, multi-byte IDs',
      [
        { clientId: 300, clock: 0, state: { a: 1 } },
        { clientId: 0xffff_ffff, clock: 128, state: 'x' },
      ],
      [2, 0xac, 0x02, 0, 7, ...ascii('{"a":1}'), 0xff, 0xff, 0xff, 0xff, 0x0f, 0x80, 0x01, 3, ...ascii('"x"')],
    ],
  ];
  for (const [name, entries, update] of cases) {
    it(`encodes and decodes ${name}`, () => {
      expect(Array.from(encodeAwarenessUpdate(entries))).toEqual(update);
      expect(decodeAwarenessUpdate(Uint8Array.from(update))).toEqual(entries);
    });
  }

  it('encodes an undefined state as null, like y-protocols', () => {
    expect(Array.from(encodeAwarenessUpdate([{ clientId: 1, clock: 2, state: undefined }]))).toEqual([
      1, 1, 2, 4, ...NULL_JSON,
    ]);
  });

  it('refuses to encode invalid entries', () => {
    expect(() => encodeAwarenessUpdate([{ clientId: 2 ** 32, clock: 0, state: null }])).toThrow(RangeError);
    expect(() => encodeAwarenessUpdate([{ clientId: -1, clock: 0, state: null }])).toThrow(RangeError);
    expect(() => encodeAwarenessUpdate([{ clientId: 1, clock: 1.5, state: null }])).toThrow(RangeError);
    expect(() => encodeAwarenessUpdate([{ clientId: 1, clock: 0, state: () => 1 }])).toThrow(TypeError);
  });
});

describe('golden state vectors', () => {
  it('encodes entries sorted by client, descending (as Y.encodeStateVector)', () => {
    const sv = new Map([
      [1, 5],
      [300, 2],
    ]);
    const encoded = [2, 0xac, 0x02, 2, 1, 5];
    expect(Array.from(encodeStateVector(sv))).toEqual(encoded);
    expect(decodeStateVector(Uint8Array.from(encoded))).toEqual(sv);
  });

  it('round-trips the empty state vector', () => {
    expect(Array.from(encodeStateVector(new Map()))).toEqual([0]);
    expect(decodeStateVector(bytes(0))).toEqual(new Map());
  });

  it('handles Number.MAX_SAFE_INTEGER, the largest varint (8 bytes)', () => {
    const encoded = [1, 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f];
    const sv = new Map([[7, Number.MAX_SAFE_INTEGER]]);
    expect(Array.from(encodeStateVector(sv))).toEqual(encoded);
    expect(decodeStateVector(Uint8Array.from(encoded))).toEqual(sv);
  });

  it('accepts non-minimal varints within 8 bytes (as lib0 does)', () => {
    expect(decodeStateVector(bytes(0x81, 0x00, 0x80, 0x00, 0x85, 0x80, 0x00))).toEqual(new Map([[0, 5]]));
  });

  it('keeps the last clock for a repeated client (as Yjs does)', () => {
    expect(decodeStateVector(bytes(2, 1, 5, 1, 9))).toEqual(new Map([[1, 9]]));
  });

  it('refuses to encode invalid entries', () => {
    expect(() => encodeStateVector(new Map([[1, -1]]))).toThrow(RangeError);
    expect(() => encodeStateVector(new Map([[2 ** 53, 1]]))).toThrow(RangeError);
  });
});

describe('agreement with lib0 encoding', () => {
  it('writes varints exactly like lib0 at every length boundary', () => {
    const values = [0, 1, 127, 128, 16_383, 16_384, 2 ** 21 - 1, 2 ** 21, 2 ** 28, 2 ** 31, 2 ** 32 - 1, 2 ** 35];
    values.push(2 ** 42, 2 ** 49 - 1, 2 ** 49, Number.MAX_SAFE_INTEGER);
    for (const value of values) {
      const enc = encoding.createEncoder();
      encoding.writeVarUint(enc, 1);
      encoding.writeVarUint(enc, value);
      encoding.writeVarUint(enc, 0);
      expect(encodeStateVector(new Map([[value, 0]]))).toEqual(encoding.toUint8Array(enc));
    }
  });

  it('writes strings exactly like lib0 writeVarString', () => {
    for (const reason of ['', 'plain', 'ü∑ß', '😀 emoji', 'x'.repeat(1000)]) {
      const enc = encoding.createEncoder();
      encoding.writeVarUint(enc, 2);
      encoding.writeVarUint(enc, 0);
      encoding.writeVarString(enc, reason);
      expect(encodeAuthDenied(reason)).toEqual(encoding.toUint8Array(enc));
    }
  });
});
