import * as Y from 'yjs';
import {
  Awareness,
  applyAwarenessUpdate,
  encodeAwarenessUpdate,
  removeAwarenessStates,
} from 'y-protocols/awareness';
import { CloseCode, encodeAwareness } from '@skein/protocol';
import type { Clock, TimerHandle } from '../clock/clock.js';
import { SkeinError } from '../errors/skein-error.js';
import type { Logger } from '../logging/logger.js';
import type { DocumentProbes } from './probes.js';
import { Lifecycle, type DocumentState, type LifecycleEffect, type LifecycleEvent } from './lifecycle.js';
import { originPeer, STORAGE_ORIGIN, type Peer, type WriteSource } from './origins.js';
import type { DocumentReplica, DocumentStore, ReplicaHost, Replicator } from './ports.js';
import type { WriteBudget } from './write-budget.js';
import { WriteChain } from './write-chain.js';
import { DocQuota } from './quota.js';
import { FanOut } from './fan-out.js';

export type { DocumentState } from './lifecycle.js';

/**
 * SKEIN_ERR_INVALID_UPDATE from `submit`. Yjs can throw after integrating part of an update;
 * that part is live and was fanned out already, so `submit` stores it before throwing: the
 * store must never lack what clients were sent.
 */
export class InvalidUpdateError extends SkeinError {
  /** What the update changed before Yjs threw, or null when nothing. */
  readonly integrated: Uint8Array | null;
  constructor(integrated: Uint8Array | null, cause: unknown) {
    super('SKEIN_ERR_INVALID_UPDATE', 'update could not be applied', { cause });
    this.integrated = integrated;
  }
}

/** What every handle of a registry shares. */
export interface HandleContext {
  readonly store: DocumentStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly budget: WriteBudget;
  /** How long a document without peers stays loaded. */
  readonly unloadDelayMs: number;
  /** A load slower than this fails with SKEIN_ERR_DOC_LOAD_TIMEOUT. */
  readonly loadTimeoutMs: number;
  /** Upper bound for the retry delay of a failed unload flush. */
  readonly maxUnloadRetryMs: number;
  /** Coalescing window of the fan-out (`fan-out.ts`): 0 = one event-loop turn. */
  readonly fanOutWindowMs?: number;
  /** Largest encoded state a document may grow to (`--max-doc-bytes`, quota.ts); 0 or absent: none. */
  readonly maxDocBytes?: number;
  /** The cluster, when there is one. */
  readonly replicator?: Replicator;
  readonly telemetry?: DocumentProbes;
  /** The document changed (any source but its load). Must be cheap and must not throw. */
  readonly onChange?: (name: string) => void;
  /** The handle reached `closed`: forget it. */
  onClosed(handle: DocumentHandle): void;
}

interface AwarenessChange {
  added: number[];
  updated: number[];
  removed: number[];
}

/**
 * One live document and the single owner of its edit path. Every writer — a WebSocket
 * connection, the cluster replica, future HTTP writes, restores and imports — calls
 * `submit`, which runs validate → quota → apply → fan-out → persist → replicate and resolves
 * when the change is durable by the document's ack policy. The handle also owns the
 * document's lifecycle (`lifecycle.ts`): load, delayed unload, flush, release.
 *
 * Holds (never extends) a Y.Doc and its Awareness, the attached peers and the awareness
 * client ids each controls.
 */
export class DocumentHandle implements ReplicaHost {
  readonly name: string;
  readonly doc: Y.Doc;
  readonly awareness: Awareness;
  /** Settles when the load finished (resolves) or failed (rejects with a SkeinError). */
  readonly loaded: Promise<void>;
  /** Resolves once the handle is closed. */
  readonly closed: Promise<void>;
  readonly #ctx: HandleContext;
  readonly #life = new Lifecycle();
  readonly #resolveClosed: () => void;
  /** Peer → awareness client ids it controls (removed for everyone when it leaves). */
  readonly #peers = new Map<Peer, Set<number>>();
  /** Changes emitted while `submit` applies an update (Yjs may add a cleanup transaction). */
  #changes: Uint8Array[] | null = null;
  /** Fan the change out to its sender as well (see #apply). */
  #echoToSender = false;
  /** The full state for peers with an empty state vector; dropped on every change. */
  #fullState: Uint8Array | undefined;
  #fullStateEncodes = 0;
  #replica: DocumentReplica | undefined;
  readonly #quota: DocQuota;
  readonly #fanOut: FanOut;
  /** This document's writes, in order (write-chain.ts). */
  readonly #writes: WriteChain;
  // Unload.
  #unloadTimer: TimerHandle | undefined;
  #unloadFailures = 0;
  /** The unload in progress: settles when it closed the document or the flush failed. */
  #unloading: Promise<void> | undefined;

