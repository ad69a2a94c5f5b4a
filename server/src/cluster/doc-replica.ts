import { createHash } from 'node:crypto';
import * as Y from 'yjs';
import { SkeinError } from '../errors/skein-error.js';
import { applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness';
import type { Clock, TimerHandle } from '../clock/clock.js';
import { isOrigin } from '../documents/origins.js';
import type { DocumentReplica, ReplicaHost } from '../documents/ports.js';
import type { Logger } from '../logging/logger.js';
import { decodeAwarenessEntries } from './awareness-codec.js';
import {
  Kind, decodeSyncReply, decodeSyncRequest, encodeSyncReply, encodeSyncRequest, type Envelope,
} from './envelope.js';

export interface ReplicaContext {
  /** `nodeId#incarnation` of this node: the target of anti-entropy replies meant for it. */
  readonly nodeKey: string;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Publish on this document's channel; false when the link is down (dropped). */
  publish(kind: Kind, payload: Uint8Array): boolean;
  /** The replica stopped (the document left memory): forget it. */
  stopped?(replica: DocReplica): void;
  /** Anti-entropy healed a gap: a diff applied here (`received`) or sent to a peer (`sent`). Telemetry. */
  repaired?(direction: 'received' | 'sent'): void;
}

type ClusterSource = { readonly source: 'cluster'; readonly nodeId: string };

interface AwarenessChange {
  added: number[];
  updated: number[];
  removed: number[];
}

/**
 * The cluster side of one loaded document: publishes what this node accepted (the handle's
 * edit path calls `publish`), submits what other nodes publish to the handle (origin
 * `cluster`: fanned out locally, stored locally, never re-published), detects sequence gaps,
 * answers anti-entropy, and remembers which node controls which awareness client id (so a
 * dead node's cursors can be removed).
 */
export class DocReplica implements DocumentReplica {
  readonly handle: ReplicaHost;
  readonly #ctx: ReplicaContext;
  /** Sender node key (`nodeId#incarnation`) → last seq seen from it on this channel. */
  readonly #lastSeq = new Map<string, number>();
  /** Awareness client id → key of the node that controls it. */
  readonly #owners = new Map<number, string>();
  #syncTimer: TimerHandle | undefined;
  #stopped = false;
  /** This node's awareness clients changed in this turn, published together at its end. */
  readonly #presence = new Set<number>();
  #presenceFlush: TimerHandle | undefined;
  /** Loaded without the shared tier (Redis was down): merge it when Redis returns. */
  tierPending = false;
  /** When the next periodic anti-entropy round is due (ms epoch). */
  nextSyncAt = 0;

  constructor(handle: ReplicaHost, ctx: ReplicaContext) {
    this.handle = handle;
    this.#ctx = ctx;
  }

  /** Attach listeners, then merge what the shared tier returned (before any peer is answered). */
  start(remote: readonly Uint8Array[]): void {
    this.handle.awareness.on('update', this.#onAwarenessUpdate);
    if (remote.length > 0) this.#apply(Y.mergeUpdates([...remote]), this.#origin('tier'));
  }

  /** Merge shared-tier content read after the load (applied like any cluster change). */
  mergeRemote(parts: readonly Uint8Array[]): void {
    if (!this.#stopped && parts.length > 0) this.#apply(Y.mergeUpdates([...parts]), this.#origin('tier'));
  }

  /** A change this node accepted: publish it to the other nodes. */
  publish(change: Uint8Array): void {
    if (!this.#stopped) this.#ctx.publish(Kind.Update, change);
  }

  stop(): void {
    if (this.#stopped) return;
    // Presence changes of this turn (e.g. the last peer's cursor removed) still reach the others.
    this.#publishPresence();
    this.#stopped = true;
    if (this.#syncTimer !== undefined) this.#ctx.clock.clearTimeout(this.#syncTimer);
    this.#syncTimer = undefined;
    this.handle.awareness.off('update', this.#onAwarenessUpdate);
    this.#ctx.stopped?.(this);
  }

  /** Publish a state-vector request now (anti-entropy round). */
  requestSync(): void {
    if (this.#stopped) return;
    this.#ctx.publish(Kind.SyncRequest, encodeSyncRequest({ stateVector: this.handle.stateVector(), digest: this.#digest() }));
  }

  /** Coalesce anti-entropy requests (gaps arrive in bursts). */
  scheduleSync(delayMs = 20): void {
    if (this.#syncTimer !== undefined || this.#stopped) return;
    this.#syncTimer = this.#ctx.clock.setTimeout(() => {
      this.#syncTimer = undefined;
      this.requestSync();
    }, delayMs);
  }

  /** Publish the awareness states of this node's own clients (after (re)subscribing). */
  publishLocalAwareness(): void {
    const ids = [...this.handle.awareness.getStates().keys()].filter((id) => !this.#owners.has(id));
    if (ids.length > 0) this.#ctx.publish(Kind.Awareness, encodeAwarenessUpdate(this.handle.awareness, ids));
  }

  /** The node `key` is gone: drop the awareness states it controlled (broadcast to local peers). */
  removeNode(key: string): number {
    const ids = [...this.#owners].filter(([, owner]) => owner === key).map(([id]) => id);
    for (const id of ids) this.#owners.delete(id);
    if (ids.length > 0) removeAwarenessStates(this.handle.awareness, ids, this.#origin(key));
    return ids.length;
  }

  /** Forget sequence tracking of every sender (after our own link was down: gaps are expected). */
  resetSequences(): void {
    this.#lastSeq.clear();
  }

  receive(env: Envelope, senderKey: string): void {
    if (this.#stopped) return;
    this.#trackSeq(env, senderKey);
    const origin = this.#origin(env.nodeId);
    switch (env.kind) {
      case Kind.Update:
        this.#apply(env.payload, origin);
        return;
      case Kind.Awareness:
        this.#applyAwareness(env.payload, senderKey, origin);
        return;
      case Kind.SyncRequest:
        this.#answerSync(env);
        return;
      case Kind.SyncReply:
        this.#onSyncReply(env);
        return;
      case Kind.AwarenessQuery:
        this.publishLocalAwareness();
        return;
      case Kind.Heartbeat:
      case Kind.Leave:
        return;
      default: {
        const never: never = env.kind;
        throw new Error(`unhandled kind ${String(never)}`);
      }
    }
  }

  // ---------------------------------------------------------------------------------------

  #trackSeq(env: Envelope, senderKey: string): void {
    const last = this.#lastSeq.get(senderKey);
    this.#lastSeq.set(senderKey, env.seq);
    // A jump means we missed envelopes of this sender: heal by anti-entropy. (A lower seq
    // means the sender reloaded the document and restarted its count: nothing missed.)
    if (last !== undefined && env.seq > last + 1) {
      this.#ctx.logger.debug({ doc: this.handle.name, from: senderKey, missed: env.seq - last - 1 }, 'cluster sequence gap');
      this.scheduleSync();
    }
  }

  #answerSync(env: Envelope): void {
    const req = decodeSyncRequest(env.payload);
    const doc = this.handle.doc;
    const mine = Y.encodeStateVector(doc);
    const digest = this.#digest();
    const theyLack = hasMore(mine, req.stateVector) || !sameBytes(digest, req.digest);
    const weLack = hasMore(req.stateVector, mine);
    if (!theyLack && !weLack) return;
    const diff = theyLack ? Y.encodeStateAsUpdate(doc, req.stateVector) : new Uint8Array(0);
    if (theyLack) this.#ctx.repaired?.('sent');
    this.#ctx.publish(Kind.SyncReply, encodeSyncReply({ target: `${env.nodeId}#${env.incarnation}`, diff, stateVector: mine, digest }));
  }

  #onSyncReply(env: Envelope): void {
    const reply = decodeSyncReply(env.payload);
    if (reply.diff.byteLength > 0) {
      this.#apply(reply.diff, this.#origin(env.nodeId));
      this.#ctx.repaired?.('received');
    }
    if (reply.target !== this.#ctx.nodeKey) return;
    // The replier lacks something we hold: send it (as an update every node may use).
    const doc = this.handle.doc;
    if (hasMore(Y.encodeStateVector(doc), reply.stateVector) || !sameBytes(this.#digest(), reply.digest)) {
      this.#ctx.repaired?.('sent');
      this.#ctx.publish(Kind.Update, Y.encodeStateAsUpdate(doc, reply.stateVector));
    }
  }

  /**
   * Through the document's edit path, like any writer. Best effort: this node's store is a
   * cache of the cluster's state (the accepting node and the shared tier hold it durably), and
   * a refused or failed change comes back with the next anti-entropy round.
   */
  #apply(update: Uint8Array, origin: ClusterSource): void {
    const failed = (err: unknown): void => {
      const code = err instanceof SkeinError ? err.code : 'SKEIN_ERR_CLUSTER_ENVELOPE';
      this.#ctx.logger.warn({ code, doc: this.handle.name, err: err instanceof Error ? err.message : String(err) }, 'cluster update not applied');
    };
    try {
      this.handle.submit(update, origin).catch((err: unknown) => {
        if (!(err instanceof SkeinError && err.code === 'SKEIN_ERR_STORAGE_WRITE')) failed(err);
      });
    } catch (err) {
      failed(err);
    }
  }

  #applyAwareness(update: Uint8Array, senderKey: string, origin: ClusterSource): void {
    try {
      for (const { clientId: id, removed } of decodeAwarenessEntries(update)) {
        if (removed) this.#owners.delete(id);
        else this.#owners.set(id, senderKey);
      }
      applyAwarenessUpdate(this.handle.awareness, update, origin);
    } catch (err) {
      this.#ctx.logger.warn({ code: 'SKEIN_ERR_CLUSTER_ENVELOPE', doc: this.handle.name, err: err instanceof Error ? err.message : String(err) }, 'cluster awareness could not be applied');
    }
  }

  #onAwarenessUpdate = ({ added, updated, removed }: AwarenessChange, origin: unknown): void => {
    if (isOrigin(origin) && origin.source === 'cluster') return;
    const ids = [...added, ...updated, ...removed].filter((id) => !this.#owners.has(id));
    if (ids.length === 0 || this.#stopped) return;
    // Batched like the local fan-out: this node's presence changes of one turn go to the
    // other nodes as one message, each client's latest state.
    for (const id of ids) this.#presence.add(id);
    this.#presenceFlush ??= this.#ctx.clock.defer(() => this.#publishPresence());
  };

  #publishPresence(): void {
    if (this.#presenceFlush !== undefined) this.#ctx.clock.cancelDefer(this.#presenceFlush);
    this.#presenceFlush = undefined;
    if (this.#presence.size === 0 || this.#stopped) return;
    const ids = [...this.#presence];
    this.#presence.clear();
    this.#ctx.publish(Kind.Awareness, encodeAwarenessUpdate(this.handle.awareness, ids));
  }

  #origin(nodeId: string): ClusterSource {
    return { source: 'cluster', nodeId };
  }

  /** Digest of the delete set (state vectors do not reflect deletions). */
  #digest(): Uint8Array {
    const doc = this.handle.doc;
    const deletes = Y.encodeStateAsUpdate(doc, Y.encodeStateVector(doc));
    return createHash('sha1').update(deletes).digest().subarray(0, 8);
  }
}

/** True when state vector `a` has some client ahead of `b`. */
function hasMore(a: Uint8Array, b: Uint8Array): boolean {
  const sa = Y.decodeStateVector(a);
  const sb = Y.decodeStateVector(b);
  for (const [client, clock] of sa) if (clock > (sb.get(client) ?? 0)) return true;
  return false;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, i) => v === b[i]);
}
