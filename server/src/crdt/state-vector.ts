import * as Y from 'yjs';

/** State vectors already computed, by the update's bytes (the same object, not equal bytes). */
const known = new WeakMap<Uint8Array, Uint8Array>();

/**
 * `Y.encodeStateVectorFromUpdate(update)`, computed once per update object. Decoding an
 * update's structs for its state vector also checks them (it throws on a malformed update,
 * as `Y.parseUpdateMeta` would), so the store's check of a record on load and the document's
 * state vector of that record share one decode. The bytes must not change after the first
 * call (stored records and encoded states never do).
 */
export function stateVectorOf(update: Uint8Array): Uint8Array {
  let sv = known.get(update);
  if (sv === undefined) {
    sv = Y.encodeStateVectorFromUpdate(update);
    known.set(update, sv);
  }
  return sv;
}

/** The state vector `stateVectorOf` computed for these bytes, if it did (nothing is computed). */
export function knownStateVector(update: Uint8Array): Uint8Array | undefined {
  return known.get(update);
}
