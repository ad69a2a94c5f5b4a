import * as Y from 'yjs';
import {
  Awareness,
  applyAwarenessUpdate,
  encodeAwarenessUpdate,
  removeAwarenessStates,
} from 'y-protocols/awareness';
import { encodeAwareness, encodeSyncUpdate } from '@skein/protocol';
import { SkeinError } from '../errors/skein-error.js';
import { clientOrigin, originPeer, STORAGE_ORIGIN, type Peer } from './origins.js';

/**
 * loading → active ⇄ idle → unloading → closed; loading → closed when the load fails.
 * Only `active` and `idle` accept updates. After `closed` every operation fails with
 * SKEIN_ERR_DOC_CLOSED.
 */
export type DocumentState = 'loading' | 'active' | 'idle' | 'unloading' | 'closed';

/**
 * SKEIN_ERR_INVALID_UPDATE from `applyClientUpdate`. Yjs can throw after integrating part of
 * an update; that part is live and was fanned out already, so it travels with the error for
 * the caller to persist: the store must never lack what clients were sent.
 */
export class InvalidUpdateError extends SkeinError {
  /** What the update changed before Yjs threw, or null when nothing. */
  readonly integrated: Uint8Array | null;
  constructor(integrated: Uint8Array | null, cause: unknown) {
    super('SKEIN_ERR_INVALID_UPDATE', 'update could not be applied', { cause });
    this.integrated = integrated;
  }
}

interface AwarenessChange {
  added: number[];
  updated: number[];
  removed: number[];
}

/**
 * One live document: holds (never extends) a Y.Doc and its Awareness, the set of attached
 * peers and the awareness client ids each peer controls. Fan-out is encoded once per change.
 */
export class DocumentHandle {
  readonly name: string;
  readonly doc: Y.Doc;
  readonly awareness: Awareness;
  #state: DocumentState = 'loading';
  /** Peer → awareness client ids it controls (removed for everyone when it leaves). */
  readonly #peers = new Map<Peer, Set<number>>();
  /**
   * Every change emitted while a client update is applied (see applyClientUpdate). One
   * `applyUpdate` can emit several: Yjs follows a remote change to a formatted Y.Text with a
   * local cleanup transaction (deleting redundant formatting marks) of its own.
   */
  #changes: Uint8Array[] | null = null;
  /** Fan the change out to its sender as well (see applyClientUpdate). */
  #echoToSender = false;

  constructor(name: string) {
    this.name = name;
    this.doc = new Y.Doc({ gc: true });
    this.awareness = new Awareness(this.doc);
    // The server has no presence of its own.
    this.awareness.setLocalState(null);
  }

  get state(): DocumentState {
    return this.#state;
  }

  get peerCount(): number {
    return this.#peers.size;
  }

