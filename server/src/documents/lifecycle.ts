import { SkeinError } from '../errors/skein-error.js';

/**
 * The lifecycle of one document, as a transition table: states × events → next state +
 * effects. The document handle owns one `Lifecycle` and runs the effects; nothing else
 * changes a document's state.
 *
 *   loading ──loaded──► active ⇄ idle ──unload──► unloading ──flushed──► closed
 *      │                (peer-joined / last-peer-left)   │
 *      └──load-failed──► closed          unloading ──flush-failed──► idle | active
 *   any state but closed ──shutdown──► closed
 *   active | idle ──delete──► closed   (DELETE /api/v1/docs/{name}: peers closed with 4410)
 *
 * Only `active` and `idle` accept writes. A peer may join while loading (it waits for the
 * load) but not while unloading (the registry waits for the unload to settle, then either
 * reloads or attaches to the document that stayed in memory).
 */
export type DocumentState = 'loading' | 'active' | 'idle' | 'unloading' | 'closed';

export type LifecycleEvent =
  | 'loaded'
  | 'load-failed'
  | 'peer-joined'
  | 'last-peer-left'
  | 'unload'
  | 'flushed'
  | 'flush-failed'
  | 'shutdown'
  /** The document is being deleted (admin API): close its peers, drop it without a flush. */
  | 'delete';

/** What the handle must do after a transition, in this order. */
export type LifecycleEffect =
  /** Start the delayed unload (the document has no peers). */
  | 'schedule-unload'
  /** Cancel a pending delayed unload (a peer arrived, or the document is going away). */
  | 'cancel-unload'
  /** Make every accepted write durable (storing the full state after a failure), then report `flushed` or `flush-failed`. */
  | 'flush'
  /** Close every peer's session with the document-deleted code (4410). */
  | 'close-peers'
  /** Detach the replica, release the Y.Doc and awareness, settle `closed`. */
  | 'release';

interface Transition {
  readonly to: DocumentState | 'peers';
  readonly effects: readonly LifecycleEffect[];
  /** More effects when `to: 'peers'` lands in `idle`. */
  readonly whenIdle?: readonly LifecycleEffect[];
}

/** `to: 'peers'` = `active` when the document has peers, else `idle`. */
const TABLE: Readonly<Record<DocumentState, Partial<Record<LifecycleEvent, Transition>>>> = {
  loading: {
    'peer-joined': { to: 'loading', effects: [] },
    'last-peer-left': { to: 'loading', effects: [] },
    // Nobody waits for the load any more (every peer left meanwhile): unload later.
    loaded: { to: 'peers', effects: [], whenIdle: ['schedule-unload'] },
    'load-failed': { to: 'closed', effects: ['release'] },
    shutdown: { to: 'closed', effects: ['release'] },
  },
  active: {
    'peer-joined': { to: 'active', effects: ['cancel-unload'] },
    'last-peer-left': { to: 'idle', effects: ['schedule-unload'] },
    shutdown: { to: 'closed', effects: ['cancel-unload', 'release'] },
    // Nothing is flushed: the store drops the document's records right after.
    delete: { to: 'closed', effects: ['cancel-unload', 'close-peers', 'release'] },
  },
  idle: {
    'peer-joined': { to: 'active', effects: ['cancel-unload'] },
    unload: { to: 'unloading', effects: ['flush'] },
    shutdown: { to: 'closed', effects: ['cancel-unload', 'release'] },
    delete: { to: 'closed', effects: ['cancel-unload', 'close-peers', 'release'] },
  },
  unloading: {
    flushed: { to: 'closed', effects: ['release'] },
    // Nothing may be lost: the document stays in memory and the unload is retried.
    'flush-failed': { to: 'peers', effects: ['schedule-unload'] },
    shutdown: { to: 'closed', effects: ['release'] },
  },
  closed: {},
};

/** The state machine itself: pure, no timers, no I/O. */
export class Lifecycle {
  #state: DocumentState = 'loading';

  get state(): DocumentState {
    return this.#state;
  }

  /** Whether `event` is allowed now (without applying it). */
  allows(event: LifecycleEvent): boolean {
    return TABLE[this.#state][event] !== undefined;
  }

  /**
   * Apply `event`; returns the effects to run. Throws SKEIN_ERR_INTERNAL for an event the
   * table does not allow in the current state: a bug, never a client's doing.
   */
  apply(event: LifecycleEvent, hasPeers: boolean): readonly LifecycleEffect[] {
    const t = TABLE[this.#state][event];
    if (t === undefined) throw new SkeinError('SKEIN_ERR_INTERNAL', `document ${this.#state}: ${event} is not allowed`);
    const to = t.to === 'peers' ? (hasPeers ? 'active' : 'idle') : t.to;
    this.#state = to;
    return to === 'idle' && t.whenIdle !== undefined ? [...t.effects, ...t.whenIdle] : t.effects;
  }
}

/** The table, for documentation and tests (docs/architecture.md renders it). */
export function transitionTable(): ReadonlyArray<{ from: DocumentState; event: LifecycleEvent; to: string; effects: readonly string[] }> {
  const rows: { from: DocumentState; event: LifecycleEvent; to: string; effects: readonly string[] }[] = [];
  for (const [from, events] of Object.entries(TABLE) as [DocumentState, Partial<Record<LifecycleEvent, Transition>>][]) {
    for (const [event, t] of Object.entries(events) as [LifecycleEvent, Transition][]) {
      const effects = t.whenIdle === undefined ? t.effects : [...t.effects, ...t.whenIdle.map((e) => `${e} (if idle)`)];
      rows.push({ from, event, to: t.to === 'peers' ? 'active or idle' : t.to, effects });
    }
  }
  return rows;
}
