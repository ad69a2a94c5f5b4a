/**
 * Encoding primitives. Frames are written into one exactly-sized Uint8Array (one allocation,
 * one copy of the payload), byte-identical to what lib0's `encoding` produces: unsigned
 * LEB128 varints in their minimal form, `varUint(length) bytes` arrays, UTF-8 strings.
 *
 * Encoders are given trusted, typed values; a value that cannot be encoded (a negative or
 * fractional integer, a state that is not JSON-serialisable) is a programming error and
 * throws a RangeError/TypeError, never a ProtocolError.
 */

import { utf8Encoder } from './text-codec.js';

/** Number of bytes `value` takes as a varint. `value` must be a safe unsigned integer. */
export function varUintSize(value: number): number {
  let size = 1;
  let rest = value;
  while (rest > 0x7f) {
    rest = Math.floor(rest / 128);
    size++;
  }
  return size;
}

/** Write `value` as a minimal varint at `pos`; returns the position after it. */
export function writeVarUint(target: Uint8Array, pos: number, value: number): number {
  let rest = value;
  let at = pos;
  while (rest > 0x7f) {
    target[at++] = 0x80 | (rest % 128);
    rest = Math.floor(rest / 128);
  }
  target[at++] = rest;
  return at;
}

/** Throw a RangeError unless `value` is an integer in [0, max]. */
export function assertUint(value: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${what} must be an integer in [0, ${max}], got ${String(value)}`);
  }
}

/**
 * UTF-8 bytes of a string. Lone surrogates cannot be represented in UTF-8; TextEncoder
 * replaces them with U+FFFD (as lib0's `writeVarString` does).
 */
export function encodeUtf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/**
 * Build `header... varUint(payload.length) payload` in one exactly-sized array, where
 * `header` is a list of small varint values (message type, sub-type).
 */
export function encodeFrame(header: readonly number[], payload: Uint8Array): Uint8Array {
  let size = varUintSize(payload.length) + payload.length;
  for (const value of header) {
    size += varUintSize(value);
  }
  const out = new Uint8Array(size);
  let pos = 0;
  for (const value of header) {
    pos = writeVarUint(out, pos, value);
  }
  pos = writeVarUint(out, pos, payload.length);
  out.set(payload, pos);
  return out;
}
