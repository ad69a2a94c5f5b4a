import fc from 'fast-check';
import { ProtocolErrorCode } from '@skein/protocol';
import { describe, expect, it } from 'vitest';
import {
  type Envelope, type SyncReply, type SyncRequest, Kind,
  decodeEnvelope, decodeHeartbeat, decodeSyncReply, decodeSyncRequest, encodeEnvelope, encodeHeartbeat, encodeSyncReply,
  encodeSyncRequest,
} from '../../src/cluster/envelope.js';
import { RUNS, arbBytes, ascii, bytes, codeOf, inView, viewInto } from './helpers.js';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const NULL_JSON = ascii('null');

/** The header every example shares: version 1, kind, "n1", incarnation 300 (ac 02), seq 5. */
const head = (kind: number): number[] => [0x01, kind, 0x02, ...ascii('n1'), 0xac, 0x02, 0x05];
const env = (kind: Kind, payload: Uint8Array, traceparent = ''): Envelope => ({
  kind, nodeId: 'n1', incarnation: 300, seq: 5, traceparent, payload,
});

/** Hand-checked envelopes of every kind: [name, envelope, exact bytes]. */
const GOLDEN: ReadonlyArray<readonly [string, Envelope, number[]]> = [
  ['update', env(Kind.Update, bytes(1, 2, 3)), [...head(1), 0x00, 0x03, 1, 2, 3]],
  [
    'update with a W3C traceparent (55 bytes)',
    env(Kind.Update, bytes(9), TRACEPARENT),
    [...head(1), 0x37, ...ascii(TRACEPARENT), 0x01, 9],
  ],
  [
    'awareness (one removed client)',
    env(Kind.Awareness, bytes(1, 1, 2, 4, ...NULL_JSON)),
    [...head(2), 0x00, 0x08, 1, 1, 2, 4, ...NULL_JSON],
  ],
  ['sync request', env(Kind.SyncRequest, bytes(1, 0, 2, 0xaa, 0xbb)), [...head(3), 0x00, 0x05, 1, 0, 2, 0xaa, 0xbb]],
  [
    'sync reply',
    env(Kind.SyncReply, bytes(4, ...ascii('n2#7'), 0, 3, 1, 5, 2, 1, 9)),
    [...head(4), 0x00, 0x0c, 4, ...ascii('n2#7'), 0, 3, 1, 5, 2, 1, 9],
  ],
  ['heartbeat (1000 ms)', env(Kind.Heartbeat, bytes(0xe8, 0x07)), [...head(5), 0x00, 0x02, 0xe8, 0x07]],
  ['leave', env(Kind.Leave, bytes()), [...head(6), 0x00, 0x00]],
  ['awareness query', env(Kind.AwarenessQuery, bytes()), [...head(7), 0x00, 0x00]],
  [
    'non-ASCII node id, 2-byte seq',
    { kind: Kind.Update, nodeId: 'né', incarnation: 0, seq: 128, traceparent: '', payload: bytes() },
    [0x01, 0x01, 0x03, 0x6e, 0xc3, 0xa9, 0x00, 0x80, 0x01, 0x00, 0x00],
  ],
];

describe('cluster envelope: golden bytes', () => {
  for (const [name, e, expected] of GOLDEN) {
    it(`encodes ${name}`, () => {
      expect(Array.from(encodeEnvelope(e))).toEqual(expected);
    });
    it(`decodes ${name}, also from a view into a larger buffer`, () => {
      expect(decodeEnvelope(Uint8Array.from(expected))).toEqual(e);
      expect(decodeEnvelope(viewInto(Uint8Array.from(expected), 3, 4))).toEqual(e);
    });
  }
});

describe('cluster envelope payloads: golden bytes', () => {
  const request: SyncRequest = { stateVector: bytes(0), digest: bytes(0xaa, 0xbb) };
  const requestBytes = [1, 0, 2, 0xaa, 0xbb];
  const reply: SyncReply = { target: 'n2#7', diff: bytes(), stateVector: bytes(1, 5, 2), digest: bytes(9) };
  const replyBytes = [4, ...ascii('n2#7'), 0, 3, 1, 5, 2, 1, 9];

  it('sync request', () => {
    expect(Array.from(encodeSyncRequest(request))).toEqual(requestBytes);
    expect(decodeSyncRequest(Uint8Array.from(requestBytes))).toEqual(request);
    expect(decodeSyncRequest(viewInto(Uint8Array.from(requestBytes), 2, 2))).toEqual(request);
  });

  it('sync reply', () => {
    expect(Array.from(encodeSyncReply(reply))).toEqual(replyBytes);
    expect(decodeSyncReply(Uint8Array.from(replyBytes))).toEqual(reply);
    expect(decodeSyncReply(viewInto(Uint8Array.from(replyBytes), 2, 2))).toEqual(reply);
  });

  it('heartbeat', () => {
    expect(Array.from(encodeHeartbeat(1000))).toEqual([0xe8, 0x07]);
    expect(Array.from(encodeHeartbeat(0))).toEqual([0x00]);
    expect(decodeHeartbeat(bytes(0xe8, 0x07))).toBe(1000);
  });
});

const E = 'SKEIN_ERR_CLUSTER_ENVELOPE';
const P = ProtocolErrorCode;
const VALID = encodeEnvelope(env(Kind.Update, bytes(1, 2, 3)));

