import * as Y from 'yjs';
import type { Logger } from '../logging/logger.js';
import type { Outbox, OutboxEntry } from './outbox.js';
import type { RedisLink } from './redis-link.js';
import type { SharedTier } from './shared-tier.js';

const BATCH = 512;
const RETRY_MS = 200;

/**
 * Moves outbox entries to the shared tier, oldest first, one merged append per document per
 * batch, and removes them only once Redis accepted them. Stops while the link is down (the
 * link's `onUp` kicks it again) and retries a failed batch: nothing is dropped.
 * `delivered(seq)` resolves once entry `seq` is in the tier (the `cluster` ack policy).
 */
export class OutboxDrainer {
  readonly #outbox: Outbox;
  readonly #tier: SharedTier;
  readonly #link: RedisLink;
  readonly #log: Logger;
  #running: Promise<void> | undefined;
  #again = false;
  #deliveredThrough = 0;
  #waiters: { seq: number; resolve: () => void }[] = [];
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(outbox: Outbox, tier: SharedTier, link: RedisLink, logger: Logger) {
    this.#outbox = outbox;
    this.#tier = tier;
    this.#link = link;
    this.#log = logger;
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

  /** Resolves once outbox entry `seq` (and every one before it) is in the shared tier. */
  delivered(seq: number): Promise<void> {
    if (seq <= this.#deliveredThrough) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ seq, resolve }));
  }

  /** Try to deliver what is left within `timeoutMs`, then stop. */
  async close(timeoutMs: number): Promise<void> {
    if (this.#outbox.size > 0 && this.#link.up) {
      this.kick();
      const deadline = Date.now() + timeoutMs;
      while (this.#outbox.size > 0 && this.#link.up && Date.now() < deadline) {
        await (this.#running ?? new Promise((r) => setTimeout(r, 20)));
      }
    }
    this.#closed = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    await this.#running;
    if (this.#outbox.size > 0) {
      this.#log.warn({ outbox: this.#outbox.size }, 'cluster outbox not empty at shutdown: delivered on the next start');
    }
  }

  async #run(): Promise<void> {
    try {
      while (!this.#closed && this.#link.up) {
        const entries = await this.#outbox.peek(BATCH);
        if (entries.length === 0) return;
        for (const [name, updates] of groupByDoc(entries)) {
          await this.#tier.append(name, updates.length === 1 ? (updates[0] ?? new Uint8Array(0)) : Y.mergeUpdates(updates));
        }
        this.#link.reportSuccess();
        await this.#outbox.remove(entries.map((e) => e.seq));
        this.#markDelivered(entries[entries.length - 1]?.seq ?? 0);
      }
    } catch (err) {
      this.#link.reportFailure(err);
      this.#log.debug({ err: err instanceof Error ? err.message : String(err) }, 'outbox delivery failed; retrying');
      if (!this.#closed && this.#retry === undefined) {
        this.#retry = setTimeout(() => {
          this.#retry = undefined;
          this.kick();
        }, RETRY_MS);
      }
    }
  }

  #markDelivered(seq: number): void {
    if (seq <= this.#deliveredThrough) return;
    this.#deliveredThrough = seq;
    const due = this.#waiters.filter((w) => w.seq <= seq);
    this.#waiters = this.#waiters.filter((w) => w.seq > seq);
    for (const w of due) w.resolve();
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
