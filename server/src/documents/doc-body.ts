import * as Y from 'yjs';
import { mergeStored } from '../crdt/compact.js';
import { stateVectorOf } from '../crdt/state-vector.js';
import { SkeinError } from '../errors/skein-error.js';
import { STORAGE_ORIGIN } from './origins.js';

/** The two forms a loaded document's content takes (see `DocBody`). */
export type BodyForm = 'live' | 'dormant' | 'released';

/** What moves a body between its forms. */
export type BodyEvent = 'wake' | 'sleep' | 'release';

/** The transition table: the form an event leads to from each form (absent: not allowed). */
const TRANSITIONS: Readonly<Record<BodyForm, Partial<Record<BodyEvent, BodyForm>>>> = {
  dormant: { wake: 'live', release: 'released' },
  live: { sleep: 'dormant', release: 'released' },
  released: {},
};

export interface BodyHooks {
  /** A Y.Doc was built (load or wake): attach the document's listeners to it. */
  attach(doc: Y.Doc): void;
  /** The Y.Doc is about to go (sleep or release): detach them. */
  detach(doc: Y.Doc): void;
  /** Elapsed-time source (ms) for `lastWakeMs`: the document's clock (default `performance.now`). */
  now?(): number;
}

/** An encoded update that changes nothing: no structs, no deletions (`Y.encodeStateAsUpdate` of an empty doc). */
const EMPTY_STATE = Uint8Array.of(0, 0);

/** A peer that has nothing (a joiner): the encoded state vector with no clients. */
function isEmptyStateVector(stateVector: Uint8Array): boolean {
  return stateVector.byteLength === 1 && stateVector[0] === 0;
}

/** At most this many changes are kept after the cached state for joiners (then it is dropped). */
export const JOIN_TAIL_MAX = 64;
/**
 * …and at most this many bytes of them, or the cached state's size if larger (a joiner receives
 * at most about twice the document's size, or the state plus this).
 */
export const JOIN_TAIL_BYTES = 64 * 1024;
/**
 * Past 1 MiB the tail may grow to a quarter of the state (a joiner of a 20 MB document receives
 * at most 25 MB, each change as an update message) rather than have the state encoded
 * again: that encode runs on the event loop, ~13 ms per MB here (a 20 MB document: ~270 ms in
 * which no other document on the node is served).
 */
const JOIN_TAIL_MIN_CAP = 1024 * 1024;
const JOIN_TAIL_SHARE = 4;

/** Bytes of changes kept after a cached state of `stateBytes` (see the constants above). */
export function joinTailRoom(stateBytes: number): number {
  return Math.max(JOIN_TAIL_BYTES, Math.min(stateBytes, Math.max(JOIN_TAIL_MIN_CAP, Math.floor(stateBytes / JOIN_TAIL_SHARE))));
}

/**
 * A loaded document's content, in one of two forms:
 *
 * - **live**: a `Y.Doc` that edits apply to, with the handle's listeners attached;
 * - **dormant**: only its encoded state (and state vector) — what sync needs. A Y.Doc costs
 *   about ten times its encoded size in heap (a ~50 KB canvas: ~480 KB), so a document nobody
 *   edits keeps only the bytes.
 *
 * Joiners of a dormant document are answered from the bytes (`diff`, `stateVector`); the first
 * change that is not already contained wakes it (one apply of the state). A document loads
 * dormant (the stored records merged, not applied) unless dormancy is off, and a live one goes
 * back to sleep when the handle says so (`document-handle.ts`: no change for
 * `--dormant-after-ms`).
 *
 * The encoded state doubles as the live form's cache for peers with an empty state vector. A
 * change does not drop it: the change's update is kept after it (the tail, bounded by
 * JOIN_TAIL_MAX and JOIN_TAIL_BYTES), and a joiner gets the cached state and then the tail
 * (`joinParts`). So joiners of a document being edited cost one full encode per JOIN_TAIL_MAX
 * changes, not one each; what needs the exact state as one update (`encoded`: a write of the
 * full state, a compaction, sleep) encodes it again when a tail is held.
 */
