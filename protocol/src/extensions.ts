/**
 * Skein's extensions to the y-websocket protocol (message types ≥ 100).
 *
 *   100 Hello    client → server   varUint(version) varUint(features)
 *   101 Welcome  server → client   varUint(version) varUint(features)   (the features both support)
 *   102 Ack      server → client   varUint(seq)
 *
 * A client opts in by sending Hello before anything else. Only then does the server send
 * Welcome and Acks; a plain y-websocket client never receives an extension message.
 *
 * Durable acknowledgements: after Hello with `DurableAcks`, the server numbers the
 * update-bearing messages the client sends on this connection (sync step 2 and sync update,
 * in order, starting at 1). `Ack(n)` means: the first n of them are durable in the server's
 * store. Acks are cumulative and per connection, so nothing can drift across reconnects: a
 * new connection starts again at 1 and the client re-sends whatever was not acknowledged.
 */
import type { ByteReader } from './decoder.js';
import { assertUint, varUintSize, writeVarUint } from './encoder.js';

export const SkeinMessageType = { Hello: 100, Welcome: 101, Ack: 102 } as const;
export type SkeinMessageTypeValue = (typeof SkeinMessageType)[keyof typeof SkeinMessageType];

/** Feature bits of Hello / Welcome. Only ever appended. */
export const SkeinFeature = {
  /** The server acknowledges each update-bearing message once it is durable. */
  DurableAcks: 1,
  /**
   * Only in a Welcome: this session may read but not write (its access token grants `read`).
   * Updates it sends are dropped; the server says so once with an auth message
   * (`SKEIN_ERR_READ_ONLY`). A client never asks for it in its Hello.
   */
  ReadOnly: 2,
} as const;

/** The extension protocol version this codec speaks. */
export const SKEIN_PROTOCOL_VERSION = 1;

export type ExtensionMessage =
  | { type: 'skein-hello'; version: number; features: number }
  | { type: 'skein-welcome'; version: number; features: number }
  | { type: 'skein-ack'; seq: number };

function encodeVarUints(values: readonly number[]): Uint8Array {
  let size = 0;
  for (const v of values) {
    assertUint(v, Number.MAX_SAFE_INTEGER, 'an extension field');
    size += varUintSize(v);
  }
  const out = new Uint8Array(size);
  let pos = 0;
  for (const v of values) pos = writeVarUint(out, pos, v);
  return out;
}

export function encodeHello(features: number, version: number = SKEIN_PROTOCOL_VERSION): Uint8Array {
  return encodeVarUints([SkeinMessageType.Hello, version, features]);
}

export function encodeWelcome(features: number, version: number = SKEIN_PROTOCOL_VERSION): Uint8Array {
  return encodeVarUints([SkeinMessageType.Welcome, version, features]);
}

export function encodeAck(seq: number): Uint8Array {
  return encodeVarUints([SkeinMessageType.Ack, seq]);
}

export function encodeExtension(message: ExtensionMessage): Uint8Array {
  switch (message.type) {
    case 'skein-hello':
      return encodeHello(message.features, message.version);
    case 'skein-welcome':
      return encodeWelcome(message.features, message.version);
    case 'skein-ack':
      return encodeAck(message.seq);
  }
}

/** Decode the payload of an extension message whose type was already read; null if unknown. */
export function decodeExtension(messageType: number, reader: ByteReader): ExtensionMessage | null {
  switch (messageType) {
    case SkeinMessageType.Hello:
    case SkeinMessageType.Welcome: {
      const version = reader.readVarUint('the extension version');
      const features = reader.readVarUint('the extension features');
      return messageType === SkeinMessageType.Hello
        ? { type: 'skein-hello', version, features }
        : { type: 'skein-welcome', version, features };
    }
    case SkeinMessageType.Ack:
      return { type: 'skein-ack', seq: reader.readVarUint('the acknowledged sequence number') };
    default:
      return null;
  }
}
