import { ByteReader } from '@skein/protocol';
import * as encoding from 'lib0/encoding';
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
 */
export const ENVELOPE_VERSION = 1;

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
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, ENVELOPE_VERSION);
  encoding.writeVarUint(enc, e.kind);
  encoding.writeVarString(enc, e.nodeId);
  encoding.writeVarUint(enc, e.incarnation);
  encoding.writeVarUint(enc, e.seq);
  encoding.writeVarString(enc, e.traceparent);
  encoding.writeVarUint8Array(enc, e.payload);
  return encoding.toUint8Array(enc);
}

/** Throws SKEIN_ERR_CLUSTER_ENVELOPE on anything malformed. */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  try {
    // The strict reader never looks past this view (Redis buffers can be views into larger ones).
    const dec = new ByteReader(bytes);
    const version = dec.readVarUint('the envelope version');
    if (version !== ENVELOPE_VERSION) throw new Error(`unknown envelope version ${version}`);
    const kind = dec.readVarUint('the envelope kind');
    if (!KINDS.has(kind)) throw new Error(`unknown envelope kind ${kind}`);
    const nodeId = dec.readVarString(MAX_FIELD, 'the node id');
    const incarnation = dec.readVarUint('the incarnation');
    const seq = dec.readVarUint('the sequence number');
    const traceparent = dec.readVarString(MAX_FIELD, 'the traceparent');
    const payload = dec.readVarBytes(bytes.length, 'the payload');
    dec.expectEnd('the envelope');
    return { kind: kind as Kind, nodeId, incarnation, seq, traceparent, payload };
  } catch (err) {
    throw new SkeinError('SKEIN_ERR_CLUSTER_ENVELOPE', `malformed cluster envelope: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
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
  const enc = encoding.createEncoder();
  encoding.writeVarUint8Array(enc, r.stateVector);
  encoding.writeVarUint8Array(enc, r.digest);
  return encoding.toUint8Array(enc);
}

export function decodeSyncRequest(bytes: Uint8Array): SyncRequest {
  return guarded(() => {
    const dec = new ByteReader(bytes);
    const request = { stateVector: dec.readVarBytes(bytes.length), digest: dec.readVarBytes(bytes.length) };
    dec.expectEnd('the sync request');
    return request;
  });
}

export function encodeSyncReply(r: SyncReply): Uint8Array {
  const enc = encoding.createEncoder();
  encoding.writeVarString(enc, r.target);
  encoding.writeVarUint8Array(enc, r.diff);
  encoding.writeVarUint8Array(enc, r.stateVector);
  encoding.writeVarUint8Array(enc, r.digest);
  return encoding.toUint8Array(enc);
}

export function decodeSyncReply(bytes: Uint8Array): SyncReply {
  return guarded(() => {
    const dec = new ByteReader(bytes);
    const target = dec.readVarString(MAX_FIELD, 'the target node');
    const diff = dec.readVarBytes(bytes.length, 'the diff');
    const reply = { target, diff, stateVector: dec.readVarBytes(bytes.length), digest: dec.readVarBytes(bytes.length) };
    dec.expectEnd('the sync reply');
    return reply;
  });
}

export function encodeHeartbeat(intervalMs: number): Uint8Array {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, intervalMs);
  return encoding.toUint8Array(enc);
}

function guarded<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw new SkeinError('SKEIN_ERR_CLUSTER_ENVELOPE', 'malformed cluster payload', { cause: err });
  }
}
