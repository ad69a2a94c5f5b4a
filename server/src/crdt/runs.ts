import { ContentAny } from 'yjs';

/**
 * The most elements one run of a `Y.Array` (one `ContentAny` item) grows to by merging.
 *
 * When a transaction ends, Yjs merges each item it appended into the run on its left:
 * `ContentAny.mergeWith` copies the run's whole element array (`concat`). A run built one
 * push at a time therefore costs O(its length) per transaction, and a run of k items that
 * arrive in one transaction (a document woken from merged log records, a compaction, a burst's
 * batch) is merged right to left, copying O(k²) elements: 20,000 one-item pushes applied as one
 * update took 10.5 s, 0.65 s with this bound (one process, 2-core machine). Runs stop growing at
 * this many elements instead, so a merge copies at most this many; the document is the same
 * (a run boundary is a few bytes in the encoded state: one item header per 1,024 elements).
 */
export const MAX_RUN_ELEMENTS = 1024;

const BOUNDED = Symbol.for('skein.boundedRunMerges');

interface MergeableContent {
  arr: unknown[];
  mergeWith: (this: MergeableContent, right: MergeableContent) => boolean;
  [BOUNDED]?: true;
}

/**
 * Bounds `Y.Array` runs in this process to `MAX_RUN_ELEMENTS` (see above). It changes how Yjs
 * merges adjacent items of this process's Yjs module — never what a document contains or how
 * it converges — so it is installed once per process (or worker thread) by the composition
 * roots: `startServer`, the `skein` CLI and the compaction worker. Idempotent.
 */
export function boundRunMerges(): void {
  const proto = ContentAny.prototype as unknown as MergeableContent;
  if (proto[BOUNDED] === true) return;
  const merge = proto.mergeWith;
  proto.mergeWith = function mergeWithinBound(this: MergeableContent, right: MergeableContent): boolean {
    return this.arr.length + right.arr.length <= MAX_RUN_ELEMENTS && merge.call(this, right);
  };
  proto[BOUNDED] = true;
}
