import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { MAX_RUN_ELEMENTS, boundRunMerges } from '../src/crdt/runs.js';
import { arrayRuns as runs } from '../../test/helpers/docs.js';

/** `n` one-item pushes made by a real document, one update each (each depends on the one before). */
function pushes(n: number): { author: Y.Doc; updates: Uint8Array[] } {
  const author = new Y.Doc();
  const updates: Uint8Array[] = [];
  author.on('update', (u: Uint8Array) => updates.push(u));
  for (let i = 0; i < n; i++) author.getArray<number>('a').push([i]);
  return { author, updates };
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

// The bound is process-wide (it changes this test file's Yjs module); installed once here.
boundRunMerges();

describe('Y.Array runs are bounded (crdt/runs.ts)', () => {
  it('one-item pushes applied in batches: runs grow by merging up to the bound, never past it, and the content is exact', () => {
    const { updates } = pushes(5_000);
    const doc = new Y.Doc();
    for (let i = 0; i < updates.length; i += 100) Y.transact(doc, () => updates.slice(i, i + 100).forEach((u) => Y.applyUpdate(doc, u)));
    const lengths = runs(doc);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(MAX_RUN_ELEMENTS);
    // Merging still happens below the bound: every run but the last holds more than the bound
    // less one batch (5,000 items in 5 runs of 1,000, not 50 runs of 100 or 5,000 of 1).
    expect(lengths.slice(0, -1).every((n) => n > MAX_RUN_ELEMENTS - 100)).toBe(true);
    expect(lengths).toHaveLength(5);
    expect(doc.getArray('a').toArray()).toEqual(range(5_000));
  });

  it('5,000 one-item updates merged into one (a woken document, a compaction): bounded runs, exact content', () => {
    const { updates } = pushes(5_000);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, Y.mergeUpdates(updates));
    expect(Math.max(...runs(doc))).toBeLessThanOrEqual(MAX_RUN_ELEMENTS);
    expect(runs(doc).length).toBeLessThanOrEqual(Math.ceil(5_000 / (MAX_RUN_ELEMENTS / 2)));
    expect(doc.getArray('a').toArray()).toEqual(range(5_000));
  });

  it('a longer run that arrives whole stays whole; nothing merges into it', () => {
    const author = new Y.Doc();
    author.getArray<number>('a').push(range(3_000));
    author.getArray<number>('a').push([3_000]);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(author));
    expect(runs(doc)).toEqual([3_000, 1]);
    expect(doc.getArray('a').toArray()).toEqual(range(3_001));
  });

  it('a bounded document converges with its peers: its state, deletes and concurrent inserts give every replica the same array', () => {
    const { author, updates } = pushes(3_000);
    const server = new Y.Doc();
    for (const u of updates) Y.applyUpdate(server, u);
    // A second writer, concurrently: deletes across run boundaries and inserts in the middle.
    const other = new Y.Doc();
    Y.applyUpdate(other, Y.encodeStateAsUpdate(server));
    other.getArray<number>('a').delete(1_000, 100);
    other.getArray<number>('a').insert(2_040, [-1, -2]);
    author.getArray<number>('a').push([3_000]);
    Y.applyUpdate(server, Y.encodeStateAsUpdate(other, Y.encodeStateVector(server)));
    Y.applyUpdate(server, Y.encodeStateAsUpdate(author, Y.encodeStateVector(server)));
    const joiner = new Y.Doc();
    Y.applyUpdate(joiner, Y.encodeStateAsUpdate(server));
    Y.applyUpdate(author, Y.encodeStateAsUpdate(server, Y.encodeStateVector(author)));
    Y.applyUpdate(other, Y.encodeStateAsUpdate(server, Y.encodeStateVector(other)));
    const expected = author.getArray('a').toArray();
    expect(expected).toHaveLength(3_001 - 100 + 2);
    for (const replica of [server, joiner, other]) expect(replica.getArray('a').toArray()).toEqual(expected);
    expect(Math.max(...runs(server), ...runs(joiner))).toBeLessThanOrEqual(MAX_RUN_ELEMENTS);
  });

  it('installing twice wraps once', () => {
    const merge = Object.getOwnPropertyDescriptor(Y.ContentAny.prototype, 'mergeWith')?.value as unknown;
    boundRunMerges();
    expect(Object.getOwnPropertyDescriptor(Y.ContentAny.prototype, 'mergeWith')?.value).toBe(merge);
    expect(merge).toBeTypeOf('function');
  });
});
