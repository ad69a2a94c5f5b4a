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
import { originPeer, type Peer, type WriteSource } from './origins.js';
import type { DocumentReplica, DocumentStore, ReplicaHost, Replicator } from './ports.js';
import type { WriteBudget } from './write-budget.js';
import { WriteChain } from './write-chain.js';
import { DocQuota } from './quota.js';
import { FanOut } from './fan-out.js';
import { DocBody } from './doc-body.js';

export type { DocumentState } from './lifecycle.js';

/** What `#apply` changed: the update to store and fan out, and its end clock per client when known. */
interface AppliedChange {
  readonly update: Uint8Array;
  readonly clocks: ReadonlyMap<number, number> | undefined;
}

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
  /** Least time between two presence messages of the document (`fan-out.ts`): 0 = none. */
  readonly presenceIntervalMs?: number;
  /**
   * A document without a change for this long keeps only its encoded state (`doc-body.ts`);
   * documents also load that way. 0 or absent: always a live Y.Doc.
   */
  readonly dormantAfterMs?: number;
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
 * Holds (never extends) the document's content (`doc-body.ts`: a live Y.Doc, or only its
 * encoded state while nobody edits), its Awareness, the attached peers and the awareness
 * client ids each controls.
 */
export class DocumentHandle implements ReplicaHost {
  readonly name: string;
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
  /** While `#apply` runs: the end clock per client of what it changed (the store need not decode it again). */
  #changeClocks: Map<number, number> | null = null;
  /** Fan the change out to its sender as well (see #apply). */
  #echoToSender = false;
  /** The content, from the end of the load (`doc-body.ts`). */
  #body: DocBody | undefined;
  /** When the content last changed, and the timer that puts it to sleep (dormantAfterMs). */
  #lastChange = 0;
  #sleepTimer: TimerHandle | undefined;
  #replica: DocumentReplica | undefined;
  /** Withdraws the in-memory state offered to the store for its compactions (`DocumentStore.offerState`). */
  #withdrawState: (() => void) | undefined;
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
    // Awareness only borrows a client id from its doc (and the server has no state of its
    // own), so it gets a small one of its own and lives on while the content sleeps.
    this.awareness = new Awareness(new Y.Doc({ gc: true, guid: name }));
    this.#fanOut = new FanOut({
      clock: ctx.clock,
      windowMs: ctx.fanOutWindowMs ?? 0,
      presenceIntervalMs: ctx.presenceIntervalMs ?? 0,
      peers: () => this.#peers.keys(),
      publish: (update) => this.#replica?.publish(update),
      awarenessMessage: (clients) => encodeAwareness(encodeAwarenessUpdate(this.awareness, [...clients])),
    });
    this.#writes = new WriteChain({ name, store: ctx.store, budget: ctx.budget, logger: ctx.logger, fullState: () => this.#content().encoded() });
    // The server has no presence of its own.
    this.awareness.setLocalState(null);
    this.#quota = new DocQuota(ctx.maxDocBytes ?? 0, () => this.#content().encoded().byteLength, () =>
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

  /**
   * The live Y.Doc. A dormant document is woken (its state applied once) and goes back to
   * sleep after `dormantAfterMs` without a change; readers that only need bytes use
   * `diffFor`, `stateVector` and `encodedState`, which do not wake it.
   */
  get doc(): Y.Doc {
    const doc = this.#content().live();
    this.#scheduleSleep();
    return doc;
  }

  /** 'live' or 'dormant' (`doc-body.ts`); 'released' once closed, 'loading' before. */
  get form(): DocBody['form'] | 'loading' {
    return this.#body?.form ?? 'loading';
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
    // Nobody left to join cheaply for: do not keep a second copy of a live document.
    if (this.#peers.size === 0 && this.#body?.form === 'live') this.#body.changed();
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
   * The one way to change this document. Refusals throw a SkeinError synchronously and keep
   * nothing (SKEIN_ERR_DOC_CLOSED, SKEIN_ERR_DOC_TOO_LARGE, SKEIN_ERR_UNPERSISTED_LIMIT, and
   * SKEIN_ERR_INVALID_UPDATE — except for an update Yjs rejects half-way, in its delete set:
   * what it integrated is kept and stored), applies it and fans it out to the
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
   * and applying the merge. A malformed update is refused (SKEIN_ERR_INVALID_UPDATE) with the
   * updates before it kept, as if each had been submitted alone.
   */
  submitAll(updates: readonly Uint8Array[], source: WriteSource): Promise<void> {
    this.#expectWritable();
    const body = this.#content();
    let bytes = 0;
    // A dormant document stays asleep for updates it already holds (a joiner's empty sync
    // step 2, a reconnecting client re-sending known structs).
    let known = body.form === 'dormant';
    // Decoded first (Y.decodeUpdate) only to see whether a dormant document already holds
    // them. A live document's updates go straight to Yjs (one decode, not two), which reads
    // all of an update's structs before it integrates any: a malformed update is refused with
    // nothing of it kept, unless it fails in its delete set, after its structs went in — then
    // what went in is kept (#apply's InvalidUpdateError). In a batch, the updates before a
    // malformed one are kept, as they would have been had each been handled alone.
    for (const update of updates) {
      if (known) known = body.contains(validateUpdate(update));
      bytes += update.byteLength;
    }
    this.#quota.admit(bytes, source);
    this.#ctx.budget.admit(bytes);
    let applied: AppliedChange | null;
    try {
      applied = known ? null : this.#apply(updates, source);
    } catch (err) {
      // Yjs threw half-way: what it integrated is live and fanned out, so it is kept too.
      if (err instanceof InvalidUpdateError && err.integrated !== null) {
        const integrated = err.integrated;
        this.#commit(() => integrated, integrated, source).catch(() => undefined);
      }
      throw err;
    }
    const sent = (): Uint8Array => (updates.length === 1 ? (updates[0] as Uint8Array) : Y.mergeUpdates(updates as Uint8Array[]));
    return this.#commit(sent, applied?.update ?? null, source, applied?.clocks);
  }

  replicateAll(): Promise<void> {
    this.#expectWritable();
    return this.#writes.append(this.#content().encoded(), this.#ctx.replicator !== undefined).then(noop);
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

  /**
   * Encoded sync step 2 payload: what a peer with `stateVector` is missing. A peer with nothing
   * (a joiner, or a hostile "send me everything") gets the full state, encoded once per change
   * of the document however many ask. Never wakes a dormant document.
   */
  diffFor(stateVector: Uint8Array): Uint8Array {
    this.#expectWritable();
    return this.#content().diff(stateVector);
  }

  /**
   * What a joiner with `stateVector` is sent, in order: the first part is its sync step 2, the
   * rest (only for an empty vector) updates made since the cached full state was encoded, so a
   * document being edited is not encoded again for every joiner (doc-body.ts `joinParts`).
   */
  joinFor(stateVector: Uint8Array): readonly Uint8Array[] {
    this.#expectWritable();
    return this.#content().joinParts(stateVector);
  }

  /** The full state as one update (cached until the next change; never wakes the document). */
  encodedState(): Uint8Array {
    return this.#content().encoded();
  }

  /** How often the full state was encoded from the live Y.Doc (diagnostics, tests). */
  get fullStateEncodes(): number {
    return this.#body?.encodes ?? 0;
  }

  /** How often the dormant document was woken (diagnostics, tests). */
  get wakes(): number {
    return this.#body?.wakes ?? 0;
  }

  stateVector(): Uint8Array {
    return this.#content().stateVector();
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
  #apply(updates: readonly Uint8Array[], source: WriteSource): AppliedChange | null {
    const changes: Uint8Array[] = [];
    const clocks = new Map<number, number>();
    this.#changes = changes;
    this.#changeClocks = clocks;
    // Structs another peer sent earlier may integrate now, in this peer's transaction: the
    // change is then not only what this peer sent, so it must receive it too.
    this.#echoToSender = this.#hasPending();
    const doc = this.doc;
    try {
      if (updates.length === 1) Y.applyUpdate(doc, updates[0] as Uint8Array, source);
      // One transaction: Yjs emits one change for all of them when it ends.
      else Y.transact(doc, () => updates.forEach((update) => Y.applyUpdate(doc, update, source)), source);
    } catch (err) {
      throw new InvalidUpdateError(changes.length <= 1 ? (changes[0] ?? null) : Y.mergeUpdates(changes), err);
    } finally {
      this.#changes = null;
      this.#changeClocks = null;
      this.#echoToSender = false;
    }
    // With structs pending, the updates themselves go too: their clocks are not the
    // transactions' (the store decodes them).
    const pending = this.#hasPending();
    if (pending) changes.unshift(...updates);
    if (changes.length === 0) return null;
    return { update: changes.length === 1 ? (changes[0] as Uint8Array) : Y.mergeUpdates(changes), clocks: pending ? undefined : clocks };
  }

  /** Persist, replicate, and resolve by the ack policy. */
  #commit(sent: () => Uint8Array, changed: Uint8Array | null, source: WriteSource, clocks?: ReadonlyMap<number, number>): Promise<void> {
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
    const written = this.#writes.append(bytes, replicator !== undefined, change, bytes === changed ? clocks : undefined);
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
      this.#body = DocBody.load(this.name, updates, (this.#ctx.dormantAfterMs ?? 0) > 0, {
        attach: this.#attachDoc,
        detach: this.#detachDoc,
        // The document's clock: on manual time a wake costs nothing, so its quiet time is exactly dormantAfterMs.
        now: () => this.#ctx.clock.now(),
      });
      this.#quota.loaded(updates);
      // Every change applied here is appended in the same call (#commit): the store may take
      // this state as a snapshot instead of merging its log (it checks the clocks first).
      this.#withdrawState = this.#ctx.store.offerState?.(this.name, () => this.#body?.encoded());
      this.awareness.on('update', this.#onAwarenessUpdate);
      this.#scheduleSleep();
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

  #attachDoc = (doc: Y.Doc): void => {
    doc.on('update', this.#onDocUpdate);
  };

  #detachDoc = (doc: Y.Doc): void => {
    doc.off('update', this.#onDocUpdate);
  };

  /** Arm the sleep timer of a live document (one timer, re-armed by its own check). */
  #scheduleSleep(): void {
    const after = this.#ctx.dormantAfterMs ?? 0;
    if (after <= 0 || this.#sleepTimer !== undefined || this.#body?.form !== 'live') return;
    this.#lastChange = this.#ctx.clock.now();
    this.#sleepTimer = this.#ctx.clock.setTimeout(this.#sleepIfQuiet, after);
  }

  #sleepIfQuiet = (): void => {
    this.#sleepTimer = undefined;
    const body = this.#body;
    if (body?.form !== 'live' || (this.state !== 'active' && this.state !== 'idle')) return;
    // A document whose wake is costly (a large one) must be quiet for longer: the wakes stay
    // within a thousandth of its quiet time.
    const after = Math.max(this.#ctx.dormantAfterMs ?? 0, Math.ceil(1000 * body.lastWakeMs));
    const quiet = this.#ctx.clock.now() - this.#lastChange;
    // Changed meanwhile, or waiting for structs it has not seen: look again later.
    if (quiet < after || body.hasPending()) {
      this.#sleepTimer = this.#ctx.clock.setTimeout(this.#sleepIfQuiet, Math.max(1, after - quiet));
      return;
    }
    // Peers still get the last changes of this turn (the group holds bytes, not the doc).
    body.sleep();
  };

  #cancelSleep(): void {
    if (this.#sleepTimer !== undefined) this.#ctx.clock.clearTimeout(this.#sleepTimer);
    this.#sleepTimer = undefined;
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

  /** Release everything: replica, listeners, the awareness check interval, the content. */
  #release(): void {
    this.#cancelUnload();
    this.#cancelSleep();
    // Peers still attached (a shutdown) get the last changes before the document goes.
    this.#fanOut.flush();
    this.#replica?.stop();
    this.#replica = undefined;
    this.#withdrawState?.();
    this.#withdrawState = undefined;
    this.awareness.off('update', this.#onAwarenessUpdate);
    // Destroying its doc destroys the awareness (and its check interval).
    this.awareness.doc.destroy();
    this.#body?.release();
    this.#peers.clear();
    this.#ctx.onClosed(this);
    this.#resolveClosed();
  }

  // --- fan-out ------------------------------------------------------------------------------

  #onDocUpdate = (update: Uint8Array, origin: unknown, _doc: Y.Doc, tr: Y.Transaction): void => {
    this.#body?.changed(update);
    this.#lastChange = this.#ctx.clock.now();
    this.#changes?.push(update);
    // The update holds the structs from the transaction's state before to its state after:
    // its end clock per client is the state after, for every client it advanced.
    const clocks = this.#changeClocks;
    if (clocks !== null) {
      for (const [client, clock] of tr.afterState) {
        if (clock !== (tr.beforeState.get(client) ?? 0) && clock > (clocks.get(client) ?? 0)) clocks.set(client, clock);
      }
    }
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
    return this.#body?.hasPending() ?? false;
  }

  #content(): DocBody {
    if (this.#body === undefined) throw new SkeinError('SKEIN_ERR_DOC_CLOSED', `document is ${this.state}`);
    return this.#body;
  }

  #expectWritable(): void {
    if (this.state !== 'active' && this.state !== 'idle') {
      throw new SkeinError('SKEIN_ERR_DOC_CLOSED', `document is ${this.state}`);
    }
  }
}

/** Decode the whole update once so a malformed one is refused before it touches the document. */
function validateUpdate(update: Uint8Array): ReturnType<typeof Y.decodeUpdate> {
  try {
    return Y.decodeUpdate(update);
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
