/**
 * Bounds-checked reading primitives over one Uint8Array view.
 *
 * Unlike lib0's decoder, a `ByteReader` never looks outside the view it was given: a
 * Uint8Array may be a window into a larger (pooled) ArrayBuffer, and every length prefix is
 * checked against the bytes left *in the view* before a sub-view is taken. Every failure is a
 * `ProtocolError`; nothing else is thrown.
 */
import { ProtocolError, ProtocolErrorCode } from './errors.js';
import { utf8Decoder } from './text-codec.js';

/**
 * The longest varint accepted: 8 bytes carry 56 bits, enough for Number.MAX_SAFE_INTEGER
 * (2^53 - 1). In the 8th byte only the low 4 bits may be set (bits 49..52) and the
 * continuation bit must be clear.
 */
export const MAX_VARINT_BYTES = 8;
const LAST_BYTE_MAX = 0x0f;
/** The largest high 32-bit word of a safe integer: 2^53 - 1 = 0x1fffff * 2^32 + 0xffffffff. */
const MAX_SAFE_HIGH = 0x1f_ffff;

export function truncated(what: string): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.Truncated, `Input ended while reading ${what}`);
}

export function outOfBounds(what: string, value: number, max: number): ProtocolError {
  return new ProtocolError(
    ProtocolErrorCode.LengthOutOfBounds,
    `${what} ${value} exceeds the allowed maximum ${max}`,
  );
}

/**
 * `value <= max`, written so that a NaN limit rejects everything (fails closed) instead of
 * silently disabling the check.
 */
export function withinLimit(value: number, max: number): boolean {
  return value <= max;
}

/** A cursor over one Uint8Array view. */
export class ByteReader {
  readonly #bytes: Uint8Array;
  #pos = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** Bytes left to read in the view. */
  get remaining(): number {
    return this.#bytes.length - this.#pos;
  }

  /** Current offset inside the view. */
  get position(): number {
    return this.#pos;
  }

  /**
   * Read an unsigned LEB128 varint (lib0 `readVarUint`). Non-minimal encodings are accepted
   * (lib0 accepts them too) but never more than 8 bytes or a value above 2^53 - 1.
   */
  readVarUint(what = 'a varint'): number {
    const bytes = this.#bytes;
    const end = bytes.length;
    let pos = this.#pos;
    let num = 0;
    let mult = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (pos >= end) {
        throw truncated(what);
      }
      const byte = bytes[pos++] as number;
      if (i === MAX_VARINT_BYTES - 1 && byte > LAST_BYTE_MAX) {
        throw new ProtocolError(
          ProtocolErrorCode.VarintOverflow,
          `${what} exceeds Number.MAX_SAFE_INTEGER or ${MAX_VARINT_BYTES} bytes`,
        );
      }
      num += (byte & 0x7f) * mult;
      if (byte < 0x80) {
        this.#pos = pos;
        return num;
      }
      mult *= 128;
    }
    /* c8 ignore next: the 8th byte either returns or throws above */
    throw truncated(what);
  }

  /**
   * Read `varUint(length) bytes` and return a zero-copy view of the input. The length must
   * be at most `maxLength` and at most the bytes left in the view.
   */
  readVarBytes(maxLength: number, what = 'a byte array'): Uint8Array {
    const length = this.readVarUint(`the length of ${what}`);
    if (!withinLimit(length, maxLength)) {
      throw outOfBounds(`Length of ${what}`, length, maxLength);
    }
    const remaining = this.remaining;
    if (length > remaining) {
      throw outOfBounds(`Length of ${what}`, length, remaining);
    }
    const start = this.#pos;
    this.#pos = start + length;
    return this.#bytes.subarray(start, start + length);
  }

  /** Read `varUint(length) utf8Bytes` as a string; invalid UTF-8 raises InvalidString. */
  readVarString(maxBytes: number, what = 'a string'): string {
    const view = this.readVarBytes(maxBytes, what);
    return decodeUtf8(view, what);
  }

  /** Read one byte. */
  readU8(what = 'a byte'): number {
    if (this.#pos >= this.#bytes.length) {
      throw truncated(what);
    }
    return this.#bytes[this.#pos++] as number;
  }

  /** Read a 4-byte big-endian unsigned integer. */
  readU32(what = 'a u32'): number {
    const start = this.#take(4, what);
    const b = this.#bytes;
    return (
      ((b[start] as number) * 0x100_0000) +
      (((b[start + 1] as number) << 16) | ((b[start + 2] as number) << 8) | (b[start + 3] as number))
    );
  }

  /**
   * Read an 8-byte big-endian unsigned integer; values above 2^53 - 1 (which a JavaScript
   * number cannot hold exactly) raise VarintOverflow.
   */
  readU64(what = 'a u64'): number {
    const high = this.readU32(what);
    const low = this.readU32(what);
    if (high > MAX_SAFE_HIGH) {
      throw new ProtocolError(ProtocolErrorCode.VarintOverflow, `${what} exceeds Number.MAX_SAFE_INTEGER`);
    }
    return high * 2 ** 32 + low;
  }

  /** Read exactly `length` bytes as a zero-copy view of the input. */
  readBytes(length: number, what = 'a byte array'): Uint8Array {
    const start = this.#take(length, what);
    return this.#bytes.subarray(start, start + length);
  }

  /** Advance over `length` bytes without a view of them (Truncated when fewer are left). */
  skip(length: number, what = 'a byte array'): void {
    this.#take(length, what);
  }

  /** Every byte left, as a zero-copy view (possibly empty); the reader is then at the end. */
  readRest(): Uint8Array {
    const start = this.#pos;
    this.#pos = this.#bytes.length;
    return this.#bytes.subarray(start);
  }

  /** Raise TrailingBytes unless the whole view has been consumed. */
  expectEnd(what = 'the message'): void {
    const left = this.remaining;
    if (left !== 0) {
      throw new ProtocolError(
        ProtocolErrorCode.TrailingBytes,
        `${left} byte(s) left after ${what}`,
      );
    }
  }

  /** Advance over `length` bytes (Truncated when fewer are left); returns where they start. */
  #take(length: number, what: string): number {
    const start = this.#pos;
    if (length > this.#bytes.length - start) {
      throw truncated(what);
    }
    this.#pos = start + length;
    return start;
  }
}

/** Strict UTF-8 decoding of a view; any failure raises InvalidString. */
export function decodeUtf8(view: Uint8Array, what = 'a string'): string {
  try {
    return utf8Decoder.decode(view);
  } catch {
    throw new ProtocolError(ProtocolErrorCode.InvalidString, `${what} is not valid UTF-8`);
  }
}

/** Raise Empty for a zero-length input; every top-level decoder starts with this. */
export function assertNotEmpty(bytes: Uint8Array, what: string): void {
  if (bytes.length === 0) {
    throw new ProtocolError(ProtocolErrorCode.Empty, `${what} is empty`);
  }
}

/**
 * Reject a count that cannot fit in the bytes left, before looping over it: each entry
 * needs at least `minEntryBytes`. This keeps a forged count from driving a long loop.
 */
export function checkCount(
  reader: ByteReader,
  count: number,
  minEntryBytes: number,
  maxCount: number,
  what: string,
): void {
  if (!withinLimit(count, maxCount)) {
    throw outOfBounds(what, count, maxCount);
  }
  const fits = Math.floor(reader.remaining / minEntryBytes);
  if (count > fits) {
    throw outOfBounds(what, count, fits);
  }
}
