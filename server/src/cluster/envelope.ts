import { ByteReader, ByteWriter, ProtocolError, ProtocolErrorCode } from '@skein/protocol';
import { SkeinError } from '../errors/skein-error.js';

/**
 * The binary envelope of every message nodes exchange through Redis (pure codec, no I/O).
 *
 * ```
 * envelope   = version:u8 kind:u8 nodeId:varString incarnation:varUint seq:varUint
 *              traceparent:varString payload:varUint8Array
 * ```
 * - `version` is 1; a node drops (and logs) envelopes of another version.
 * - `nodeId` names the sending node; `incarnation` is random per process start, so a
 *   restarted node's sequence numbers are never mistaken for a gap.
 * - `seq` counts the envelopes one node incarnation published on one channel, from 1;
 *   a receiver that sees it jump runs anti-entropy for that document.
 * - `traceparent` is the W3C trace context of the change (empty until tracing lands).
 * - `payload` depends on `kind` (see `Kind`). Kind numbers are only ever appended.
 *
 * Encoded with the protocol's `ByteWriter`, decoded with its bounds-checked `ByteReader`
 * (never past the view: Redis buffers can be views into larger ones). Every decoder here
 * throws only `SKEIN_ERR_CLUSTER_ENVELOPE`, whose `cause` is the `ProtocolError` naming
 * what was wrong (its code is also in the message, so log lines carry it). The grammar is
 * in `docs/cluster.md` ("Byte formats").
 */
const ENVELOPE_VERSION = 1;

export const Kind = {
  /** A Yjs update (a change some node applied). */
  Update: 1,
  /** A y-protocols awareness update. */
  Awareness: 2,
  /** Anti-entropy request: `stateVector:varUint8Array digest:varUint8Array`. */
  SyncRequest: 3,
  /**
   * Anti-entropy reply: `target:varString diff:varUint8Array stateVector:varUint8Array
   * digest:varUint8Array` (an empty `diff` means the replier had nothing the target lacks).
   */
  SyncReply: 4,
  /** Node heartbeat on the nodes channel: `intervalMs:varUint`. */
  Heartbeat: 5,
  /** The node is shutting down: drop its presence now (empty payload). */
  Leave: 6,
  /** "Send me your clients' awareness states" (empty payload). */
  AwarenessQuery: 7,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** Kind names as telemetry reports them (`skein.cluster.message.kind`). */
export const KIND_NAMES: Readonly<Record<Kind, string>> = {
  [Kind.Update]: 'update', [Kind.Awareness]: 'awareness', [Kind.SyncRequest]: 'sync-request', [Kind.SyncReply]: 'sync-reply',
  [Kind.Heartbeat]: 'heartbeat', [Kind.Leave]: 'leave', [Kind.AwarenessQuery]: 'awareness-query',
};

export interface Envelope {
  readonly kind: Kind;
  readonly nodeId: string;
  readonly incarnation: number;
  readonly seq: number;
  readonly traceparent: string;
  readonly payload: Uint8Array;
}

const KINDS = new Set<number>(Object.values(Kind));
/** Node ids and traceparents are short; anything longer is a damaged envelope. */
const MAX_FIELD = 1024;

export function encodeEnvelope(e: Envelope): Uint8Array {
  return new ByteWriter(24 + 3 * (e.nodeId.length + e.traceparent.length) + e.payload.length)
    .writeVarUint(ENVELOPE_VERSION)
    .writeVarUint(e.kind)
    .writeVarString(e.nodeId)
    .writeVarUint(e.incarnation)
    .writeVarUint(e.seq)
    .writeVarString(e.traceparent)
    .writeVarBytes(e.payload)
    .toBytes();
}

/** Throws SKEIN_ERR_CLUSTER_ENVELOPE (cause: the ProtocolError) on anything malformed. */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  return guarded('cluster envelope', () => {
    if (bytes.length === 0) throw new ProtocolError(ProtocolErrorCode.Empty, 'The envelope is empty');
    const dec = new ByteReader(bytes);
    const version = dec.readVarUint('the envelope version');
    if (version !== ENVELOPE_VERSION) throw unknown(`envelope version ${version}`);
    const kind = dec.readVarUint('the envelope kind');
    if (!KINDS.has(kind)) throw unknown(`envelope kind ${kind}`);
    const nodeId = dec.readVarString(MAX_FIELD, 'the node id');
    const incarnation = dec.readVarUint('the incarnation');
    const seq = dec.readVarUint('the sequence number');
    const traceparent = dec.readVarString(MAX_FIELD, 'the traceparent');
    const payload = dec.readVarBytes(bytes.length, 'the payload');
    dec.expectEnd('the envelope');
    return { kind: kind as Kind, nodeId, incarnation, seq, traceparent, payload };
  });
}

export interface SyncRequest {
  readonly stateVector: Uint8Array;
  readonly digest: Uint8Array;
}

export interface SyncReply extends SyncRequest {
  readonly target: string;
  readonly diff: Uint8Array;
}

export function encodeSyncRequest(r: SyncRequest): Uint8Array {
  return new ByteWriter(20 + r.stateVector.length + r.digest.length)
    .writeVarBytes(r.stateVector)
    .writeVarBytes(r.digest)
    .toBytes();
}

export function decodeSyncRequest(bytes: Uint8Array): SyncRequest {
  return guarded('sync request', () => {
    const dec = new ByteReader(bytes);
    const stateVector = dec.readVarBytes(bytes.length, 'the state vector');
    const digest = dec.readVarBytes(bytes.length, 'the digest');
    dec.expectEnd('the sync request');
    return { stateVector, digest };
  });
}

export function encodeSyncReply(r: SyncReply): Uint8Array {
  return new ByteWriter(40 + 3 * r.target.length + r.diff.length + r.stateVector.length + r.digest.length)
    .writeVarString(r.target)
    .writeVarBytes(r.diff)
    .writeVarBytes(r.stateVector)
    .writeVarBytes(r.digest)
    .toBytes();
}

export function decodeSyncReply(bytes: Uint8Array): SyncReply {
  return guarded('sync reply', () => {
    const dec = new ByteReader(bytes);
    const target = dec.readVarString(MAX_FIELD, 'the target node');
    const diff = dec.readVarBytes(bytes.length, 'the diff');
    const stateVector = dec.readVarBytes(bytes.length, 'the state vector');
    const digest = dec.readVarBytes(bytes.length, 'the digest');
    dec.expectEnd('the sync reply');
    return { target, diff, stateVector, digest };
  });
}

export function encodeHeartbeat(intervalMs: number): Uint8Array {
  return new ByteWriter(8).writeVarUint(intervalMs).toBytes();
}

/** The heartbeat interval (ms) a node announced. */
export function decodeHeartbeat(bytes: Uint8Array): number {
  return guarded('heartbeat', () => {
    const dec = new ByteReader(bytes);
    const intervalMs = dec.readVarUint('the heartbeat interval');
    dec.expectEnd('the heartbeat');
    return intervalMs;
  });
}

function unknown(what: string): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.UnknownMessageType, `unknown ${what}`);
}

/**
 * Run a decoder; a ProtocolError becomes SKEIN_ERR_CLUSTER_ENVELOPE with the protocol code in
 * its message (log lines print messages) and the ProtocolError as its cause.
 */
export function guarded<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    const detail = err instanceof ProtocolError ? `${err.code}: ${err.message}` : String(err);
    throw new SkeinError('SKEIN_ERR_CLUSTER_ENVELOPE', `malformed ${what} (${detail})`, { cause: err });
  }
}