export class DocBody {
  readonly #name: string;
  readonly #hooks: BodyHooks;
  #form: BodyForm;
  #doc: Y.Doc | undefined;
  /** Dormant: the state itself. Live: a cache of `Y.encodeStateAsUpdate(doc)` (as of before `#tail`), or undefined. */
  #state: Uint8Array | undefined;
  /** Live: the updates applied since `#state` was encoded, in order (state + tail = the document). */
  #tail: Uint8Array[] = [];
  #tailBytes = 0;
  /** Cached encoded state vector (dropped with the state). */
  #stateVector: Uint8Array | undefined;
  /** Decoded state vector of the dormant state (for `contains`). */
  #clocks: Map<number, number> | undefined;
  #encodes = 0;
  #wakes = 0;
  #lastWakeMs = 0;

  private constructor(name: string, hooks: BodyHooks) {
    this.#name = name;
    this.#hooks = hooks;
    this.#form = 'dormant';
  }

  /**
   * A body for a document loaded from these stored records: dormant (the records as one update,
   * `mergeStored`, nothing applied) or live (applied one per transaction: one transaction over
   * many parts costs memory quadratic in their number).
   */
  static load(name: string, records: readonly Uint8Array[], dormant: boolean, hooks: BodyHooks): DocBody {
    const body = new DocBody(name, hooks);
    if (dormant) body.#state = records.length === 0 ? EMPTY_STATE : mergeStored(records);
    else body.#build(records);
    return body;
  }

  get form(): BodyForm {
    return this.#form;
  }

