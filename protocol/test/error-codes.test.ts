import { describe, expect, it } from 'vitest';
import {
  type DecodeLimits,
  ProtocolError,
  ProtocolErrorCode,
  type ProtocolErrorCodeValue,
  decodeAwarenessUpdate,
  decodeMessage,
  decodeStateVector,
  isProtocolError,
} from '../src/index.js';
import { ascii, bytes, codeOf } from './helpers.js';

type Decoder = 'message' | 'awareness' | 'state-vector';

interface Case {
  readonly name: string;
  readonly input: Uint8Array;
  readonly code: ProtocolErrorCodeValue;
  readonly decoder?: Decoder;
  readonly limits?: DecodeLimits;
}

const C = ProtocolErrorCode;
const ff7 = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

/** A frame `[0, 2, 4, 1, 2, 3, 4]` cut to 3 bytes of payload, whose backing buffer holds more. */
function pooledView(): Uint8Array {
  return bytes(0, 2, 4, 1, 2, 3, 4, 5, 6).subarray(0, 6);
}

const CASES: readonly Case[] = [
  { name: 'zero-length frame', input: bytes(), code: C.Empty },
  { name: 'zero-length view into a non-empty buffer', input: bytes(3, 3).subarray(1, 1), code: C.Empty },
  { name: 'zero-length awareness update', input: bytes(), code: C.Empty, decoder: 'awareness' },
  { name: 'zero-length state vector', input: bytes(), code: C.Empty, decoder: 'state-vector' },

  { name: 'message type varint cut short', input: bytes(0x80), code: C.Truncated },
  { name: 'sync without a sync type', input: bytes(0), code: C.Truncated },
  { name: 'sync update without a length', input: bytes(0, 2), code: C.Truncated },
  { name: 'sync length varint cut short', input: bytes(0, 2, 0x80), code: C.Truncated },
  { name: 'awareness without a length', input: bytes(1), code: C.Truncated },
  { name: 'auth without an auth type', input: bytes(2), code: C.Truncated },
  { name: 'auth denied without a reason', input: bytes(2, 0), code: C.Truncated },
  { name: '7 continuation bytes, then the end', input: bytes(...ff7), code: C.Truncated },
  { name: 'awareness client ID varint cut short', input: bytes(1, 0x85, 0x80, 0x80), code: C.Truncated, decoder: 'awareness' },
  { name: 'state vector entry missing its clock', input: bytes(1, 5, 0x80), code: C.Truncated, decoder: 'state-vector' },

  { name: '9-byte varint', input: bytes(...ff7, 0xff, 0x01), code: C.VarintOverflow },
  { name: '8-byte varint above 2^53 - 1', input: bytes(...ff7, 0x10), code: C.VarintOverflow },
  { name: 'sync type of 9 zero-padded bytes', input: bytes(0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0), code: C.VarintOverflow },
  { name: 'state vector clock above 2^53 - 1', input: bytes(1, 1, ...ff7, 0x1f), code: C.VarintOverflow, decoder: 'state-vector' },
  {
    name: 'awareness client ID above 2^32 - 1',
    input: bytes(1, 0x80, 0x80, 0x80, 0x80, 0x10, 0, 4, ...ascii('null')),
    code: C.VarintOverflow,
    decoder: 'awareness',
  },

  { name: 'length past the end of the input', input: bytes(0, 2, 5, 1, 2), code: C.LengthOutOfBounds },
  { name: 'length past the view (pooled buffer has the bytes)', input: pooledView(), code: C.LengthOutOfBounds },
  { name: 'awareness length past the end', input: bytes(1, 3, 0, 0), code: C.LengthOutOfBounds },
  { name: 'huge length', input: bytes(0, 1, ...ff7, 0x0f), code: C.LengthOutOfBounds },
  {
    name: 'length above maxBytesLength',
    input: bytes(0, 2, 3, 1, 2, 3),
    code: C.LengthOutOfBounds,
    limits: { maxBytesLength: 2 },
  },
  {
    name: 'auth reason above maxStringBytes',
    input: bytes(2, 0, 3, ...ascii('abc')),
    code: C.LengthOutOfBounds,
    limits: { maxStringBytes: 2 },
  },
  {
    name: 'auth reason above maxBytesLength (maxStringBytes defaults to it)',
    input: bytes(2, 0, 3, ...ascii('abc')),
    code: C.LengthOutOfBounds,
    limits: { maxBytesLength: 2 },
  },
  { name: 'a NaN limit fails closed', input: bytes(0, 2, 0), code: C.LengthOutOfBounds, limits: { maxBytesLength: NaN } },
  {
    name: 'awareness count above maxAwarenessEntries',
    input: bytes(2, 1, 0, 4, ...ascii('null'), 2, 0, 4, ...ascii('null')),
    code: C.LengthOutOfBounds,
    decoder: 'awareness',
    limits: { maxAwarenessEntries: 1 },
  },
  { name: 'awareness count larger than the bytes can hold', input: bytes(0xff, 0xff, 0x03, 1, 1, 1), code: C.LengthOutOfBounds, decoder: 'awareness' },
  {
    name: 'awareness state above maxStringBytes',
    input: bytes(1, 1, 0, 4, ...ascii('null')),
    code: C.LengthOutOfBounds,
    decoder: 'awareness',
    limits: { maxStringBytes: 3 },
  },
  { name: 'awareness state length past the end', input: bytes(1, 1, 0, 9, ...ascii('null')), code: C.LengthOutOfBounds, decoder: 'awareness' },
  { name: 'state vector count larger than the bytes can hold', input: bytes(3, 1, 1, 2, 2), code: C.LengthOutOfBounds, decoder: 'state-vector' },

  { name: 'message type 4', input: bytes(4), code: C.UnknownMessageType },
  { name: 'message type 103 (extension range, not defined)', input: bytes(103), code: C.UnknownMessageType },
  { name: 'hello without its fields', input: bytes(100), code: C.Truncated },
  { name: 'ack with trailing bytes', input: bytes(102, 1, 0), code: C.TrailingBytes },
  { name: 'message type 2^53 - 1', input: bytes(...ff7, 0x0f), code: C.UnknownMessageType },
  { name: 'sync type 3', input: bytes(0, 3, 0), code: C.UnknownMessageType },
  { name: 'auth type 1', input: bytes(2, 1, 0), code: C.UnknownMessageType },

  { name: 'query awareness with a payload', input: bytes(3, 0), code: C.TrailingBytes },
  { name: 'sync step 1 followed by a byte', input: bytes(0, 0, 1, 0, 9), code: C.TrailingBytes },
  { name: 'two messages in one frame', input: bytes(3, 3), code: C.TrailingBytes },
  { name: 'auth denied followed by a byte', input: bytes(2, 0, 1, 0x61, 0), code: C.TrailingBytes },
  { name: 'awareness update with a trailing byte', input: bytes(0, 0), code: C.TrailingBytes, decoder: 'awareness' },
  { name: 'state vector with a trailing byte', input: bytes(1, 1, 1, 1), code: C.TrailingBytes, decoder: 'state-vector' },

  { name: 'auth reason with invalid UTF-8 (0xff)', input: bytes(2, 0, 1, 0xff), code: C.InvalidString },
  { name: 'auth reason with a cut UTF-8 sequence', input: bytes(2, 0, 1, 0xc3), code: C.InvalidString },
  { name: 'auth reason with an encoded surrogate', input: bytes(2, 0, 3, 0xed, 0xa0, 0x80), code: C.InvalidString },
  { name: 'auth reason with an overlong encoding', input: bytes(2, 0, 2, 0xc0, 0xaf), code: C.InvalidString },
  { name: 'awareness state that is not JSON', input: bytes(1, 1, 0, 3, ...ascii('{a:')), code: C.InvalidString, decoder: 'awareness' },
  { name: 'awareness state that is empty', input: bytes(1, 1, 0, 0), code: C.InvalidString, decoder: 'awareness' },
  { name: 'awareness state with invalid UTF-8', input: bytes(1, 1, 0, 3, 0x22, 0xff, 0x22), code: C.InvalidString, decoder: 'awareness' },
];

