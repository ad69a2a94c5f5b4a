import { ByteReader, ByteWriter, ProtocolError, ProtocolErrorCode } from '@skein/protocol';

/**
 * The cluster outbox record (see `docs/storage.md`, "Byte formats"):
 *
 *   key   = seq:u64be                          (key order is arrival order)
 *   value = name:varString update:varUint8Array
 *
 * Written with the protocol's `ByteWriter`, read with its bounds-checked `ByteReader`; the
 * decoders throw only a coded `ProtocolError` (Empty, Truncated, LengthOutOfBounds,
 * InvalidString, TrailingBytes, VarintOverflow). The bytes are the ones lib0 `encoding`
 * wrote before (golden tests pin them).
 */
export interface OutboxValue {
  readonly name: string;
  /** A zero-copy view into the decoded bytes. */
  readonly update: Uint8Array;
}

export function encodeOutboxValue(name: string, update: Uint8Array): Uint8Array {
  return new ByteWriter(8 + 3 * name.length + update.length).writeVarString(name).writeVarBytes(update).toBytes();
}

export function decodeOutboxValue(bytes: Uint8Array): OutboxValue {
  if (bytes.length === 0) throw new ProtocolError(ProtocolErrorCode.Empty, 'The outbox value is empty');
  const reader = new ByteReader(bytes);
  const name = reader.readVarString(bytes.length, 'the document name');
  const update = reader.readVarBytes(bytes.length, 'the update');
  reader.expectEnd('the outbox value');
  return { name, update };
}

/** The key of outbox entry `seq` (0..2^53 - 1, else RangeError): 8 bytes big-endian. */
export function encodeOutboxKey(seq: number): Uint8Array {
  return new ByteWriter(8).writeU64(seq).toBytes();
}

/** The seq of an outbox key; a key of another length or above 2^53 - 1 raises a coded error. */
export function decodeOutboxKey(key: Uint8Array): number {
  if (key.length === 0) throw new ProtocolError(ProtocolErrorCode.Empty, 'The outbox key is empty');
  const reader = new ByteReader(key);
  const seq = reader.readU64('the outbox seq');
  reader.expectEnd('the outbox key');
  return seq;
}
