/**
 * The multiplexed sub-protocol `skein-mux.v1`: many documents over one WebSocket.
 *
 * A client asks for it at the upgrade (`Sec-WebSocket-Protocol: skein-mux.v1`); the request
 * path then names no document. Every WebSocket message on such a socket is
 *
 *   varUint(channel) payload
 *
 * Channel 0 carries control messages (`varUint(op)` then its fields); any other channel
 * carries, as its payload, exactly the bytes a one-document connection would carry (sync,
 * awareness, Hello / Welcome / Ack): each channel is a y-websocket connection of its own.
 *
 *   op 0 Open    client → server   varUint(channel) varString(docName)
 *   op 1 Close   client → server   varUint(channel)
 *   op 2 Closed  server → client   varUint(channel) varUint(closeCode) varString(reason)
 *
 * Open needs no answer: the client may send on the channel at once (messages are handled in
 * order). Closed ends a channel — a refusal (bad name, no access, a limit) or what would have
 * closed a one-document socket — with the close code it would have had. A channel number may
 * be reused once its Close was sent or its Closed received.
 */
import { ByteReader, outOfBounds } from './decoder.js';
import { MessageType } from './messages.js';
import { ProtocolError, ProtocolErrorCode } from './errors.js';
import { ByteWriter } from './writer.js';
import { assertUint } from './encoder.js';

/** The `Sec-WebSocket-Protocol` value of the multiplexed sub-protocol. */
export const MUX_PROTOCOL = 'skein-mux.v1';

/** Channel numbers are 1 … MAX_MUX_CHANNEL (0 is the control channel). */
export const MAX_MUX_CHANNEL = 2 ** 31 - 1;

/** Document names are at most 255 bytes of UTF-8 (as in a one-document URL). */
const MAX_NAME_BYTES = 255;
/** A WebSocket close reason is at most 123 bytes. */
const MAX_REASON_BYTES = 123;

export const MuxOp = { Open: 0, Close: 1, Closed: 2 } as const;

export type MuxControl =
  | { op: 'open'; channel: number; name: string }
  | { op: 'close'; channel: number }
  | { op: 'closed'; channel: number; code: number; reason: string };

/** One message of a mux socket: `channel` 0 is control (decode the payload with `decodeMuxControl`). */
export interface MuxFrame {
  readonly channel: number;
  /** A view into the message (no copy). */
  readonly payload: Uint8Array;
}

function channelOf(reader: ByteReader, control: boolean): number {
  const channel = reader.readVarUint('a channel number');
  if (channel > MAX_MUX_CHANNEL) throw outOfBounds('channel', channel, MAX_MUX_CHANNEL);
  if (control && channel === 0) throw outOfBounds('channel', 0, MAX_MUX_CHANNEL);
  return channel;
}

/**
 * Split a mux message into its channel and payload. The payload may be empty (a message the
 * server cut short, see `isCutShortMuxPayload`; on a channel of the client's an empty message
 * is refused like any undecodable one).
 */
export function decodeMuxFrame(bytes: Uint8Array): MuxFrame {
  if (bytes.length === 0) throw new ProtocolError(ProtocolErrorCode.Empty, 'empty mux message');
  const reader = new ByteReader(bytes);
  const channel = channelOf(reader, false);
  return { channel, payload: bytes.subarray(reader.position) };
}

/**
 * A channel's message the server ended early — its channel closed in the middle of a
 * fragmented reply, and the server's Closed follows: empty, or a sync message whose data is
 * shorter than its length prefix says. A client drops it instead of decoding it.
 */
export function isCutShortMuxPayload(payload: Uint8Array): boolean {
  if (payload.length === 0) return true;
  if (payload[0] !== MessageType.Sync) return false;
  const reader = new ByteReader(payload);
  try {
    reader.readVarUint();
    reader.readVarUint('a sync message type');
    return reader.readVarUint('a length') > reader.remaining;
  } catch {
    return true;
  }
}

/** The header of a message on `channel` (prepend it to the payload, or send it as the first fragment). */
export function encodeMuxHeader(channel: number): Uint8Array {
  assertUint(channel, MAX_MUX_CHANNEL, 'A channel number');
  return new ByteWriter(5).writeVarUint(channel).toBytes();
}

/** `payload` on `channel`, as one message. */
export function encodeMuxFrame(channel: number, payload: Uint8Array): Uint8Array {
  assertUint(channel, MAX_MUX_CHANNEL, 'A channel number');
  return new ByteWriter(payload.byteLength + 5).writeVarUint(channel).writeBytes(payload).toBytes();
}

/** A control message, framed on channel 0. */
export function encodeMuxControl(message: MuxControl): Uint8Array {
  if (message.channel < 1) throw new RangeError('A channel number must be at least 1');
  const w = new ByteWriter(16).writeVarUint(0);
  switch (message.op) {
    case 'open':
      return w.writeVarUint(MuxOp.Open).writeVarUint(message.channel).writeVarString(message.name).toBytes();
    case 'close':
      return w.writeVarUint(MuxOp.Close).writeVarUint(message.channel).toBytes();
    case 'closed':
      return w.writeVarUint(MuxOp.Closed).writeVarUint(message.channel).writeVarUint(message.code).writeVarString(message.reason).toBytes();
  }
}

/** Decode the payload of a channel-0 message. */
export function decodeMuxControl(payload: Uint8Array): MuxControl {
  const reader = new ByteReader(payload);
  const op = reader.readVarUint('a mux op');
  let message: MuxControl;
  switch (op) {
    case MuxOp.Open: {
      const channel = channelOf(reader, true);
      message = { op: 'open', channel, name: reader.readVarString(MAX_NAME_BYTES, 'a document name') };
      break;
    }
    case MuxOp.Close:
      message = { op: 'close', channel: channelOf(reader, true) };
      break;
    case MuxOp.Closed: {
      const channel = channelOf(reader, true);
      const code = reader.readVarUint('a close code');
      if (code > 4999) throw outOfBounds('close code', code, 4999);
      message = { op: 'closed', channel, code, reason: reader.readVarString(MAX_REASON_BYTES, 'a close reason') };
      break;
    }
    default:
      throw new ProtocolError(ProtocolErrorCode.UnknownMessageType, `unknown mux op ${op}`);
  }
  reader.expectEnd('the mux control message');
  return message;
}
