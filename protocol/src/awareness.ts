/**
 * The awareness update carried inside an Awareness message (y-protocols `awareness.js`):
 *
 *   awarenessUpdate = varUint(count) { varUint(clientID) varUint(clock) varString(stateJSON) }*
 *
 * A state of `null` (the JSON text "null") means the client was removed.
 */
import { ProtocolError, ProtocolErrorCode } from './errors.js';
import { assertNotEmpty, ByteReader, checkCount, decodeUtf8 } from './decoder.js';
import { assertUint, encodeUtf8, varUintSize, writeVarUint } from './encoder.js';
import { type DecodeLimits, resolveLimits } from './limits.js';

/** Yjs client IDs are unsigned 32-bit integers. */
export const MAX_CLIENT_ID = 0xffff_ffff;

/** Smallest possible entry on the wire: a 1-byte client ID, clock and string length. */
const MIN_ENTRY_BYTES = 3;

export interface AwarenessEntry {
  clientId: number;
  clock: number;
  /** Parsed JSON state; `null` means the client is gone. */
  state: unknown;
}

function stateJson(entry: AwarenessEntry): string {
  // `undefined` (no state) is sent as null, like y-protocols does for a missing state.
  const json = entry.state === undefined ? 'null' : JSON.stringify(entry.state);
  if (typeof json !== 'string') {
    throw new TypeError(`Awareness state of client ${entry.clientId} is not JSON-serialisable`);
  }
  return json;
}

/**
 * Encode entries as an awareness update, byte-identical to y-protocols'
 * `encodeAwarenessUpdate` for the same (clientID, clock, state) triples. Throws RangeError
 * for a client ID outside uint32 or a clock outside [0, 2^53 - 1], and TypeError for a state
 * JSON.stringify cannot serialise.
 */
export function encodeAwarenessUpdate(entries: readonly AwarenessEntry[]): Uint8Array {
  const states: Uint8Array[] = [];
  let size = varUintSize(entries.length);
  for (const entry of entries) {
    assertUint(entry.clientId, MAX_CLIENT_ID, 'Awareness clientId');
    assertUint(entry.clock, Number.MAX_SAFE_INTEGER, 'Awareness clock');
    const state = encodeUtf8(stateJson(entry));
    states.push(state);
    size += varUintSize(entry.clientId) + varUintSize(entry.clock);
    size += varUintSize(state.length) + state.length;
  }
  const out = new Uint8Array(size);
  let pos = writeVarUint(out, 0, entries.length);
  entries.forEach((entry, i) => {
    const state = states[i] as Uint8Array;
    pos = writeVarUint(out, pos, entry.clientId);
    pos = writeVarUint(out, pos, entry.clock);
    pos = writeVarUint(out, pos, state.length);
    out.set(state, pos);
    pos += state.length;
  });
  return out;
}

function parseState(json: string, clientId: number): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch {
    throw new ProtocolError(
      ProtocolErrorCode.InvalidString,
      `Awareness state of client ${clientId} is not valid JSON`,
    );
  }
}

/**
 * Decode and validate an awareness update: the entry count against
 * `limits.maxAwarenessEntries` and the bytes present, each client ID ≤ 2^32 - 1
 * (VarintOverflow), each state as UTF-8 (≤ `limits.maxStringBytes`) holding valid JSON
 * (InvalidString), and no trailing bytes. Throws only ProtocolError.
 */
export function decodeAwarenessUpdate(bytes: Uint8Array, limits?: DecodeLimits): AwarenessEntry[] {
  assertNotEmpty(bytes, 'The awareness update');
  const { maxAwarenessEntries, maxStringBytes } = resolveLimits(limits);
  const reader = new ByteReader(bytes);
  const count = reader.readVarUint('the awareness entry count');
  checkCount(reader, count, MIN_ENTRY_BYTES, maxAwarenessEntries, 'Awareness entry count');
  const entries: AwarenessEntry[] = [];
  for (let i = 0; i < count; i++) {
    const clientId = reader.readVarUint('an awareness client ID');
    if (clientId > MAX_CLIENT_ID) {
      throw new ProtocolError(
        ProtocolErrorCode.VarintOverflow,
        `Awareness client ID ${clientId} exceeds ${MAX_CLIENT_ID}`,
      );
    }
    const clock = reader.readVarUint('an awareness clock');
    const json = decodeUtf8(
      reader.readVarBytes(maxStringBytes, 'an awareness state'),
      'an awareness state',
    );
    entries.push({ clientId, clock, state: parseState(json, clientId) });
  }
  reader.expectEnd('the awareness update');
  return entries;
}
