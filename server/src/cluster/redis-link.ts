import { createRequire } from 'node:module';
import type * as IORedis from 'ioredis';
import type { Cluster, Redis, ClusterNode } from 'ioredis';
import { systemClock, type Clock, type TimerHandle } from '../clock/clock.js';
import type { Logger } from '../logging/logger.js';
import { CircuitBreaker, type BreakerState } from './circuit-breaker.js';

export type RedisTarget =
  | { readonly mode: 'standalone'; readonly url: string }
  | { readonly mode: 'cluster'; readonly nodes: readonly { readonly host: string; readonly port: number }[] };

export interface RedisLinkOptions {
  readonly target: RedisTarget;
  readonly logger: Logger;
  /** Cap of the reconnect / probe backoff. */
  readonly maxBackoffMs: number;
  /** Bound of one Redis command. */
  readonly commandTimeoutMs: number;
  /** Time source of the breaker and its probes (default: the real clock). */
  readonly clock?: Clock;
  onMessage(channel: string, message: Uint8Array): void;
  /** The link is (again) usable and every channel is subscribed. `restarted`: Redis lost its data meanwhile. */
  onUp(info: { readonly restarted: boolean; readonly downMs: number }): void;
  onDown(reason: string): void;
}

export type Commands = Redis | Cluster;

const require = createRequire(import.meta.url);
let ioredis: typeof IORedis | undefined;
/** ioredis, loaded on first use: a node without Redis never loads it (about 20 MB of RSS). */
const loadIoredis = (): typeof IORedis => (ioredis ??= require('ioredis') as typeof IORedis);

export interface LinkStatus {
  readonly state: 'connecting' | 'up' | 'down' | 'closed';
  readonly breaker: BreakerState;
  readonly since: number;
  readonly lastError: string | null;
}

/**
 * The connection to Redis (a standalone server or a Redis Cluster) and its circuit breaker.
 *
 * Standalone: one command connection and one subscriber connection (PUBLISH/SUBSCRIBE).
 * Cluster: one ioredis Cluster with sharded subscribers (SPUBLISH/SSUBSCRIBE; a document's
 * channel lives on the shard of its keys).
 *
 * ioredis reconnects dropped connections with capped exponential backoff; commands never
 * queue while disconnected (they fail fast). Command failures feed the breaker: when it
 * opens, callers see `up === false` and skip Redis entirely; a probe (PING) after the
 * backoff closes it again. Every time the link comes (back) up the link resubscribes every
 * channel *before* `onUp`, so the owner can run anti-entropy knowing it hears everything.
 */
export class RedisLink {
  readonly #opts: RedisLinkOptions;
  readonly #log: Logger;
  readonly #cmd: Commands;
  readonly #sub: Redis | undefined;
  readonly #channels = new Set<string>();
  readonly #breaker: CircuitBreaker;
  #state: LinkStatus['state'] = 'connecting';
  readonly #clock: Clock;
  #since: number;
  #lastError: string | null = null;
  #runId: string | undefined;
  #probing = false;
  #probeTimer: TimerHandle | undefined;

