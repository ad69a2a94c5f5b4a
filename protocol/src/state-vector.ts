/**
 * Yjs state vectors (the payload of sync step 1):
 *
 *   stateVector = varUint(count) { varUint(client) varUint(clock) }*
 *
 * The encoder writes entries sorted by client ID, descending, exactly as
 * `Y.encodeStateVector` does, so equal maps give equal bytes.
 */
import { assertNotEmpty, ByteReader, checkCount } from './decoder.js';
import { assertUint, varUintSize, writeVarUint } from './encoder.js';

/** Smallest possible entry on the wire: a 1-byte client and a 1-byte clock. */
const MIN_ENTRY_BYTES = 2;

/**
 * Decode a state vector strictly: the count must fit in the bytes present
 * (LengthOutOfBounds), every varint ≤ 2^53 - 1, and nothing may follow the last entry
 * (TrailingBytes). A client listed twice keeps its last clock, as in Yjs. Throws only
 * ProtocolError.
 */
export function decodeStateVector(bytes: Uint8Array): Map<number, number> {
  assertNotEmpty(bytes, 'The state vector');
  const reader = new ByteReader(bytes);
  const count = reader.readVarUint('the state vector entry count');
  checkCount(reader, count, MIN_ENTRY_BYTES, Number.MAX_SAFE_INTEGER, 'State vector entry count');
  const sv = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const client = reader.readVarUint('a state vector client');
    const clock = reader.readVarUint('a state vector clock');
    sv.set(client, clock);
  }
  reader.expectEnd('the state vector');
  return sv;
}

/**
 * Encode a state vector, byte-identical to `Y.encodeStateVector` for the same map. Throws
 * RangeError for a client or clock that is not an integer in [0, 2^53 - 1].
 */
export function encodeStateVector(sv: Map<number, number>): Uint8Array {
  const entries = Array.from(sv.entries()).sort((a, b) => b[0] - a[0]);
  let size = varUintSize(entries.length);
  for (const [client, clock] of entries) {
    assertUint(client, Number.MAX_SAFE_INTEGER, 'State vector client');
    assertUint(clock, Number.MAX_SAFE_INTEGER, 'State vector clock');
    size += varUintSize(client) + varUintSize(clock);
  }
  const out = new Uint8Array(size);
  let pos = writeVarUint(out, 0, entries.length);
  for (const [client, clock] of entries) {
    pos = writeVarUint(out, pos, client);
    pos = writeVarUint(out, pos, clock);
  }
  return out;
}
