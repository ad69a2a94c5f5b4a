import { randomInt } from 'node:crypto';
import { systemClock, type Clock, type TimerHandle } from '../clock/clock.js';
import type { AckPolicy, DocumentReplica, ReplicaHost, ReplicationOutbox, Replicator } from '../documents/ports.js';
import type { Logger } from '../logging/logger.js';
import { NO_CLUSTER_PROBES, type ClusterProbes } from './probes.js';
import { DocReplica } from './doc-replica.js';
import { KIND_NAMES, Kind, decodeEnvelope, encodeEnvelope, encodeHeartbeat, type Envelope } from './envelope.js';
import { NODES_CHANNEL, docKeys, docNameOfChannel } from './keys.js';
import { RedisLink, type LinkStatus, type RedisTarget } from './redis-link.js';
import { SharedTier } from './shared-tier.js';
import { TierShipper } from './tier-shipper.js';

export type { AckPolicy } from '../documents/ports.js';

export interface ClusterOptions {
  readonly nodeId: string;
  readonly target: RedisTarget;
  readonly ackPolicy: AckPolicy;
  readonly heartbeatMs: number;
  /** A node silent this long is dead: its clients' awareness states are removed. */
  readonly nodeTimeoutMs: number;
  /** Period of anti-entropy rounds per loaded document. */
  readonly antiEntropyMs: number;
  /** Cap of the Redis reconnect / circuit-breaker backoff. */
  readonly maxBackoffMs: number;
  readonly commandTimeoutMs?: number;
  /**
   * The store's replication outbox (`DocumentStore.outbox`): updates appended with
   * `replicate: true`, written in the same batch as the log. The store owns and closes it.
   */
  readonly outbox: ReplicationOutbox;
  readonly logger: Logger;
  /** Spans (trace context carried in the envelope) and metrics; docs/observability.md. */
  readonly telemetry?: ClusterProbes;
  /** Time source of heartbeats, node timeouts and anti-entropy (default: the real clock). */
  readonly clock?: Clock;
}

export interface ClusterHealth {
  readonly status: 'ok' | 'degraded';
  readonly reasons: readonly string[];
  readonly link: LinkStatus;
  /** Live other nodes (heard from within the node timeout). */
  readonly nodes: number;
  readonly outbox: number;
}

/**
 * One node of a Skein cluster: Redis fan-out of updates and awareness per loaded document,
 * anti-entropy (on load, after every (re)subscribe, on sequence gaps, periodically),
 * node heartbeats (a dead node's cursors go within `nodeTimeoutMs`), and the shared durable
 * tier fed through the on-disk outbox. See docs/cluster.md.
 */
export class Cluster implements Replicator {
  readonly nodeId: string;
  readonly #incarnation = randomInt(1, 2 ** 31);
  readonly #nodeKey: string;
  readonly #opts: ClusterOptions;
  readonly #log: Logger;
  readonly #link: RedisLink;
  readonly #tier: SharedTier;
  readonly #shipper: TierShipper;
  readonly #replicas = new Map<string, DocReplica>();
  readonly #seqs = new Map<string, number>();
  /** Other nodes (`nodeId#incarnation`) → when last heard from. */
  readonly #nodes = new Map<string, number>();
  /** Documents whose load could not read the shared tier (Redis down): read it when Redis returns. */
  readonly #tierMissed = new Set<string>();
  #linkUpAt = 0;
  #lastHeartbeat = 0;
  #tick: TimerHandle | undefined;
  readonly #clock: Clock;
  #closed = false;
  readonly #tel: ClusterProbes;

