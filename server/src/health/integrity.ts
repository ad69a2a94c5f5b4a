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
 * compacts), decode it into a fresh Y.Doc and compare its state vector with the live one.
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
      try {
        const read = await inspect(name);
        if (read.damagedRecords > 0) damaged.push(name);
        stored = storedStateVector(read.updates);
      } catch (err) {
        failed.push({ name, error: err instanceof Error ? err.message : String(err) });
        continue;
      }
      const after = registry.stateVector(name);
      if (after === undefined) continue;
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

/** State vector of the document the stored updates decode to (pending structs excluded, as in memory). */
function storedStateVector(updates: readonly Uint8Array[]): Uint8Array {
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