describe('cluster envelope: every error code from a crafted input', () => {
  const CASES: ReadonlyArray<readonly [string, Uint8Array, string]> = [
    ['empty', bytes(), P.Empty],
    ['unknown version 2', bytes(2, 1, 0, 0, 0, 0, 0), P.UnknownMessageType],
    ['unknown kind 0', bytes(1, 0, 0, 0, 0, 0, 0), P.UnknownMessageType],
    ['unknown kind 8', bytes(1, 8, 0, 0, 0, 0, 0), P.UnknownMessageType],
    ['ends before the node id', bytes(1, 1), P.Truncated],
    ['ends inside a varint', bytes(1, 1, 0, 0x80), P.Truncated],
    ['node id longer than the input', bytes(1, 1, 5, 0x61), P.LengthOutOfBounds],
    ['node id above 1024 bytes', Uint8Array.from([1, 1, 0x81, 0x08, ...new Uint8Array(1025).fill(0x61), 0, 0, 0, 0]), P.LengthOutOfBounds],
    ['node id not UTF-8', bytes(1, 1, 2, 0xc3, 0x28, 0, 0, 0, 0), P.InvalidString],
    ['incarnation above 2^53 - 1', bytes(1, 1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0), P.VarintOverflow],
    ['payload longer than the input', VALID.subarray(0, VALID.length - 1), P.LengthOutOfBounds],
    ['a byte after the payload', Uint8Array.from([...VALID, 0]), P.TrailingBytes],
  ];
  for (const [name, input, code] of CASES) {
    it(`${name} → ${code}`, () => {
      expect(codeOf(() => decodeEnvelope(input))).toBe(`${E}/${code}`);
    });
  }

  it('a payload cut short by the view is refused even when the larger buffer holds the rest', () => {
    const backing = VALID.slice();
    expect(codeOf(() => decodeEnvelope(backing.subarray(0, backing.length - 2)))).toBe(`${E}/${P.LengthOutOfBounds}`);
  });

  it('sync request, sync reply and heartbeat payloads', () => {
    expect(codeOf(() => decodeSyncRequest(bytes()))).toBe(`${E}/${P.Truncated}`);
    expect(codeOf(() => decodeSyncRequest(bytes(5, 1)))).toBe(`${E}/${P.LengthOutOfBounds}`);
    expect(codeOf(() => decodeSyncRequest(bytes(0, 0, 0)))).toBe(`${E}/${P.TrailingBytes}`);
    expect(codeOf(() => decodeSyncReply(bytes(1, 0xff, 0, 0, 0)))).toBe(`${E}/${P.InvalidString}`);
    expect(codeOf(() => decodeSyncReply(bytes(0, 0, 0)))).toBe(`${E}/${P.Truncated}`);
    expect(codeOf(() => decodeHeartbeat(bytes()))).toBe(`${E}/${P.Truncated}`);
    expect(codeOf(() => decodeHeartbeat(bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)))).toBe(`${E}/${P.VarintOverflow}`);
    expect(codeOf(() => decodeHeartbeat(bytes(1, 2)))).toBe(`${E}/${P.TrailingBytes}`);
  });
});

const arbEnvelope: fc.Arbitrary<Envelope> = fc.record({
  kind: fc.constantFrom(...Object.values(Kind)),
  nodeId: fc.string({ unit: 'grapheme', maxLength: 40 }),
  incarnation: fc.maxSafeNat(),
  seq: fc.maxSafeNat(),
  traceparent: fc.string({ maxLength: 60 }),
  payload: arbBytes(),
});

describe('cluster envelope: properties', () => {
  it('decode(encode(e)) = e, also from a view into a larger buffer', () => {
    fc.assert(
      fc.property(arbEnvelope.chain((e) => fc.tuple(fc.constant(e), inView(encodeEnvelope(e)))), ([e, view]) => {
        expect(decodeEnvelope(view)).toEqual(e);
      }),
      { numRuns: RUNS },
    );
  });

  it('sync request and reply round-trip', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), arbBytes(), arbBytes(30), arbBytes(10), (target, diff, stateVector, digest) => {
        expect(decodeSyncRequest(encodeSyncRequest({ stateVector, digest }))).toEqual({ stateVector, digest });
        expect(decodeSyncReply(encodeSyncReply({ target, diff, stateVector, digest }))).toEqual({ target, diff, stateVector, digest });
      }),
      { numRuns: RUNS },
    );
  });

  it('every strict prefix of a valid envelope raises a coded error', () => {
    fc.assert(
      fc.property(arbEnvelope.chain((e) => {
        const full = encodeEnvelope(e);
        return fc.tuple(fc.constant(full), fc.nat({ max: full.length - 1 }));
      }), ([full, cut]) => {
        expect(codeOf(() => decodeEnvelope(viewInto(full.subarray(0, cut), 0, full.length - cut)))).toMatch(/^SKEIN_ERR_CLUSTER_ENVELOPE\//);
      }),
      { numRuns: RUNS },
    );
  });

  it('arbitrary bytes (incl. views into larger buffers) only raise coded errors', () => {
    fc.assert(
      fc.property(arbBytes(), (input) => {
        for (const decode of [decodeEnvelope, decodeSyncRequest, decodeSyncReply, decodeHeartbeat]) {
          const code = codeOf(() => decode(input));
          if (code !== undefined) expect(code).toMatch(/^SKEIN_ERR_CLUSTER_ENVELOPE\/SKEIN_ERR_PROTOCOL_/);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