  constructor(name: string, ctx: HandleContext) {
    this.name = name;
    this.#ctx = ctx;
    // A guid skips Yjs's random id (~60 µs per document open); it only names subdocuments.
    this.doc = new Y.Doc({ gc: true, guid: name });
    this.awareness = new Awareness(this.doc);
    this.#fanOut = new FanOut({
      clock: ctx.clock,
      windowMs: ctx.fanOutWindowMs ?? 0,
      peers: () => this.#peers.keys(),
      publish: (update) => this.#replica?.publish(update),
      awarenessMessage: (clients) => encodeAwareness(encodeAwarenessUpdate(this.awareness, [...clients])),
    });
    this.#writes = new WriteChain({ name, store: ctx.store, budget: ctx.budget, logger: ctx.logger, fullState: () => Y.encodeStateAsUpdate(this.doc) });
    // The server has no presence of its own.
    this.awareness.setLocalState(null);
    this.#quota = new DocQuota(ctx.maxDocBytes ?? 0, () => Y.encodeStateAsUpdate(this.doc).byteLength, () =>
      ctx.telemetry?.limitRefused('doc-bytes'),
    );
    let resolveClosed!: () => void;
    this.closed = new Promise<void>((resolve) => (resolveClosed = resolve));
    this.#resolveClosed = resolveClosed;
    this.loaded = this.#load();
    // Waiters observe a failure through `loaded`; this only prevents an unhandled rejection.
    this.loaded.catch(() => undefined);
  }

  get state(): DocumentState {
    return this.#life.state;
  }

  get peerCount(): number {
    return this.#peers.size;
  }

  /** A delayed unload is pending (for leak checks). */
  get unloadScheduled(): boolean {
    return this.#unloadTimer !== undefined;
  }

  /** Settles when the unload in progress (if any) has closed the document or given up. */
  get unloadSettled(): Promise<void> {
    return this.#unloading ?? Promise.resolve();
  }

  attach(peer: Peer): void {
    if (!this.#life.allows('peer-joined')) {
      throw new SkeinError('SKEIN_ERR_DOC_CLOSED', `document is ${this.state}`);
    }
    if (!this.#peers.has(peer)) this.#peers.set(peer, new Set());
    this.#transition('peer-joined');
  }

  /** Detach a peer and remove the awareness states it controlled. Returns peers left. */
  detach(peer: Peer): number {
    const controlled = this.#peers.get(peer);
    if (controlled === undefined) return this.#peers.size;
    this.#peers.delete(peer);
    // Nobody left to join cheaply for: do not keep a second copy of an idle document.
    if (this.#peers.size === 0) this.#fullState = undefined;
    if (controlled.size > 0 && this.state !== 'closed') {
      removeAwarenessStates(this.awareness, [...controlled], null);
    }
    if (this.#peers.size === 0 && this.#life.allows('last-peer-left')) this.#transition('last-peer-left');
    return this.#peers.size;
  }

  /**
   * The document is being deleted (admin API): close every peer's session with 4410
   * (SKEIN_ERR_DOC_DELETED) and release it without a flush — the store drops its records next.
   * Only an `active` or `idle` document can be deleted (callers wait for a load or an unload
   * to settle first).
   */
  delete(): void {
    this.#transition('delete');
  }

  // --- the edit path ----------------------------------------------------------------------

  /**
   * The one way to change this document. Synchronously validates the update (refusals throw
   * a SkeinError and keep nothing: SKEIN_ERR_DOC_CLOSED, SKEIN_ERR_INVALID_UPDATE,
   * SKEIN_ERR_DOC_TOO_LARGE, SKEIN_ERR_UNPERSISTED_LIMIT), applies it and fans it out to the
   * other local peers; then persists what it changed (with an outbox record for the cluster when it came from this
   * node) and publishes it to the other nodes.
   *
   * The promise resolves when the change — and every change submitted before it — is
   * durable by the ack policy: on this node's disk (`local`), and also in the cluster's
   * shared tier (`cluster`, for changes accepted by this node). It rejects when the store
   * failed; the document then stores its full state with the next write.
   */
  submit(update: Uint8Array, source: WriteSource): Promise<void> {
    return this.submitAll([update], source);
  }

  /**
   * Several updates from one source as one change (a burst's batch, transport/): each is
   * validated, then all are applied in one Yjs transaction — one change event, one write, one
   * fan-out, one promise — which costs about half of merging them first (`Y.mergeUpdates`)
   * and applying the merge. All or nothing on refusal, like `submit`.
   */
  submitAll(updates: readonly Uint8Array[], source: WriteSource): Promise<void> {
    this.#expectWritable();
    let bytes = 0;
    for (const update of updates) {
      validateUpdate(update);
      bytes += update.byteLength;
    }
    this.#quota.admit(bytes, source);
    this.#ctx.budget.admit(bytes);
    let changed: Uint8Array | null;
    try {
      changed = this.#apply(updates, source);
    } catch (err) {
      // Yjs threw half-way: what it integrated is live and fanned out, so it is kept too.
      if (err instanceof InvalidUpdateError && err.integrated !== null) {
        const integrated = err.integrated;
        this.#commit(() => integrated, integrated, source).catch(() => undefined);
      }
      throw err;
    }
    return this.#commit(() => (updates.length === 1 ? (updates[0] as Uint8Array) : Y.mergeUpdates(updates as Uint8Array[])), changed, source);
  }

  replicateAll(): Promise<void> {
    this.#expectWritable();
    return this.#writes.append(Y.encodeStateAsUpdate(this.doc), this.#ctx.replicator !== undefined).then(noop);
  }

  applyClientAwareness(update: Uint8Array, peer: Peer): void {
    this.#expectWritable();
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
    this.#expectWritable();
    // A peer with nothing (a joiner, or a hostile "send me everything"): the full state, encoded
    // once per change of the document however many ask.
    if (stateVector.byteLength === 1 && stateVector[0] === 0) {
      if (this.#fullState === undefined) {
        this.#fullState = Y.encodeStateAsUpdate(this.doc);
        this.#fullStateEncodes++;
      }
      return this.#fullState;
    }
    return Y.encodeStateAsUpdate(this.doc, stateVector);
  }

  /** How often the full state was encoded for peers with an empty state vector (diagnostics, tests). */
  get fullStateEncodes(): number {
    return this.#fullStateEncodes;
  }

  stateVector(): Uint8Array {
    return Y.encodeStateVector(this.doc);
  }

  /** Awareness states of everyone, as an awareness update payload, or null when none. */
  awarenessSnapshot(): Uint8Array | null {
    const clients = [...this.awareness.getStates().keys()];
    return clients.length === 0 ? null : encodeAwarenessUpdate(this.awareness, clients);
  }

  /**
   * Shut down (server close): flush, then release. Resolves true when everything accepted is
   * durable. Never leaves a timer behind.
   */
  async close(): Promise<boolean> {
    this.#cancelUnload();
    await this.loaded.catch(() => undefined);
    // An unload in progress either closes the document or fails to flush it and leaves it in
    // memory (no retry is scheduled while shutting down): then flush it once more here.
    await this.unloadSettled;
    if (this.state === 'closed') return true;
    const flushed = await this.#writes.flush(this.#ctx.replicator !== undefined);
    if (this.#life.allows('shutdown')) this.#transition('shutdown');
    return flushed;
  }

  // --- apply, persist, replicate ------------------------------------------------------------

  /**
   * Apply `updates` (in one transaction) with `source` as the transaction origin. Returns
   * everything it actually changed, including follow-up transactions Yjs ran on its own (null
   * when nothing changed, e.g. a reconnecting client re-sending known state). While the
   * document holds pending structs the updates themselves are included too, so nothing sent is
   * lost before it integrates.
   */
  #apply(updates: readonly Uint8Array[], source: WriteSource): Uint8Array | null {
    const changes: Uint8Array[] = [];
    this.#changes = changes;
    // Structs another peer sent earlier may integrate now, in this peer's transaction: the
    // change is then not only what this peer sent, so it must receive it too.
    this.#echoToSender = this.#hasPending();
    try {
      if (updates.length === 1) Y.applyUpdate(this.doc, updates[0] as Uint8Array, source);
      // One transaction: Yjs emits one change for all of them when it ends.
      else Y.transact(this.doc, () => updates.forEach((update) => Y.applyUpdate(this.doc, update, source)), source);
    } catch (err) {
      throw new InvalidUpdateError(changes.length <= 1 ? (changes[0] ?? null) : Y.mergeUpdates(changes), err);
    } finally {
      this.#changes = null;
      this.#echoToSender = false;
    }
    if (this.#hasPending()) changes.unshift(...updates);
    if (changes.length <= 1) return changes[0] ?? null;
    return Y.mergeUpdates(changes);
  }

  /** Persist, replicate, and resolve by the ack policy. */
  #commit(sent: () => Uint8Array, changed: Uint8Array | null, source: WriteSource): Promise<void> {
    const fromCluster = source.source === 'cluster';
    const replicator = fromCluster ? undefined : this.#ctx.replicator;
    // Published to the other nodes with this turn's group (one message per group, fan-out.ts).
    if (changed !== null && !fromCluster && this.#replica !== undefined) this.#fanOut.toCluster(changed);
    const waitForTier = replicator?.ackPolicy === 'cluster';
    // A re-sent update changes nothing here, yet its sender waits for an ack that under the
    // `cluster` policy means "in the shared tier": ship the bytes it sent (merging is
    // idempotent) instead of acknowledging on local durability alone.
    const bytes = changed ?? (waitForTier ? sent() : null);
    // A change this node accepted (not another node's copy) is noted for document events.
    const user = 'user' in source ? source.user : undefined;
    const change = fromCluster || changed === null ? undefined : { ...(user === undefined ? {} : { user }) };
    const written = this.#writes.append(bytes, replicator !== undefined, change);
    if (!waitForTier) return written.then(() => undefined);
    return written.then((result) => {
      const seq = result === undefined ? undefined : result.outboxSeq;
      if (seq === undefined) throw new SkeinError('SKEIN_ERR_INTERNAL', 'the store wrote no outbox record for a replicated write');
      return replicator.delivered(seq);
    });
  }

  // --- lifecycle ------------------------------------------------------------------------------

  #transition(event: LifecycleEvent): void {
    for (const effect of this.#life.apply(event, this.#peers.size > 0)) this.#run(effect);
  }

  #run(effect: LifecycleEffect): void {
    switch (effect) {
      case 'schedule-unload': {
        const delay = this.#unloadFailures === 0 ? this.#ctx.unloadDelayMs : Math.min(this.#ctx.maxUnloadRetryMs, 100 * 2 ** this.#unloadFailures);
        this.#scheduleUnload(delay);
        return;
      }
      case 'cancel-unload':
        this.#cancelUnload();
        return;
      case 'flush': {
        const unloading: Promise<void> = this.#writes.flush(this.#ctx.replicator !== undefined).then((ok) => {
          if (ok) this.#unloadFailures = 0;
          else this.#unloadFailures++;
          if (this.state === 'unloading') this.#transition(ok ? 'flushed' : 'flush-failed');
          if (ok) this.#ctx.logger.debug({ doc: this.name }, 'document unloaded');
        }).finally(() => {
          if (this.#unloading === unloading) this.#unloading = undefined;
        });
        this.#unloading = unloading;
        return;
      }
      case 'close-peers':
        for (const peer of [...this.#peers.keys()]) peer.close?.(CloseCode.DocumentDeleted, 'SKEIN_ERR_DOC_DELETED');
        return;
      case 'release':
        this.#release();
        return;
      default: {
        const never: never = effect;
        throw new SkeinError('SKEIN_ERR_INTERNAL', `unknown effect ${String(never)}`);
      }
    }
  }

  async #load(): Promise<void> {
    const started = performance.now();
    const traced = this.#ctx.telemetry?.documentLoadStarted(this.name);
    let updates: readonly Uint8Array[];
    let remote: readonly Uint8Array[];
    try {
      // The shared tier is read in parallel; it never rejects (an unreachable cluster yields
      // nothing and the document loads from the local store alone).
      [updates, remote] = await withTimeout(
        Promise.all([this.#ctx.store.load(this.name), this.#ctx.replicator?.fetchRemote(this.name) ?? []]),
        this.#ctx.loadTimeoutMs,
        this.#ctx.clock,
      );
      if (this.state !== 'loading') throw new SkeinError('SKEIN_ERR_SHUTTING_DOWN');
      this.#hydrate(updates);
    } catch (err) {
      const e = loadError(err);
      this.#ctx.logger.error({ code: e.code, doc: this.name, err: errMessage(err) }, 'document load failed');
      traced?.failed(e.code);
      if (this.state === 'loading') this.#transition('load-failed');
      throw e;
    }
    traced?.loaded(updates, remote.length);
    this.#transition('loaded');
    // Changes the replica applies now (the shared tier's content) reach every peer's first sync.
    if (this.#ctx.replicator !== undefined) this.#replica = this.#ctx.replicator.attach(this, remote);
    this.#ctx.logger.debug({ doc: this.name, updates: updates.length, ms: Math.round(performance.now() - started) }, 'document loaded');
  }

  #hydrate(updates: readonly Uint8Array[]): void {
    // One transaction per stored update (no listener is attached yet, so nothing is fanned
    // out): one transaction over many parts costs memory quadratic in their number.
    for (const update of updates) Y.applyUpdate(this.doc, update, STORAGE_ORIGIN);
    this.#quota.loaded(updates);
    this.doc.on('update', this.#onDocUpdate);
    this.awareness.on('update', this.#onAwarenessUpdate);
  }

  #scheduleUnload(delayMs: number): void {
    this.#cancelUnload();
    this.#unloadTimer = this.#ctx.clock.setTimeout(() => {
      this.#unloadTimer = undefined;
      if (this.state === 'idle') this.#transition('unload');
    }, delayMs);
  }

  #cancelUnload(): void {
    if (this.#unloadTimer !== undefined) this.#ctx.clock.clearTimeout(this.#unloadTimer);
    this.#unloadTimer = undefined;
  }

  /** Release everything: replica, listeners, the awareness check interval, the Y.Doc. */
  #release(): void {
    this.#cancelUnload();
    // Peers still attached (a shutdown) get the last changes before the document goes.
    this.#fanOut.flush();
    this.#replica?.stop();
    this.#replica = undefined;
    this.doc.off('update', this.#onDocUpdate);
    this.awareness.off('update', this.#onAwarenessUpdate);
    this.awareness.destroy();
    this.doc.destroy();
    this.#peers.clear();
    this.#ctx.onClosed(this);
    this.#resolveClosed();
  }

  // --- fan-out ------------------------------------------------------------------------------

  #onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    this.#fullState = undefined;
    this.#changes?.push(update);
    this.#quota.grew(update.byteLength);
    this.#ctx.onChange?.(this.name);
    this.#fanOut.add(update, this.#echoToSender ? undefined : originPeer(origin));
  };

  #onAwarenessUpdate = ({ added, updated, removed }: AwarenessChange, origin: unknown): void => {
    const controlled = origin === null ? undefined : this.#peers.get(origin as Peer);
    if (controlled !== undefined) {
      for (const id of added) controlled.add(id);
      for (const id of updated) controlled.add(id);
      for (const id of removed) controlled.delete(id);
    }
    // Sent with this turn's group (fan-out.ts): one message per peer for every client that changed.
    this.#fanOut.presence([...added, ...updated, ...removed]);
  };

  #hasPending(): boolean {
    return this.doc.store.pendingStructs !== null || this.doc.store.pendingDs !== null;
  }

  #expectWritable(): void {
    if (this.state !== 'active' && this.state !== 'idle') {
      throw new SkeinError('SKEIN_ERR_DOC_CLOSED', `document is ${this.state}`);
    }
  }
}

/** Decode the whole update once so a malformed one is refused before it touches the document. */
function validateUpdate(update: Uint8Array): void {
  try {
    Y.decodeUpdate(update);
  } catch (err) {
    throw new SkeinError('SKEIN_ERR_INVALID_UPDATE', 'not a valid Yjs update', { cause: err });
  }
}

function loadError(err: unknown): SkeinError {
  if (err instanceof SkeinError && (err.code === 'SKEIN_ERR_DOC_LOAD_TIMEOUT' || err.code === 'SKEIN_ERR_SHUTTING_DOWN')) return err;
  return new SkeinError('SKEIN_ERR_DOC_LOAD_FAILED', `load of document failed: ${errMessage(err)}`, { cause: err });
}

function withTimeout<T>(promise: Promise<T>, ms: number, clock: Clock): Promise<T> {
  let timer: TimerHandle | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => reject(new SkeinError('SKEIN_ERR_DOC_LOAD_TIMEOUT', `load took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => {
    if (timer !== undefined) clock.clearTimeout(timer);
  });
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function noop(): void {}
