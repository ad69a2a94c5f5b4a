import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { FOLD_MIN_RECORDS, mergeStored } from '../src/crdt/compact.js';

/** A snapshot and then `n` records of edits — map sets, overwrites and deletes, array pushes — as a log stores them. */
function storedLog(n: number): { author: Y.Doc; records: Uint8Array[] } {
  const author = new Y.Doc();
  for (let i = 0; i < 200; i++) author.getMap('m').set(`s${i}`, { x: i, text: `shape ${i}` });
  const records = [Y.encodeStateAsUpdate(author)];
  author.on('update', (u: Uint8Array) => records.push(u));
  for (let i = 0; i < n; i++) {
    if (i % 3 === 0) author.getMap('m').set(`s${i % 200}`, { x: -i });
    else if (i % 3 === 1) author.getArray<number>('a').push([i]);
    else author.getMap('m').delete(`s${(i * 7) % 200}`);
  }
  return { author, records };
}

function content(doc: Y.Doc): { m: unknown; a: unknown[] } {
  return { m: doc.getMap('m').toJSON(), a: doc.getArray('a').toArray() };
}

function applied(update: Uint8Array): Y.Doc {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, update);
  return doc;
}

describe('mergeStored: a log as one update', () => {
  it(`up to ${FOLD_MIN_RECORDS} records: exactly Y.mergeUpdates`, () => {
    const { records } = storedLog(FOLD_MIN_RECORDS - 1);
    expect(records).toHaveLength(FOLD_MIN_RECORDS);
    expect(Buffer.from(mergeStored(records)).equals(Buffer.from(Y.mergeUpdates(records)))).toBe(true);
    expect(mergeStored(records.slice(0, 1))).toBe(records[0]);
  });

  it('more records: folded through a Y.Doc — the same document (content, state vector), nothing pending', () => {
    const { author, records } = storedLog(3 * FOLD_MIN_RECORDS);
    const folded = applied(mergeStored(records));
    expect(content(folded)).toEqual(content(author));
    expect(content(author).a).toHaveLength(FOLD_MIN_RECORDS);
    expect(Y.encodeStateVector(folded)).toEqual(Y.encodeStateVector(author));
    expect(folded.store.pendingStructs).toBeNull();
    expect(folded.store.pendingDs).toBeNull();
  });

  it('more records with a gap (a missing dependency): the lossless merge, which completes when the gap is filled', () => {
    const { author, records } = storedLog(3 * FOLD_MIN_RECORDS);
    // Record i + 1 is edit i; edit 1,498 is an array push, which the next push builds on.
    const gap = records.splice(1_499, 1)[0] as Uint8Array;
    const merged = mergeStored(records);
    const doc = applied(merged);
    expect(doc.store.pendingStructs).not.toBeNull();
    Y.applyUpdate(doc, gap);
    expect(content(doc)).toEqual(content(author));
  });
});
