import * as Y from 'yjs';
import type { OutboxEntry, ReplicationOutbox } from '../documents/ports.js';
import { SkeinError } from '../errors/skein-error.js';
import type { Logger } from '../logging/logger.js';
import type { RedisLink } from './redis-link.js';
import type { SharedTier } from './shared-tier.js';

const BATCH = 512;
const RETRY_MS = 200;

interface Waiter {
  readonly seq: number;
  /** Which peek generation was current when the waiter registered. */
  readonly since: number;
  readonly resolve: () => void;
  readonly reject: (err: SkeinError) => void;
}

/**
 * Ships the store's replication outbox (`DocumentStore.outbox`, written in the same batch as
 * the log) to the shared tier, oldest first, one merged append per document per batch, and
 * removes entries only once Redis accepted them. Stops while the link is down (the link's
 * `onUp` kicks it again), retries a failed batch, and wakes whenever the store reports new
 * durable entries: nothing is dropped.
 */
export class TierShipper {
  readonly #outbox: ReplicationOutbox;
  readonly #tier: SharedTier;
  readonly #link: RedisLink;
  readonly #log: Logger;
  readonly #unsubscribe: () => void;
  #running: Promise<void> | undefined;
  #again = false;
  /** Incremented before every peek: a waiter registered before a peek is settled by it. */
  #generation = 0;
  #waiters: Waiter[] = [];
  #retry: NodeJS.Timeout | undefined;
  #closed = false;
  /** The last peek found nothing (the outbox's `size` may still count a record it cannot return). */
  #drained = false;

  constructor(outbox: ReplicationOutbox, tier: SharedTier, link: RedisLink, logger: Logger) {
    this.#outbox = outbox;
    this.#tier = tier;
    this.#link = link;
    this.#log = logger;
    this.#unsubscribe = outbox.onAppended(() => this.kick());
  }

  get pending(): number {
    return this.#outbox.size;
  }

  kick(): void {
    if (this.#closed) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#running = this.#run().finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        this.kick();
      }
    });
  }

  /**
   * Resolves once outbox entry `seq` — which must be durable when this is called (its append
   * resolved) — and every durable entry before it are in the shared tier. Rejects with
   * `SKEIN_ERR_SHUTTING_DOWN` if the shipper closes first.
   *
   * Seqs are allocated when a batch is built, so batches of different documents may land out
   * of seq order: "delivered" is therefore decided by the outbox itself — an entry durable
   * before a peek and older than the oldest entry that peek returned was removed, i.e.
   * shipped — never by a high-water mark of shipped seqs.
   */
  delivered(seq: number): Promise<void> {
    if (this.#closed) return Promise.reject(shuttingDown());
    const promise = new Promise<void>((resolve, reject) => {
      this.#waiters.push({ seq, since: this.#generation, resolve, reject });
    });
    this.kick();
    return promise;
  }

  /** Try to deliver what is left within `timeoutMs`, then stop. The outbox stays with the store. */
  async close(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed && this.#outbox.size > 0 && this.#link.up && Date.now() < deadline) {
      this.kick();
      const running = this.#running;
      if (running === undefined) break;
      await Promise.race([running, new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref())]);
      // Failing, or nothing left to read: what is left is delivered on the next start.
      if (this.#retry !== undefined || this.#drained) break;
    }
    this.#closed = true;
    this.#unsubscribe();
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    await this.#running;
    for (const w of this.#waiters) w.reject(shuttingDown());
    this.#waiters = [];
    if (this.#outbox.size > 0) {
      this.#log.warn({ outbox: this.#outbox.size }, 'cluster outbox not empty at shutdown: delivered on the next start');
    }
  }

  async #run(): Promise<void> {
    let step: 'store' | 'tier' = 'store';
    try {
      while (!this.#closed && this.#link.up) {
        step = 'store';
        const generation = ++this.#generation;
        const entries = await this.#outbox.peek(BATCH);
        this.#settle(generation, entries[0]?.seq ?? Number.POSITIVE_INFINITY);
        this.#drained = entries.length === 0;
        if (entries.length === 0) return;
        step = 'tier';
        for (const [name, updates] of groupByDoc(entries)) {
          await this.#tier.append(name, updates.length === 1 ? (updates[0] ?? new Uint8Array(0)) : Y.mergeUpdates(updates));
        }
        this.#link.reportSuccess();
        step = 'store';
        await this.#outbox.remove(entries.map((e) => e.seq));
      }
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      // A closed store ends shipping (what is left is on disk for the next start); a store
      // error is not a Redis failure and must not feed the link's breaker.
      if (step === 'store' && code === 'SKEIN_ERR_STORAGE_CLOSED') return;
      if (step === 'tier') this.#link.reportFailure(err);
      this.#log.debug({ step, code, err: err instanceof Error ? err.message : String(err) }, 'outbox delivery failed; retrying');
      if (!this.#closed && this.#retry === undefined) {
        this.#retry = setTimeout(() => {
          this.#retry = undefined;
          this.kick();
        }, RETRY_MS);
      }
    }
  }

  /** Waiters registered before peek `generation` whose entry is older than what it still found were shipped. */
  #settle(generation: number, oldest: number): void {
    if (this.#waiters.length === 0) return;
    const keep: Waiter[] = [];
    for (const w of this.#waiters) {
      if (w.since < generation && w.seq < oldest) w.resolve();
      else keep.push(w);
    }
    this.#waiters = keep;
  }
}

function groupByDoc(entries: readonly OutboxEntry[]): Map<string, Uint8Array[]> {
  const groups = new Map<string, Uint8Array[]>();
  for (const e of entries) {
    const list = groups.get(e.name);
    if (list === undefined) groups.set(e.name, [e.update]);
    else list.push(e.update);
  }
  return groups;
}

function shuttingDown(): SkeinError {
  return new SkeinError('SKEIN_ERR_SHUTTING_DOWN', 'the cluster node closed before the update reached the shared tier');
}
