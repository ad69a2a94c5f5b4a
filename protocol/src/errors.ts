/** Stable error codes raised by the codec. The server maps them to close codes. */
export const ProtocolErrorCode = {
  /** The input ended before a complete value (varint, length-prefixed bytes) was read. */
  Truncated: 'SKEIN_ERR_PROTOCOL_TRUNCATED',
  /**
   * A varint was longer than allowed or exceeded the safe integer range (2^53 - 1), a
   * fixed-width u64 exceeded that range, or an awareness client ID exceeded 2^32 - 1.
   */
  VarintOverflow: 'SKEIN_ERR_PROTOCOL_VARINT_OVERFLOW',
  /** A length prefix or count exceeded its limit or the bytes available. */
  LengthOutOfBounds: 'SKEIN_ERR_PROTOCOL_LENGTH_OUT_OF_BOUNDS',
  /** The message type (or sub-type, or a format's version or kind byte) is not one this codec knows. */
  UnknownMessageType: 'SKEIN_ERR_PROTOCOL_UNKNOWN_MESSAGE_TYPE',
  /** Bytes were left over after a complete message. */
  TrailingBytes: 'SKEIN_ERR_PROTOCOL_TRAILING_BYTES',
  /** A string was not valid UTF-8, or an awareness state was not valid JSON. */
  InvalidString: 'SKEIN_ERR_PROTOCOL_INVALID_STRING',
  /** An empty frame. */
  Empty: 'SKEIN_ERR_PROTOCOL_EMPTY',
} as const;

export type ProtocolErrorCodeValue = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];

/** The only error the decoder throws. Tests and callers branch on `code`, never on `message`. */
export class ProtocolError extends Error {
  readonly code: ProtocolErrorCodeValue;
  constructor(code: ProtocolErrorCodeValue, message: string) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
  }
}

export function isProtocolError(err: unknown): err is ProtocolError {
  return err instanceof ProtocolError;
}
