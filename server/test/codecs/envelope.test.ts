import { describe, expect, it } from 'vitest';
import {
  type Envelope, type SyncReply, type SyncRequest, Kind,
  decodeEnvelope, decodeSyncReply, decodeSyncRequest, encodeEnvelope, encodeHeartbeat, encodeSyncReply, encodeSyncRequest,
} from '../../src/cluster/envelope.js';
import { ascii, bytes, viewInto } from './helpers.js';

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
  });
});