function run(c: Case): unknown {
  switch (c.decoder ?? 'message') {
    case 'message':
      return decodeMessage(c.input, c.limits);
    case 'awareness':
      return decodeAwarenessUpdate(c.input, c.limits);
    case 'state-vector':
      return decodeStateVector(c.input);
  }
}

describe('every error code is produced by a crafted input', () => {
  for (const c of CASES) {
    it(`${c.code}: ${c.name}`, () => {
      expect(codeOf(() => run(c))).toBe(c.code);
    });
  }

  it('covers every ProtocolErrorCode', () => {
    const produced = new Set(CASES.map((c) => c.code));
    for (const code of Object.values(ProtocolErrorCode)) {
      expect(produced.has(code), code).toBe(true);
    }
  });

  it('throws ProtocolError instances that isProtocolError recognises', () => {
    let caught: unknown;
    try {
      decodeMessage(bytes());
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ProtocolError);
    expect(isProtocolError(caught)).toBe(true);
    expect(isProtocolError(new Error('x'))).toBe(false);
  });
});

describe('limits that are exactly met pass', () => {
  it('accepts a payload of exactly maxBytesLength', () => {
    expect(decodeMessage(bytes(0, 2, 2, 1, 2), { maxBytesLength: 2 }).type).toBe('sync-update');
  });
  it('accepts exactly maxAwarenessEntries entries', () => {
    const update = bytes(1, 1, 0, 4, ...ascii('null'));
    expect(decodeAwarenessUpdate(update, { maxAwarenessEntries: 1, maxStringBytes: 4 })).toHaveLength(1);
  });
  it('accepts client ID 2^32 - 1', () => {
    const update = bytes(1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 4, ...ascii('null'));
    expect(decodeAwarenessUpdate(update)[0]?.clientId).toBe(0xffff_ffff);
  });
});
