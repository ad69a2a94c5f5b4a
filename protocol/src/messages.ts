/**
 * The y-websocket message layer: one WebSocket binary message (one frame, or several
 * fragments) = one protocol message.
 *
 *   message = varUint(messageType) payload
 *     0 Sync            varUint(syncType) varUint8Array(data)   0 step1 · 1 step2 · 2 update
 *     1 Awareness       varUint8Array(awarenessUpdate)
 *     2 Auth            varUint(authType) ...                    0 permission denied: varString(reason)
 *     3 QueryAwareness  (no payload)
 *
 * Type numbers are only ever appended; ≥ 100 is reserved for Skein extensions.
 * See docs/protocol.md.
 */
import { ProtocolError, ProtocolErrorCode } from './errors.js';
import { assertNotEmpty, ByteReader } from './decoder.js';
import { assertUint, encodeFrame, encodeUtf8, varUintSize, writeVarUint } from './encoder.js';
import { type DecodeLimits, resolveLimits } from './limits.js';
import { decodeExtension, encodeExtension, type ExtensionMessage } from './extensions.js';

export const MessageType = { Sync: 0, Awareness: 1, Auth: 2, QueryAwareness: 3 } as const;
export type MessageTypeValue = (typeof MessageType)[keyof typeof MessageType];

export const SyncMessageType = { Step1: 0, Step2: 1, Update: 2 } as const;
export type SyncMessageTypeValue = (typeof SyncMessageType)[keyof typeof SyncMessageType];

export const AuthMessageType = { PermissionDenied: 0 } as const;
export type AuthMessageTypeValue = (typeof AuthMessageType)[keyof typeof AuthMessageType];

/** Message type numbers from this value up are reserved for Skein extensions. */
export const FIRST_EXTENSION_MESSAGE_TYPE = 100;

export type Message =
  | { type: 'sync-step1'; stateVector: Uint8Array }
  | { type: 'sync-step2'; update: Uint8Array }
  | { type: 'sync-update'; update: Uint8Array }
  | { type: 'awareness'; update: Uint8Array }
  | { type: 'auth-denied'; reason: string }
  | { type: 'query-awareness' }
  | ExtensionMessage;

export type MessageKind = Message['type'];

const SYNC_STEP1_HEADER = [MessageType.Sync, SyncMessageType.Step1] as const;
const SYNC_STEP2_HEADER = [MessageType.Sync, SyncMessageType.Step2] as const;
const SYNC_UPDATE_HEADER = [MessageType.Sync, SyncMessageType.Update] as const;
const AWARENESS_HEADER = [MessageType.Awareness] as const;
const AUTH_DENIED_HEADER = [MessageType.Auth, AuthMessageType.PermissionDenied] as const;
const QUERY_AWARENESS_FRAME = [MessageType.QueryAwareness] as const;

/** `[0, 0, varUint8Array(stateVector)]`: the encoded state vector of the sender. */
export function encodeSyncStep1(stateVector: Uint8Array): Uint8Array {
  return encodeFrame(SYNC_STEP1_HEADER, stateVector);
}

/** `[0, 1, varUint8Array(update)]`: the reply to step 1, everything the peer misses. */
export function encodeSyncStep2(update: Uint8Array): Uint8Array {
  return encodeFrame(SYNC_STEP2_HEADER, update);
}

/**
 * The bytes of `encodeSyncStep2(update)` before the update itself: `[0, 1, varUint(length)]`.
 * `encodeSyncStep2Prefix(u.length) ‖ u` equals `encodeSyncStep2(u)`, so a large reply can be
 * sent as the prefix and slices of the update without copying it (WebSocket fragments).
 */
export function encodeSyncStep2Prefix(length: number): Uint8Array {
  assertUint(length, Number.MAX_SAFE_INTEGER, 'update length');
  const out = new Uint8Array(2 + varUintSize(length));
  writeVarUint(out, writeVarUint(out, writeVarUint(out, 0, SYNC_STEP2_HEADER[0]), SYNC_STEP2_HEADER[1]), length);
  return out;
}

/** `[0, 2, varUint8Array(update)]`: an incremental document update. Encode once per broadcast. */
export function encodeSyncUpdate(update: Uint8Array): Uint8Array {
  return encodeFrame(SYNC_UPDATE_HEADER, update);
}

