import * as Y from 'yjs';
import type { HealthViews } from './views.js';

export interface IntegrityResult {
  readonly checked: number;
  readonly mismatched: readonly string[];
  /** Documents with stored records that failed verification (reported, left in place). */
  readonly damaged: readonly string[];
  readonly failed: readonly { readonly name: string; readonly error: string }[];
}

export interface IntegrityState {
  /** Scans completed since start. */
  readonly scans: number;
  readonly lastScanAt: number | null;
  readonly lastChecked: number;
  /** Loaded documents whose stored state lacks (or exceeds) what memory holds, until re-checked clean. */
  readonly mismatched: readonly string[];
  /** Documents whose stored state could not be read in the last scan. */
  readonly unreadable: readonly string[];
  /** Documents with damaged stored records in the last scan (left in place: a scan never writes). */
  readonly damaged: readonly string[];
}

/**
 * The background integrity scan: for a rotating sample of the loaded documents, read what the
 * store holds through its read-only `inspect` (checksums are verified on the way; a damaged
 * record is reported and left where it is: a health check never quarantines, repairs or
 * compacts), derive its state vector from the records' metadata (`storedStateVector`, in
 * slices between which the event loop runs) and compare it with the live one.
 * A store without `inspect` is not scanned.
 *
 * Memory may move on while the store is read, so the check is `memory before ≤ stored ≤
 * memory after` per client clock: stored must hold everything memory held when the scan
 * started, and nothing memory does not hold afterwards.
 */
export class IntegrityScanner {
  readonly #sample: number;
  #cursor = 0;
  #scans = 0;
  #lastScanAt: number | null = null;
  #lastChecked = 0;
  readonly #mismatched = new Set<string>();
  #unreadable: string[] = [];
  #damaged: string[] = [];
  #running: Promise<IntegrityResult> | undefined;

  constructor(sample: number) {
    this.#sample = Math.max(1, sample);
  }

  state(views: HealthViews): IntegrityState {
    // Unloaded documents leave the mismatch list (they are re-checked when loaded again).
    const loaded = new Set(views.registry.names());
    for (const name of this.#mismatched) if (!loaded.has(name)) this.#mismatched.delete(name);
    return {
      scans: this.#scans,
      lastScanAt: this.#lastScanAt,
      lastChecked: this.#lastChecked,
      mismatched: [...this.#mismatched],
      unreadable: this.#unreadable,
      damaged: this.#damaged,
    };
  }

  /** One scan (a scan already running is joined, never doubled). */
  scan(views: HealthViews): Promise<IntegrityResult> {
    this.#running ??= this.#scan(views).finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #scan(views: HealthViews): Promise<IntegrityResult> {
    const { registry, store } = views;
    const inspect = store.inspect?.bind(store);
    const names = inspect === undefined ? [] : this.#pick(registry.names());
    const mismatched: string[] = [];
    const damaged: string[] = [];
    const failed: { name: string; error: string }[] = [];
    let checked = 0;
    for (const name of names) {
      const before = registry.stateVector(name);
      if (before === undefined || inspect === undefined) continue;
      let stored: Uint8Array;
      let updates: readonly Uint8Array[];
      try {
        const read = await inspect(name);
        if (read.damagedRecords > 0) damaged.push(name);
        updates = read.updates;
        stored = await storedStateVector(updates);
      } catch (err) {
        failed.push({ name, error: err instanceof Error ? err.message : String(err) });
        continue;
      }
      const after = registry.stateVector(name);
      if (after === undefined) continue;
      // More stored than in memory: maybe structs waiting for dependencies (counted above, not
      // in memory). The exact answer applies the records (rare: only then).
      if (!covers(after, stored)) stored = exactStateVector(updates);
      checked++;
      if (covers(stored, before) && covers(after, stored)) this.#mismatched.delete(name);
      else {
        this.#mismatched.add(name);
        mismatched.push(name);
      }
    }
    this.#scans++;
    this.#lastScanAt = Date.now();
    this.#lastChecked = checked;
    this.#unreadable = failed.map((f) => f.name);
    this.#damaged = damaged;
    return { checked, mismatched, damaged, failed };
  }

  /** The next `sample` names, round robin over the loaded documents. */
  #pick(all: readonly string[]): string[] {
    if (all.length <= this.#sample) return [...all];
    const out: string[] = [];
    for (let i = 0; i < this.#sample; i++) out.push(all[(this.#cursor + i) % all.length] ?? '');
    this.#cursor = (this.#cursor + this.#sample) % all.length;
    return out;
  }
}

/**
 * State vector of the stored updates without applying them: per client, the clock up to which
 * the records' ranges (`Y.parseUpdateMeta`, linear in the bytes) cover every clock from 0 —
 * a gap (a missing or damaged record) ends it, as Yjs leaves what follows a gap pending.
 * Yields to the event loop every `YIELD_EVERY` records. Applying the records to a Y.Doc
 * instead blocked the event loop for 2.4 s on a document of 100,000 one-item array pushes
 * (Yjs merges each pushed item into the run before it by copying that run: quadratic).
 * Dependencies on other clients' structs are not followed; when the result exceeds memory,
 * `exactStateVector` decides.
 */
export async function storedStateVector(updates: readonly Uint8Array[]): Promise<Uint8Array> {
  const ranges = new Map<number, [number, number][]>();
  for (let i = 0; i < updates.length; i++) {
    const { from, to } = Y.parseUpdateMeta(updates[i] as Uint8Array);
    for (const [client, start] of from) {
      let list = ranges.get(client);
      if (list === undefined) ranges.set(client, (list = []));
      list.push([start, to.get(client) ?? start]);
    }
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise((resolve) => setImmediate(resolve));
  }
  const clocks = new Map<number, number>();
  for (const [client, list] of ranges) {
    list.sort((a, b) => a[0] - b[0]);
    let covered = 0;
    for (const [start, end] of list) {
      if (start > covered) break;
      covered = Math.max(covered, end);
    }
    if (covered > 0) clocks.set(client, covered);
  }
  return Y.encodeStateVector(clocks);
}

const YIELD_EVERY = 500;

/** State vector of the document the stored updates decode to (pending structs excluded, as in memory). */
export function exactStateVector(updates: readonly Uint8Array[]): Uint8Array {
  const doc = new Y.Doc({ gc: true });
  try {
    // One transaction per update: one over many parts costs memory quadratic in their number.
    for (const update of updates) Y.applyUpdate(doc, update);
    return Y.encodeStateVector(doc);
  } finally {
    doc.destroy();
  }
}

/** True when state vector `a` has every client clock of `b` (a ≥ b). */
export function covers(a: Uint8Array, b: Uint8Array): boolean {
  const sa = Y.decodeStateVector(a);
  for (const [client, clock] of Y.decodeStateVector(b)) if ((sa.get(client) ?? 0) < clock) return false;
  return true;
}