  constructor(options: RedisLinkOptions) {
    this.#opts = options;
    this.#log = options.logger;
    this.#clock = options.clock ?? systemClock;
    this.#since = this.#clock.now();
    const clock = this.#clock;
    this.#breaker = new CircuitBreaker({ failureThreshold: 3, initialBackoffMs: 100, maxBackoffMs: options.maxBackoffMs, now: () => clock.now() });
    const retry = (times: number): number => Math.min(options.maxBackoffMs, 50 * 2 ** Math.min(times, 10));
    const base = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: Math.max(1000, options.commandTimeoutMs),
      autoResubscribe: false,
    };
    const target = options.target;
    const { Redis, Cluster } = loadIoredis();
    if (target.mode === 'standalone') {
      this.#cmd = new Redis(target.url, { ...base, retryStrategy: retry, connectionName: 'skein-cmd' });
      this.#sub = new Redis(target.url, { ...base, retryStrategy: retry, connectionName: 'skein-sub' });
      this.#sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.#deliver(channel, message));
    } else {
      const nodes: ClusterNode[] = target.nodes.map((n) => ({ host: n.host, port: n.port }));
      this.#cmd = new Cluster(nodes, {
        lazyConnect: true,
        enableOfflineQueue: false,
        shardedSubscribers: true,
        clusterRetryStrategy: retry,
        slotsRefreshTimeout: Math.max(1000, options.commandTimeoutMs),
        redisOptions: { ...base, autoResubscribe: true },
      });
      this.#sub = undefined;
      this.#cmd.on('smessageBuffer', (channel: Buffer, message: Buffer) => this.#deliver(channel, message));
    }
    for (const conn of this.#connections()) {
      conn.on('error', (err: Error) => this.#noteError(err));
      conn.on('close', () => this.#connectionLost('connection closed'));
      conn.on('end', () => this.#connectionLost('connection ended'));
      // A fresh connection is evidence enough: probe at once, whatever the breaker's backoff.
      conn.on('ready', () => this.#probeNow());
    }
  }

  /** Start connecting; never throws (an unreachable Redis is a degraded state, not an error). */
  start(): void {
    for (const conn of this.#connections()) conn.connect().catch((err: unknown) => this.#noteError(err));
  }

  get up(): boolean {
    return this.#state === 'up';
  }

  get commands(): Commands {
    return this.#cmd;
  }

  status(): LinkStatus {
    return { state: this.#state, breaker: this.#breaker.state, since: this.#since, lastError: this.#lastError };
  }

  /** Subscribe now when up; otherwise on the next (re)connect. */
  async subscribe(channel: string): Promise<boolean> {
    this.#channels.add(channel);
    if (!this.up) return false;
    try {
      await this.#subscribeAll([channel]);
      return true;
    } catch (err) {
      this.reportFailure(err);
      return false;
    }
  }

  unsubscribe(channel: string): void {
    if (!this.#channels.delete(channel) || !this.up) return;
    void this.#unsubscribeAll([channel]);
  }

  async #unsubscribeAll(channels: readonly string[]): Promise<void> {
    try {
      if (this.#sub !== undefined) await this.#sub.unsubscribe(...channels);
      else await Promise.all(channels.map((c) => this.#cmd.sunsubscribe(c)));
    } catch (err) {
      this.#noteError(err);
    }
  }

  /** Fire and forget. False when the link is down (the message is dropped; anti-entropy heals). */
  publish(channel: string, message: Uint8Array): boolean {
    if (!this.up) return false;
    const buf = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
    const sent = this.#sub !== undefined ? this.#cmd.publish(channel, buf) : this.#cmd.spublish(channel, buf);
    sent.then(() => this.reportSuccess(), (err: unknown) => this.reportFailure(err));
    return true;
  }

  reportSuccess(): void {
    if (this.#breaker.state === 'closed') this.#breaker.success();
  }

  /** A command failed: feeds the breaker; an opened breaker takes the link down. */
  reportFailure(err: unknown): void {
    this.#noteError(err);
    if (this.#breaker.failure()) this.#goDown(`commands failing: ${this.#lastError ?? 'error'}`);
  }

  async close(): Promise<void> {
    this.#state = 'closed';
    if (this.#probeTimer !== undefined) this.#clock.clearTimeout(this.#probeTimer);
    await Promise.all(this.#connections().map((c) => c.quit().catch(() => c.disconnect())));
  }

  // ---------------------------------------------------------------------------------------

  #connections(): Commands[] {
    return this.#sub === undefined ? [this.#cmd] : [this.#cmd, this.#sub];
  }

  #deliver(channel: Buffer, message: Buffer): void {
    this.#opts.onMessage(channel.toString('utf8'), new Uint8Array(message.buffer, message.byteOffset, message.byteLength));
  }

  #noteError(err: unknown): void {
    this.#lastError = err instanceof Error ? err.message : String(err);
  }

  #connectionLost(reason: string): void {
    if (this.#state === 'closed') return;
    this.#breaker.trip();
    this.#goDown(this.#lastError === null ? reason : `${reason}: ${this.#lastError}`);
  }

  #goDown(reason: string): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'up') {
      this.#state = 'down';
      this.#since = this.#clock.now();
      this.#log.warn({ code: 'SKEIN_ERR_CLUSTER_UNAVAILABLE', reason }, 'redis unavailable: cluster degraded (local editing continues)');
      this.#opts.onDown(reason);
    } else if (this.#state === 'connecting') {
      this.#state = 'down';
    }
    this.#scheduleProbe(this.#breaker.retryInMs);
  }

  #probeNow(): void {
    if (this.#probeTimer !== undefined) this.#clock.clearTimeout(this.#probeTimer);
    this.#probeTimer = undefined;
    void this.#probe(true);
  }

  #scheduleProbe(delayMs: number): void {
    if (this.#state === 'closed' || this.#state === 'up' || this.#probeTimer !== undefined) return;
    this.#probeTimer = this.#clock.setTimeout(() => {
      this.#probeTimer = undefined;
      void this.#probe();
    }, delayMs);
  }

  /** PING (and, standalone, detect a Redis restart), resubscribe everything, then go up. */
  async #probe(force = false): Promise<void> {
    if (this.#probing || this.#state === 'up' || this.#state === 'closed') return;
    if (!this.#connections().every((c) => c.status === 'ready')) return; // 'ready' will probe
    if (!force && !this.#breaker.allow()) return this.#scheduleProbe(this.#breaker.retryInMs);
    this.#probing = true;
    try {
      await this.#cmd.ping();
      const runId = this.#sub === undefined ? undefined : await this.#standaloneRunId();
      // Channels added while we subscribe are subscribed too, before the link counts as up
      // (a `subscribe` call in the meantime saw the link down and left the work to us).
      const done = new Set<string>();
      for (;;) {
        const todo = [...this.#channels].filter((c) => !done.has(c));
        if (todo.length === 0) break;
        await this.#subscribeAll(todo);
        for (const c of todo) done.add(c);
      }
      const dropped = [...done].filter((c) => !this.#channels.has(c));
      if (dropped.length > 0) void this.#unsubscribeAll(dropped);
      this.#breaker.success();
      const restarted = this.#runId !== undefined && runId !== undefined && runId !== this.#runId;
      if (runId !== undefined) this.#runId = runId;
      const downMs = this.#clock.now() - this.#since;
      const wasDown = this.#state === 'down';
      this.#state = 'up';
      this.#since = this.#clock.now();
      this.#lastError = null;
      this.#log[wasDown ? 'warn' : 'info']({ downMs: wasDown ? downMs : undefined, restarted, channels: this.#channels.size }, 'redis available: cluster link up');
      this.#opts.onUp({ restarted, downMs: wasDown ? downMs : 0 });
    } catch (err) {
      this.#noteError(err);
      this.#breaker.failure();
      if (this.#state === 'connecting') this.#state = 'down';
      this.#scheduleProbe(Math.max(50, this.#breaker.retryInMs));
    } finally {
      this.#probing = false;
    }
  }

  async #standaloneRunId(): Promise<string | undefined> {
    const info = await this.#cmd.info('server');
    return /run_id:([0-9a-f]+)/.exec(info)?.[1];
  }

  async #subscribeAll(channels: readonly string[]): Promise<void> {
    if (channels.length === 0) return;
    if (this.#sub !== undefined) {
      await this.#sub.subscribe(...channels);
      return;
    }
    // Sharded channels must be subscribed per shard: one call per channel.
    await Promise.all(channels.map((c) => this.#cmd.ssubscribe(c)));
  }
}