/** `[1, varUint8Array(awarenessUpdate)]`, the update as made by `encodeAwarenessUpdate`. */
export function encodeAwareness(awarenessUpdate: Uint8Array): Uint8Array {
  return encodeFrame(AWARENESS_HEADER, awarenessUpdate);
}

/** `[2, 0, varString(reason)]`: permission denied. */
export function encodeAuthDenied(reason: string): Uint8Array {
  return encodeFrame(AUTH_DENIED_HEADER, encodeUtf8(reason));
}

/** `[3]`: ask the peer to send all awareness states it knows. A fresh array each call. */
export function encodeQueryAwareness(): Uint8Array {
  return Uint8Array.from(QUERY_AWARENESS_FRAME);
}

/**
 * Encode one message as one frame. Byte views in `message` are copied, never retained.
 * Throws TypeError for an object that is not a `Message` (a programming error).
 */
export function encodeMessage(message: Message): Uint8Array {
  switch (message.type) {
    case 'sync-step1':
      return encodeSyncStep1(message.stateVector);
    case 'sync-step2':
      return encodeSyncStep2(message.update);
    case 'sync-update':
      return encodeSyncUpdate(message.update);
    case 'awareness':
      return encodeAwareness(message.update);
    case 'auth-denied':
      return encodeAuthDenied(message.reason);
    case 'query-awareness':
      return encodeQueryAwareness();
    case 'skein-hello':
    case 'skein-welcome':
    case 'skein-ack':
      return encodeExtension(message);
    default: {
      const unknown: never = message;
      throw new TypeError(`Not a Skein protocol message: ${String((unknown as { type?: unknown }).type)}`);
    }
  }
}

function unknownType(what: string, value: number): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.UnknownMessageType, `Unknown ${what} ${value}`);
}

function decodeSync(reader: ByteReader, maxBytesLength: number): Message {
  const syncType = reader.readVarUint('the sync message type');
  switch (syncType) {
    case SyncMessageType.Step1:
      return { type: 'sync-step1', stateVector: reader.readVarBytes(maxBytesLength, 'the state vector') };
    case SyncMessageType.Step2:
      return { type: 'sync-step2', update: reader.readVarBytes(maxBytesLength, 'the update') };
    case SyncMessageType.Update:
      return { type: 'sync-update', update: reader.readVarBytes(maxBytesLength, 'the update') };
    default:
      throw unknownType('sync message type', syncType);
  }
}

function decodeAuth(reader: ByteReader, maxStringBytes: number): Message {
  const authType = reader.readVarUint('the auth message type');
  if (authType !== AuthMessageType.PermissionDenied) {
    throw unknownType('auth message type', authType);
  }
  return { type: 'auth-denied', reason: reader.readVarString(maxStringBytes, 'the denial reason') };
}

/**
 * Decode exactly one message from a frame. Byte arrays in the result are zero-copy
 * subarray views of `bytes` (never extending past its view): do not mutate or reuse the
 * input buffer while they are in use. The awareness update is returned as bytes; parse it
 * with `decodeAwarenessUpdate` when the entries are needed. Throws only ProtocolError.
 */
export function decodeMessage(bytes: Uint8Array, limits?: DecodeLimits): Message {
  assertNotEmpty(bytes, 'The message');
  const { maxBytesLength, maxStringBytes } = resolveLimits(limits);
  const reader = new ByteReader(bytes);
  const messageType = reader.readVarUint('the message type');
  let message: Message;
  switch (messageType) {
    case MessageType.Sync:
      message = decodeSync(reader, maxBytesLength);
      break;
    case MessageType.Awareness:
      message = { type: 'awareness', update: reader.readVarBytes(maxBytesLength, 'the awareness update') };
      break;
    case MessageType.Auth:
      message = decodeAuth(reader, maxStringBytes);
      break;
    case MessageType.QueryAwareness:
      message = { type: 'query-awareness' };
      break;
    default: {
      const extension = decodeExtension(messageType, reader);
      if (extension === null) throw unknownType('message type', messageType);
      message = extension;
    }
  }
  reader.expectEnd();
  return message;
}