  private constructor(options: ClusterOptions) {
    this.#opts = options;
    this.#clock = options.clock ?? systemClock;
    this.nodeId = options.nodeId;
    this.#nodeKey = `${options.nodeId}#${this.#incarnation}`;
    this.#log = options.logger.child({ node: options.nodeId });
    this.#tel = options.telemetry ?? NO_CLUSTER_PROBES;
    this.#link = new RedisLink({
      target: options.target,
      logger: this.#log,
      maxBackoffMs: options.maxBackoffMs,
      commandTimeoutMs: options.commandTimeoutMs ?? 2_000,
      clock: this.#clock,
      onMessage: (channel, message) => this.#onMessage(channel, message),
      onUp: (info) => this.#onUp(info.restarted),
      onDown: () => undefined,
    });
    this.#tier = new SharedTier(this.#link, this.#log);
    this.#shipper = new TierShipper(options.outbox, this.#tier, this.#link, this.#log);
  }

  /** Start connecting (never waits for Redis: it may be down); ship what the outbox holds once up. */
  static start(options: ClusterOptions): Promise<Cluster> {
    const cluster = new Cluster(options);
    cluster.#link.subscribe(NODES_CHANNEL).catch(() => undefined);
    cluster.#link.start();
    const tickMs = Math.max(50, Math.floor(Math.min(options.heartbeatMs, options.nodeTimeoutMs) / 4));
    cluster.#tick = cluster.#clock.setInterval(() => cluster.#onTick(), tickMs);
    cluster.#log.info({ incarnation: cluster.#incarnation, ack: options.ackPolicy, mode: options.target.mode, outbox: options.outbox.size }, 'cluster node started');
    return Promise.resolve(cluster);
  }

  // --- Replicator ------------------------------------------------------------------------

  get ackPolicy(): AckPolicy {
    return this.#opts.ackPolicy;
  }

  async fetchRemote(name: string): Promise<readonly Uint8Array[]> {
    if (!this.#link.up) {
      this.#tierMissed.add(name);
      return [];
    }
    try {
      const parts = await this.#tier.load(name);
      this.#link.reportSuccess();
      return parts;
    } catch (err) {
      this.#link.reportFailure(err);
      this.#tierMissed.add(name);
      this.#log.warn({ code: 'SKEIN_ERR_CLUSTER_UNAVAILABLE', doc: name, err: errMessage(err) }, 'shared tier unreadable: loading from the local store alone');
      return [];
    }
  }

  attach(handle: ReplicaHost, remote: readonly Uint8Array[]): DocumentReplica {
    const name = handle.name;
    const channel = docKeys(name).channel;
    const replica = new DocReplica(handle, {
      nodeKey: this.#nodeKey,
      logger: this.#log,
      clock: this.#clock,
      publish: (kind, payload) => this.#publish(name, channel, kind, payload),
      repaired: (direction) => this.#tel.antiEntropyRepair(direction),
      stopped: (r) => this.#forget(name, r),
    });
    replica.start(remote);
    replica.tierPending = this.#tierMissed.delete(name);
    // The link may have come up while this document loaded (after its tier read was skipped).
    if (replica.tierPending && this.#link.up) this.#readTierLate(name, replica);
    replica.nextSyncAt = this.#clock.now() + this.#jitter(this.#opts.antiEntropyMs);
    this.#replicas.set(name, replica);
    // After subscribing: ask live peers for what we lack, and for their cursors.
    void this.#link.subscribe(channel).then((subscribed) => {
      if (!subscribed || this.#replicas.get(name) !== replica) return;
      replica.requestSync();
      this.#publish(name, channel, Kind.AwarenessQuery, new Uint8Array(0));
    });
    return replica;
  }

  /**
   * Resolves when outbox entry `outboxSeq` (durable: its append resolved) and every durable
   * entry before it are in the shared tier. Rejects with `SKEIN_ERR_SHUTTING_DOWN` if the
   * node closes first.
   */
  delivered(outboxSeq: number): Promise<void> {
    return this.#shipper.delivered(outboxSeq);
  }

  /** A replica stopped (its document left memory): unsubscribe. */
  #forget(name: string, replica: DocReplica): void {
    if (this.#replicas.get(name) !== replica) return;
    this.#replicas.delete(name);
    this.#tierMissed.delete(name);
    this.#seqs.delete(name);
    this.#link.unsubscribe(docKeys(name).channel);
  }

  // --- status --------------------------------------------------------------------------------

  health(): ClusterHealth {
    const link = this.#link.status();
    const reasons: string[] = [];
    if (link.state !== 'up') {
      reasons.push(`redis ${link.state} since ${new Date(link.since).toISOString()} (breaker ${link.breaker}${link.lastError === null ? '' : `: ${link.lastError}`}); local editing continues, other nodes' edits arrive when it returns`);
    }
    const outbox = this.#shipper.pending;
    if (outbox > 0 && link.state !== 'up') reasons.push(`${outbox} updates queued for the shared tier`);
    return { status: reasons.length === 0 ? 'ok' : 'degraded', reasons, link, nodes: this.#nodes.size, outbox };
  }

  /**
   * Announce leaving, deliver what the outbox holds (bounded), disconnect. Call it before
   * closing the store: the outbox is the store's.
   */
  async close(timeoutMs = 2_000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#tick !== undefined) this.#clock.clearInterval(this.#tick);
    for (const replica of [...this.#replicas.values()]) replica.stop();
    this.#replicas.clear();
    this.#publishNodes(Kind.Leave, new Uint8Array(0));
    await this.#shipper.close(timeoutMs);
    await this.#link.close();
  }

  // ---------------------------------------------------------------------------------------

  #publish(name: string, channel: string, kind: Kind, payload: Uint8Array): boolean {
    const seq = (this.#seqs.get(name) ?? 0) + 1;
    this.#seqs.set(name, seq);
    // A PRODUCER span (child of the change's span) whose context travels in the envelope.
    return this.#tel.clusterPublish(name, KIND_NAMES[kind], payload.byteLength, (traceparent) =>
      this.#link.publish(channel, this.#envelope(kind, seq, payload, traceparent)),
    );
  }

  #nodesSeq = 0;
  #publishNodes(kind: Kind, payload: Uint8Array): void {
    this.#link.publish(NODES_CHANNEL, this.#envelope(kind, ++this.#nodesSeq, payload));
  }

  #envelope(kind: Kind, seq: number, payload: Uint8Array, traceparent = ''): Uint8Array {
    return encodeEnvelope({ kind, nodeId: this.nodeId, incarnation: this.#incarnation, seq, traceparent, payload });
  }

  #onMessage(channel: string, message: Uint8Array): void {
    let env: Envelope;
    try {
      env = decodeEnvelope(message);
    } catch (err) {
      this.#log.warn({ code: 'SKEIN_ERR_CLUSTER_ENVELOPE', channel, err: errMessage(err) }, 'dropped a malformed cluster message');
      return;
    }
    const key = `${env.nodeId}#${env.incarnation}`;
    if (key === this.#nodeKey) return; // our own publish
    if (env.kind === Kind.Leave) return this.#nodeGone(key, 'left');
    this.#seen(env.nodeId, key);
    if (channel === NODES_CHANNEL) return;
    const name = docNameOfChannel(channel);
    const replica = name === undefined ? undefined : this.#replicas.get(name);
    try {
      // A CONSUMER span, child of the sender's PRODUCER span (the envelope's traceparent).
      if (replica !== undefined) this.#tel.clusterProcess(env.traceparent, name, KIND_NAMES[env.kind], env.payload.byteLength, () => replica.receive(env, key));
    } catch (err) {
      this.#log.warn({ code: 'SKEIN_ERR_CLUSTER_ENVELOPE', doc: name, err: errMessage(err) }, 'dropped a malformed cluster message');
    }
  }

  #seen(nodeId: string, key: string): void {
    if (!this.#nodes.has(key)) {
      // A new incarnation of a known node id: the old one is gone (it restarted).
      for (const other of this.#nodes.keys()) {
        if (other.startsWith(`${nodeId}#`) && other !== key) this.#nodeGone(other, 'restarted');
      }
      this.#log.info({ peer: key }, 'cluster node joined');
    }
    this.#nodes.set(key, this.#clock.now());
  }

  #nodeGone(key: string, why: 'left' | 'timeout' | 'restarted'): void {
    this.#nodes.delete(key);
    let removed = 0;
    for (const replica of this.#replicas.values()) removed += replica.removeNode(key);
    this.#log.info({ peer: key, why, awarenessRemoved: removed }, 'cluster node gone');
  }

  #onUp(restarted: boolean): void {
    this.#linkUpAt = this.#clock.now();
    this.#publishNodes(Kind.Heartbeat, encodeHeartbeat(this.#opts.heartbeatMs));
    this.#lastHeartbeat = this.#clock.now();
    for (const [name, replica] of this.#replicas) {
      // Whatever was published while we were away is lost to us: anti-entropy for everything.
      replica.resetSequences();
      replica.requestSync();
      replica.publishLocalAwareness();
      this.#publish(name, docKeys(name).channel, Kind.AwarenessQuery, new Uint8Array(0));
      // A restarted Redis lost the shared tier (unless it persists): re-seed what we hold.
      if (replica.tierPending) this.#readTierLate(name, replica);
      if (restarted) replica.handle.replicateAll().catch(() => undefined);
    }
    this.#shipper.kick();
  }

  /** Merge the shared tier into a document loaded while Redis was unreachable. */
  #readTierLate(name: string, replica: DocReplica): void {
    this.#tier.load(name).then(
      (parts) => {
        replica.tierPending = false;
        if (this.#replicas.get(name) === replica) replica.mergeRemote(parts);
      },
      (err: unknown) => this.#link.reportFailure(err),
    );
  }

  #onTick(): void {
    if (this.#closed || !this.#link.up) return;
    const now = this.#clock.now();
    if (now - this.#lastHeartbeat >= this.#opts.heartbeatMs) {
      this.#lastHeartbeat = now;
      this.#publishNodes(Kind.Heartbeat, encodeHeartbeat(this.#opts.heartbeatMs));
    }
    for (const [key, at] of this.#nodes) {
      if (now - Math.max(at, this.#linkUpAt) > this.#opts.nodeTimeoutMs) this.#nodeGone(key, 'timeout');
    }
    for (const replica of this.#replicas.values()) {
      if (replica.nextSyncAt > now) continue;
      replica.nextSyncAt = now + this.#jitter(this.#opts.antiEntropyMs);
      replica.requestSync();
    }
  }

  #jitter(ms: number): number {
    return Math.round(ms * (0.75 + Math.random() * 0.5));
  }
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
