/**
 * `ByteWriter`: the encoding side of `ByteReader`, for every binary format built on the
 * codec's primitives (the cluster envelope, stored records and keys, the outbox).
 *
 * Byte-identical to lib0's `encoding` for what both can write: minimal unsigned LEB128
 * varints, `varUint(length) bytes` arrays, UTF-8 strings with a varint length. It adds the
 * fixed-width big-endian integers storage keys and checksums need (u8, u32, u64 up to
 * 2^53 - 1). Pure: no Node built-ins, safe in browsers.
 *
 * Writers are given trusted, typed values; a value that cannot be encoded (negative,
 * fractional, too large) is a programming error and throws a RangeError, never a
 * ProtocolError.
 */
import { assertUint, encodeUtf8, varUintSize, writeVarUint } from './encoder.js';

const TWO_32 = 2 ** 32;

/** The buffer of a writer whose bytes were taken (never written: `#ensure` replaces it). */
const EMPTY = new Uint8Array(0);

export class ByteWriter {
  #buf: Uint8Array;
  #pos = 0;

  /** `capacity`: the expected size; the buffer grows (doubling) past it. */
  constructor(capacity = 64) {
    this.#buf = new Uint8Array(Math.max(1, capacity));
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#pos;
  }

  /** One byte, 0..255. */
  writeU8(value: number): this {
    assertUint(value, 0xff, 'A u8');
    this.#ensure(1);
    this.#buf[this.#pos++] = value;
    return this;
  }

  /** An unsigned LEB128 varint in its minimal form (lib0 `writeVarUint`), 0..2^53 - 1. */
  writeVarUint(value: number): this {
    assertUint(value, Number.MAX_SAFE_INTEGER, 'A varuint');
    this.#ensure(varUintSize(value));
    this.#pos = writeVarUint(this.#buf, this.#pos, value);
    return this;
  }

  /** Four bytes, big-endian, 0..2^32 - 1. */
  writeU32(value: number): this {
    assertUint(value, 0xffff_ffff, 'A u32');
    this.#ensure(4);
    this.#putU32(value);
    return this;
  }

  /** Eight bytes, big-endian, 0..2^53 - 1 (so the bytes sort like the numbers). */
  writeU64(value: number): this {
    assertUint(value, Number.MAX_SAFE_INTEGER, 'A u64');
    this.#ensure(8);
    this.#putU32(Math.floor(value / TWO_32));
    this.#putU32(value % TWO_32);
    return this;
  }

  /** The bytes as they are, no length prefix. */
  writeBytes(bytes: Uint8Array): this {
    this.#ensure(bytes.length);
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.length;
    return this;
  }

  /** `varUint(length) bytes` (lib0 `writeVarUint8Array`). */
  writeVarBytes(bytes: Uint8Array): this {
    return this.writeVarUint(bytes.length).writeBytes(bytes);
  }

  /**
   * `varUint(byteLength) utf8Bytes` (lib0 `writeVarString`). A lone surrogate has no UTF-8
   * form and is written as U+FFFD.
   */
  writeVarString(text: string): this {
    return this.writeVarBytes(encodeUtf8(text));
  }

  /**
   * The bytes written, in an array of their own (no spare capacity, not shared with the
   * writer). The writer starts over empty afterwards.
   */
  toBytes(): Uint8Array {
    const buf = this.#buf;
    const out = this.#pos === buf.length ? buf : buf.slice(0, this.#pos);
    // Most writers are used once: a new buffer is made by the next write, if there is one.
    this.#buf = EMPTY;
    this.#pos = 0;
    return out;
  }

  #putU32(value: number): void {
    const buf = this.#buf;
    let pos = this.#pos;
    buf[pos++] = value >>> 24;
    buf[pos++] = (value >>> 16) & 0xff;
    buf[pos++] = (value >>> 8) & 0xff;
    buf[pos++] = value & 0xff;
    this.#pos = pos;
  }

  #ensure(n: number): void {
    const needed = this.#pos + n;
    if (needed <= this.#buf.length) return;
    const grown = new Uint8Array(Math.max(needed, this.#buf.length * 2));
    grown.set(this.#buf.subarray(0, this.#pos));
    this.#buf = grown;
  }
}
