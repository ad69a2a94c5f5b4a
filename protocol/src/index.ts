/**
 * @skein/protocol: the y-websocket wire codec (sync, awareness, auth, query-awareness).
 * Pure functions over bytes: no I/O, no Node built-ins, safe in browsers.
 * The grammar, bounds and error codes are documented in docs/protocol.md.
 */
export {
  MessageType,
  SyncMessageType,
  AuthMessageType,
  FIRST_EXTENSION_MESSAGE_TYPE,
  encodeMessage,
  decodeMessage,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncStep2Prefix,
  encodeSyncUpdate,
  encodeAwareness,
  encodeAuthDenied,
  encodeQueryAwareness,
} from './messages.js';
export type {
  Message,
  MessageKind,
  MessageTypeValue,
  SyncMessageTypeValue,
  AuthMessageTypeValue,
} from './messages.js';

export { encodeAwarenessUpdate, decodeAwarenessUpdate, MAX_CLIENT_ID } from './awareness.js';
export type { AwarenessEntry } from './awareness.js';

export { encodeStateVector, decodeStateVector } from './state-vector.js';

export {
  SkeinMessageType,
  SkeinFeature,
  SKEIN_PROTOCOL_VERSION,
  encodeHello,
  encodeWelcome,
  encodeAck,
} from './extensions.js';
export type { ExtensionMessage, SkeinMessageTypeValue } from './extensions.js';

export { DEFAULT_DECODE_LIMITS } from './limits.js';

/**
 * The bounds-checked reader behind the codec and its writing twin, for the other binary
 * formats built on the same primitives (cluster envelope, stored records and keys, outbox).
 */
export { ByteReader } from './decoder.js';
export { ByteWriter } from './writer.js';
/** Minimal unsigned varints (lib0's) written into a buffer the caller sized: `varUintSize` bytes each. */
export { varUintSize, writeVarUint } from './encoder.js';
export type { DecodeLimits } from './limits.js';

export { CloseCode, CLOSE_CODES, closeCodeInfo, isRetryableClose } from './close-codes.js';
export type { CloseCodeName, CloseCodeValue, CloseCodeInfo } from './close-codes.js';

export { ProtocolError, ProtocolErrorCode, isProtocolError } from './errors.js';
export type { ProtocolErrorCodeValue } from './errors.js';

export { accessFor, compileGlob, matchGlob } from './access.js';
export type { DocAccess, DocGrant, Glob } from './access.js';

export {
  MUX_PROTOCOL,
  MAX_MUX_CHANNEL,
  MuxOp,
  decodeMuxFrame,
  encodeMuxHeader,
  encodeMuxFrame,
  encodeMuxControl,
  decodeMuxControl,
  isCutShortMuxPayload,
} from './mux.js';
export type { MuxControl, MuxFrame } from './mux.js';
