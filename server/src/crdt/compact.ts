import * as Y from 'yjs';

/**
 * One update equivalent to `parts`, as small as Yjs can make it: applied to a garbage-collected
 * Y.Doc, so the content of deleted items (every overwritten map value, every deleted run of
 * text) is dropped and only their id ranges remain — what a live server sends a new client.
 * `Y.mergeUpdates` keeps all of it, so a snapshot built that way grows with history and the
 * cold load with it. If anything stays pending (structs or deletes whose dependencies are
 * not stored), the doc cannot represent it: fall back to the lossless merge.
 */
export function compactUpdates(parts: readonly Uint8Array[]): Uint8Array {
  const doc = new Y.Doc({ gc: true });
  try {
    // One transaction per part: Yjs's memory for one transaction over many dependent parts
    // grows quadratically (20,000 one-item appends: 1.6 GB in one transaction, 14 MB apart).
    for (const part of parts) Y.applyUpdate(doc, part);
    const { pendingStructs, pendingDs } = doc.store;
    if (pendingStructs !== null || pendingDs !== null) return Y.mergeUpdates([...parts]);
    return Y.encodeStateAsUpdate(doc);
  } finally {
    doc.destroy();
  }
}
