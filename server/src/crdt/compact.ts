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

/** Past this many records `mergeStored` folds them through a Y.Doc instead of `Y.mergeUpdates`. */
export const FOLD_MIN_RECORDS = 1000;

/**
 * A document's stored records as one update, for a dormant load. `Y.mergeUpdates` takes
 * more than linear time in the number of updates it merges — 1,000 one-item updates 56 ms, 5,000
 * 0.46 s, 20,000 12 s — while applying them to a Y.Doc one by one grows about linearly: a 1.3 MB
 * snapshot with 20,000 small records took 10.6–11.7 s merged and 0.26–0.37 s folded, with 8,000
 * 0.77–0.93 s and 0.26–0.28 s, with 2,000 the same (a large document edited in small steps keeps
 * thousands of records until its log is a tenth of its snapshot). Up to `FOLD_MIN_RECORDS`
 * records are merged (the fold costs the whole document: slower below), more are folded with
 * `compactUpdates` — the same document, deleted content dropped as a live document drops it (an
 * export, which promises every byte, merges: `LogStore.exportDocument`).
 */
export function mergeStored(records: readonly Uint8Array[]): Uint8Array {
  if (records.length === 1) return records[0] as Uint8Array;
  return records.length > FOLD_MIN_RECORDS ? compactUpdates(records) : Y.mergeUpdates([...records]);
}