  /** Apply what storage returned, then start fanning out. Called once, while loading. */
  hydrate(updates: readonly Uint8Array[]): void {
    this.#expect('loading');
    if (updates.length > 0) {
      Y.transact(this.doc, () => {
        for (const update of updates) Y.applyUpdate(this.doc, update, STORAGE_ORIGIN);
      }, STORAGE_ORIGIN);
    }
    this.doc.on('update', this.#onDocUpdate);
    this.awareness.on('update', this.#onAwarenessUpdate);
    this.#state = this.#peers.size > 0 ? 'active' : 'idle';
  }

  attach(peer: Peer): void {
    if (this.#state === 'unloading' || this.#state === 'closed') {
      throw new SkeinError('SKEIN_ERR_DOC_CLOSED', `document is ${this.#state}`);
    }
    if (!this.#peers.has(peer)) this.#peers.set(peer, new Set());
    if (this.#state === 'idle') this.#state = 'active';
  }

  /** Detach a peer and remove the awareness states it controlled. Returns peers left. */
  detach(peer: Peer): number {
    const controlled = this.#peers.get(peer);
    if (controlled === undefined) return this.#peers.size;
    this.#peers.delete(peer);
    if (controlled.size > 0 && this.#state !== 'closed') {
      removeAwarenessStates(this.awareness, [...controlled], null);
    }
    if (this.#peers.size === 0 && this.#state === 'active') this.#state = 'idle';
    return this.#peers.size;
  }

  /**
   * Apply a validated client update. Throws an InvalidUpdateError (SKEIN_ERR_INVALID_UPDATE)
   * when Yjs rejects it; its `integrated` bytes must be persisted like a return value.
   *
   * Returns the bytes to persist: everything the update actually changed, including any
   * follow-up transaction Yjs ran on its own (null when nothing changed, e.g. a reconnecting
   * client re-sending known state). While the document holds pending structs (whose
   * dependencies have not arrived yet) the update itself is included too, so that nothing a
   * client sent is lost before it can be integrated.
   */
  applyClientUpdate(update: Uint8Array, peer: Peer): Uint8Array | null {
    this.#expectLive();
    const changes: Uint8Array[] = [];
    this.#changes = changes;
    // Structs another peer sent earlier may integrate now, in this peer's transaction: the
    // change is then not only what this peer sent, so it must receive it too.
    this.#echoToSender = this.#hasPending();
    try {
      Y.applyUpdate(this.doc, update, clientOrigin(peer));
    } catch (err) {
      // Yjs can throw half-way, after part of the update was integrated (and fanned out).
      throw new InvalidUpdateError(changes.length <= 1 ? (changes[0] ?? null) : Y.mergeUpdates(changes), err);
    } finally {
      this.#changes = null;
      this.#echoToSender = false;
    }
    if (this.#hasPending()) changes.unshift(update);
    if (changes.length <= 1) return changes[0] ?? null;
    return Y.mergeUpdates(changes);
  }

  applyClientAwareness(update: Uint8Array, peer: Peer): void {
    this.#expectLive();
    try {
      applyAwarenessUpdate(this.awareness, update, peer);
    } catch (err) {
      throw new SkeinError('SKEIN_ERR_INVALID_AWARENESS', 'awareness update could not be applied', {
        cause: err,
      });
    }
  }

  /** Encoded sync step 2 payload: what a peer with `stateVector` is missing. */
  diffFor(stateVector: Uint8Array): Uint8Array {
    this.#expectLive();
    return Y.encodeStateAsUpdate(this.doc, stateVector);
  }

  stateVector(): Uint8Array {
    return Y.encodeStateVector(this.doc);
  }

  /** Awareness states of everyone, as an awareness update payload, or null when none. */
  awarenessSnapshot(): Uint8Array | null {
    const clients = [...this.awareness.getStates().keys()];
    return clients.length === 0 ? null : encodeAwarenessUpdate(this.awareness, clients);
  }

  beginUnload(): void {
    this.#expect('idle');
    this.#state = 'unloading';
  }

  /** Unload did not complete (a flush failed): the document stays in memory, idle. */
  abortUnload(): void {
    this.#expect('unloading');
    this.#state = this.#peers.size > 0 ? 'active' : 'idle';
  }

  /** Release everything: listeners, the awareness check interval, the Y.Doc. Idempotent. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.doc.off('update', this.#onDocUpdate);
    this.awareness.off('update', this.#onAwarenessUpdate);
    this.awareness.destroy();
    this.doc.destroy();
    this.#peers.clear();
  }

  #onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    this.#changes?.push(update);
    const from = this.#echoToSender ? undefined : originPeer(origin);
    const message = encodeSyncUpdate(update);
    for (const peer of this.#peers.keys()) {
      if (peer !== from) peer.send(message);
    }
  };

  #onAwarenessUpdate = ({ added, updated, removed }: AwarenessChange, origin: unknown): void => {
    const controlled = origin === null ? undefined : this.#peers.get(origin as Peer);
    if (controlled !== undefined) {
      for (const id of added) controlled.add(id);
      for (const id of updated) controlled.add(id);
      for (const id of removed) controlled.delete(id);
    }
    const changed = [...added, ...updated, ...removed];
    if (changed.length === 0) return;
    const message = encodeAwareness(encodeAwarenessUpdate(this.awareness, changed));
    for (const peer of this.#peers.keys()) peer.send(message);
  };

  #hasPending(): boolean {
    return this.doc.store.pendingStructs !== null || this.doc.store.pendingDs !== null;
  }

  #expect(state: DocumentState): void {
    if (this.#state !== state) {
      throw new SkeinError('SKEIN_ERR_INTERNAL', `document ${this.#state}, expected ${state}`);
    }
  }

  #expectLive(): void {
    if (this.#state !== 'active' && this.#state !== 'idle') {
      throw new SkeinError('SKEIN_ERR_DOC_CLOSED', `document is ${this.#state}`);
    }
  }
}
