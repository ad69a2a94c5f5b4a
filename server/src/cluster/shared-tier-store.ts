import * as Y from 'yjs';
import type { AppendOptions, AppendResult, DocumentStore } from '../documents/ports.js';
import { SkeinError } from '../errors/skein-error.js';
import type { Logger } from '../logging/logger.js';
import { RedisLink, type RedisTarget } from './redis-link.js';
import { SharedTier } from './shared-tier.js';

export interface SharedTierStoreOptions {
  readonly target: RedisTarget;
  readonly logger: Logger;
  /** How long `open` waits for Redis. Default 5 000 ms. */
  readonly connectTimeoutMs?: number;
  readonly commandTimeoutMs?: number;
}

/**
 * The cluster's shared Redis tier seen through the `DocumentStore` port: what a node reads
 * on load and the shipper appends to, usable on its own (tools, tests) and held to the same
 * conformance suite as the local engines. It has no replication outbox (it is the
 * destination of one), so `replicate` is ignored. Durability is Redis's (AOF/RDB settings).
 */
export class SharedTierStore implements DocumentStore {
  readonly #link: RedisLink;
  readonly #tier: SharedTier;
  /** Per document, the last append: appends of one document settle in call order. */
  readonly #tails = new Map<string, Promise<void>>();
  #closed = false;

  private constructor(link: RedisLink, logger: Logger) {
    this.#link = link;
    this.#tier = new SharedTier(link, logger);
  }

  /** Connect and wait until Redis answers; rejects with `SKEIN_ERR_CLUSTER_UNAVAILABLE` after the timeout. */
  static async open(options: SharedTierStoreOptions): Promise<SharedTierStore> {
    let up!: () => void;
    const ready = new Promise<void>((resolve) => (up = resolve));
    const link = new RedisLink({
      target: options.target,
      logger: options.logger,
      maxBackoffMs: 1_000,
      commandTimeoutMs: options.commandTimeoutMs ?? 2_000,
      onMessage: () => undefined,
      onUp: () => up(),
      onDown: () => undefined,
    });
    link.start();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), options.connectTimeoutMs ?? 5_000);
    });
    const outcome = await Promise.race([ready, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      await link.close();
      throw new SkeinError('SKEIN_ERR_CLUSTER_UNAVAILABLE', 'the shared tier (Redis) did not answer in time');
    }
    return new SharedTierStore(link, options.logger);
  }

  async load(name: string): Promise<readonly Uint8Array[]> {
    this.#assertOpen();
    try {
      return await this.#tier.load(name);
    } catch (cause) {
      throw new SkeinError('SKEIN_ERR_STORAGE_READ', 'reading the shared tier failed', { cause });
    }
  }

  append(name: string, update: Uint8Array, _options?: AppendOptions): Promise<AppendResult | undefined> {
    if (this.#closed) return Promise.reject(closedError());
    try {
      Y.parseUpdateMeta(update);
    } catch (cause) {
      return Promise.reject(new SkeinError('SKEIN_ERR_INVALID_UPDATE', 'not a Yjs update; nothing was stored', { cause }));
    }
    const bytes = Uint8Array.prototype.slice.call(update);
    const previous = this.#tails.get(name) ?? Promise.resolve();
    const write = previous.then(() => this.#tier.append(name, bytes)).catch((cause: unknown) => {
      throw new SkeinError('SKEIN_ERR_STORAGE_WRITE', 'appending to the shared tier failed', { cause });
    });
    const tail = write.then(noop, noop);
    this.#tails.set(name, tail);
    void tail.then(() => {
      if (this.#tails.get(name) === tail) this.#tails.delete(name);
    });
    return write.then(() => undefined);
  }

  async flush(name: string): Promise<void> {
    this.#assertOpen();
    await this.#tails.get(name);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#tails.values());
    await this.#link.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw closedError();
  }
}

function closedError(): SkeinError {
  return new SkeinError('SKEIN_ERR_STORAGE_CLOSED', 'the store is closed');
}

function noop(): void {}
