import type { KvEntry } from './kv-store.js';

/**
 * Values at least this large that own their whole buffer (as a large LevelDB record read
 * back does) are handed to the worker as they are: their buffer is transferred, not copied.
 * Copying a 20 MB snapshot into fresh memory on the event loop cost 120–190 ms on a cloud VM
 * (first-touch page faults), once per compaction of a large document (bench S14).
 */
export const TRANSFER_MIN_BYTES = 64 * 1024;

/**
 * Key/value entries packed for the compaction worker, handed over in one message: `bytes`
 * holds every key and every small value back to back; `offsets[2i]` is where entry i's key
 * starts, `offsets[2i + 1]` where its value starts, and the last offset is
 * `bytes.byteLength`. A large value (`TRANSFER_MIN_BYTES` or more, owning its buffer) is not
 * copied into `bytes` (its span there is empty): entry `largeAt[j]` has `large[j]` as its
 * value. Moving 500 records as 1,000 separate arrays (cloned keys, transferred values) cost
 * the event loop ~7 % of its time under a write-heavy load (bench S3's profile); small
 * records cost one copy into one buffer and one transfer, large ones nothing.
 */
export interface PackedEntries {
  readonly bytes: Uint8Array;
  readonly offsets: Uint32Array;
  readonly large: readonly Uint8Array[];
  readonly largeAt: Uint32Array;
}

/** A view that covers its whole (non-shared) ArrayBuffer: it can be transferred as it is. */
export function ownsBuffer(bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
}

export function packEntries(entries: readonly KvEntry[], transferMinBytes = TRANSFER_MIN_BYTES): PackedEntries {
  const buffers = new Set<ArrayBufferLike>();
  const isLarge = entries.map(({ value }) => {
    if (value.byteLength < transferMinBytes || !ownsBuffer(value) || buffers.has(value.buffer)) return false;
    buffers.add(value.buffer);
    return true;
  });
  let total = 0;
  entries.forEach(({ key, value }, i) => (total += key.byteLength + (isLarge[i] === true ? 0 : value.byteLength)));
  const bytes = new Uint8Array(total);
  const offsets = new Uint32Array(entries.length * 2 + 1);
  const large: Uint8Array[] = [];
  const largeAt: number[] = [];
  let at = 0;
  entries.forEach(({ key, value }, i) => {
    offsets[2 * i] = at;
    bytes.set(key, at);
    at += key.byteLength;
    offsets[2 * i + 1] = at;
    if (isLarge[i] === true) {
      large.push(value);
      largeAt.push(i);
      return;
    }
    bytes.set(value, at);
    at += value.byteLength;
  });
  offsets[entries.length * 2] = at;
  return { bytes, offsets, large, largeAt: Uint32Array.from(largeAt) };
}

/** Bytes of every key and value packed (the buffer and the large values), without a pass over the entries. */
export function packedBytes(packed: PackedEntries): number {
  return packed.large.reduce((sum, v) => sum + v.byteLength, packed.bytes.byteLength);
}

/** What to transfer with the packed entries: every buffer they consist of (then detached here). */
export function transferList(packed: PackedEntries): ArrayBuffer[] {
  return [packed.bytes.buffer, packed.offsets.buffer, packed.largeAt.buffer, ...packed.large.map((v) => v.buffer)] as ArrayBuffer[];
}

/** The entries again, as views into `packed.bytes` and the large values (no copy). Throws RangeError on bad offsets. */
export function unpackEntries(packed: PackedEntries): KvEntry[] {
  const { bytes, offsets, large, largeAt } = packed;
  if (offsets.length % 2 !== 1 || offsets[offsets.length - 1] !== bytes.byteLength) throw new RangeError('packed entries: bad offsets');
  if (largeAt.length !== large.length) throw new RangeError('packed entries: bad large values');
  const out: KvEntry[] = [];
  let j = 0;
  for (let i = 0; i + 2 < offsets.length; i += 2) {
    const k = offsets[i] as number;
    const v = offsets[i + 1] as number;
    const end = offsets[i + 2] as number;
    if (!(k <= v && v <= end && end <= bytes.byteLength)) throw new RangeError('packed entries: bad offsets');
    if (j < largeAt.length && largeAt[j] === i / 2) {
      if (end !== v) throw new RangeError('packed entries: a large value also has bytes in the buffer');
      out.push({ key: bytes.subarray(k, v), value: large[j] as Uint8Array });
      j++;
    } else {
      out.push({ key: bytes.subarray(k, v), value: bytes.subarray(v, end) });
    }
  }
  if (j !== largeAt.length) throw new RangeError('packed entries: bad large values');
  return out;
}