  /** The live Y.Doc, waking the document when it is dormant. */
  live(): Y.Doc {
    if (this.#form === 'dormant') this.#wake(this.#state as Uint8Array);
    if (this.#form !== 'live') throw new SkeinError('SKEIN_ERR_DOC_CLOSED', 'document is closed');
    return this.#doc as Y.Doc;
  }

  /** The document's full state as one update (cached until the next change). */
  encoded(): Uint8Array {
    if (this.#state === undefined || this.#tail.length > 0) {
      this.#state = Y.encodeStateAsUpdate(this.live());
      this.#encodes++;
      this.#dropTail();
    }
    return this.#state;
  }

  /**
   * What a joiner with `stateVector` is sent, in order: what it lacks as one update (`diff`);
   * for an empty vector, the cached full state, then the changes made since it was encoded
   * (each its own message), encoding only when nothing is cached. Never wakes a dormant
   * document.
   */
  joinParts(stateVector: Uint8Array): readonly Uint8Array[] {
    if (!isEmptyStateVector(stateVector)) return [this.diff(stateVector)];
    if (this.#state === undefined) return [this.encoded()];
    return this.#tail.length === 0 ? [this.#state] : [this.#state, ...this.#tail];
  }

  stateVector(): Uint8Array {
    this.#stateVector ??= this.#doc === undefined ? stateVectorOf(this.encoded()) : Y.encodeStateVector(this.#doc);
    return this.#stateVector;
  }

  /** What a peer with `stateVector` lacks, as one update. An empty vector gets the cached full state. */
  diff(stateVector: Uint8Array): Uint8Array {
    if (isEmptyStateVector(stateVector)) return this.encoded();
    return this.#doc === undefined ? Y.diffUpdate(this.encoded(), stateVector) : Y.encodeStateAsUpdate(this.#doc, stateVector);
  }

  /**
   * True when applying `update` (already validated: `decoded` is its `Y.decodeUpdate`) to the
   * dormant state would change nothing: it deletes nothing and every struct in it is below the
   * state vector. Conservative: false means "wake and apply", never a lost change. Always false
   * when live (the live path applies and finds out).
   */
  contains(decoded: { structs: ReadonlyArray<{ id: { client: number; clock: number }; length: number }>; ds: { clients: Map<number, unknown> } }): boolean {
    if (this.#form !== 'dormant') return false;
    if (decoded.ds.clients.size > 0) return false;
    if (decoded.structs.length === 0) return true;
    this.#clocks ??= Y.decodeStateVector(this.stateVector());
    const clocks = this.#clocks;
    return decoded.structs.every((s) => s.id.clock + s.length <= (clocks.get(s.id.client) ?? 0));
  }

  /**
   * The live document changed by `update`: the cached state vector is stale; the cached state is
   * kept with `update` after it while the tail has room, else dropped. Without an update, both
   * are dropped.
   */
  changed(update?: Uint8Array): void {
    this.#stateVector = undefined;
    const state = this.#state;
    if (state !== undefined && update !== undefined && this.#tail.length < JOIN_TAIL_MAX) {
      if (this.#tailBytes + update.byteLength <= joinTailRoom(state.byteLength)) {
        this.#tail.push(update);
        this.#tailBytes += update.byteLength;
        return;
      }
    }
    this.#state = undefined;
    this.#dropTail();
  }

  #dropTail(): void {
    if (this.#tail.length === 0) return;
    this.#tail = [];
    this.#tailBytes = 0;
  }

  /**
   * Keep only the encoded state. The caller checks that nothing is in flight that needs the
   * Y.Doc (no pending structs; an unfinished transaction never spans a turn). A cached state
   * vector stays: without pending structs the doc's and the encoded state's are the same.
   */
  sleep(): void {
    this.#expect('sleep');
    const doc = this.#doc as Y.Doc;
    this.encoded();
    this.#hooks.detach(doc);
    doc.destroy();
    this.#doc = undefined;
    this.#form = 'dormant';
  }

  /** Drop everything (the document closed). */
  release(): void {
    this.#expect('release');
    if (this.#doc !== undefined) {
      this.#hooks.detach(this.#doc);
      this.#doc.destroy();
    }
    this.#doc = undefined;
    this.#state = undefined;
    this.#dropTail();
    this.#stateVector = undefined;
    this.#clocks = undefined;
    this.#form = 'released';
  }

  /** The document holds structs or deletions waiting for updates it has not seen. */
  hasPending(): boolean {
    const doc = this.#doc;
    return doc !== undefined && (doc.store.pendingStructs !== null || doc.store.pendingDs !== null);
  }

  /** How often the full state was encoded (diagnostics, tests). */
  get encodes(): number {
    return this.#encodes;
  }

  /** How long the last wake took (ms of this process's time; 0 before the first). */
  get lastWakeMs(): number {
    return this.#lastWakeMs;
  }

  /** How often a dormant document was woken (diagnostics, tests). */
  get wakes(): number {
    return this.#wakes;
  }

  #wake(state: Uint8Array): void {
    this.#expect('wake');
    const started = this.#now();
    try {
      this.#build([state]);
    } catch (err) {
      throw new SkeinError('SKEIN_ERR_DOC_LOAD_FAILED', 'the dormant document could not be woken', { cause: err });
    }
    this.#wakes++;
    this.#lastWakeMs = this.#now() - started;
  }

  #now(): number {
    return this.#hooks.now?.() ?? performance.now();
  }

  /** Build the live form from `parts`, one transaction each. */
  #build(parts: readonly Uint8Array[]): void {
    // A guid skips Yjs's random id (~60 µs per document open); it only names subdocuments.
    const doc = new Y.Doc({ gc: true, guid: this.#name });
    try {
      // No listener is attached yet, so nothing is fanned out.
      for (const part of parts) Y.applyUpdate(doc, part, STORAGE_ORIGIN);
    } catch (err) {
      doc.destroy();
      throw err;
    }
    this.#doc = doc;
    this.#form = 'live';
    this.#clocks = undefined;
    this.#hooks.attach(doc);
  }

  #expect(event: BodyEvent): void {
    const next = TRANSITIONS[this.#form][event];
    if (next === undefined) throw new SkeinError('SKEIN_ERR_INTERNAL', `document body: ${event} while ${this.#form}`);
  }
}
