import { toSkeinError } from '../errors/skein-error.js';
import type { Logger } from '../logging/logger.js';
import type { AppendResult, DocumentStore } from './ports.js';
import type { ChangeNote } from './events.js';
import type { WriteBudget } from './write-budget.js';

export interface WriteChainOptions {
  readonly name: string;
  readonly store: DocumentStore;
  readonly budget: WriteBudget;
  readonly logger: Logger;
  /** The document's full state, encoded now (written after a failure, to heal every gap). */
  fullState(): Uint8Array;
}

/**
 * One document's writes, in order: each append resolves once it and every write before it
 * are durable; after a failed write the next one stores the full in-memory state instead
 * (merging is idempotent, so this heals every gap without knowing what it was); `flush`
 * waits for everything in flight and writes the full state if anything failed.
 */
export class WriteChain {
  readonly #opts: WriteChainOptions;
  /** Writes in flight (each settles, never rejects). */
  readonly #inFlight = new Set<Promise<void>>();
  /** Settles after the latest write and every write before it. */
  #last: Promise<AppendResult | void> = Promise.resolve();
  /** A write failed: the in-memory state must be stored in full. */
  #dirty = false;

  constructor(options: WriteChainOptions) {
    this.#opts = options;
  }

  /**
   * Append `bytes` (null: nothing new: resolves with the writes already in flight). With
   * `replicate` the store also writes an outbox record in the same batch; with `change` (a
   * change this node accepted) a store that journals document events records it there too.
   * `clocks`: the end clock per client of `bytes`, when known (AppendOptions.clocks).
   */
  append(bytes: Uint8Array | null, replicate: boolean, change?: ChangeNote, clocks?: ReadonlyMap<number, number>): Promise<AppendResult | void> {
    const full = this.#dirty;
    if (bytes === null && !full) return this.#last;
    const { name, store, budget, logger } = this.#opts;
    const whole = full || bytes === null;
    const payload = whole ? this.#opts.fullState() : bytes;
    const options: { replicate: boolean; change?: ChangeNote; clocks?: ReadonlyMap<number, number> } = { replicate };
    if (change !== undefined) options.change = change;
    // `clocks` are those of `bytes`, not of a full state written instead.
    if (!whole && clocks !== undefined) options.clocks = clocks;
    const write = store.append(name, payload, options).then(
      (result) => {
        if (full) this.#dirty = false;
        return result;
      },
      (err: unknown) => {
        this.#dirty = true;
        const e = toSkeinError(err, 'SKEIN_ERR_STORAGE_WRITE');
        logger.error({ code: e.code, doc: name, err: e.message }, 'append failed');
        throw e;
      },
    );
    // Outstanding (budget, flush) until the write settles: one callback for both.
    const size = payload.byteLength;
    budget.take(size);
    const settled = (): void => {
      budget.release(size);
      this.#inFlight.delete(tracked);
    };
    const tracked: Promise<void> = write.then(settled, settled);
    this.#inFlight.add(tracked);
    // "Every change persisted before it" includes earlier writes that fail after this one was
    // issued (a reconnecting client sends only what the state vector lacks and counts on this
    // ack for the rest): it settles after the one before it, with this write's outcome unless
    // that one failed. A full write supersedes them.
    const durable = full ? write : this.#last.then(() => write);
    this.#last = durable;
    return durable;
  }

  /** Wait for writes in flight, store the full state if any failed. True when all is durable. */
  async flush(replicate: boolean): Promise<boolean> {
    const { name, store, logger } = this.#opts;
    try {
      // Ask the store to write what it buffers now, then wait for the writes in flight: a
      // debounced document would otherwise make the unload (and a reconnect waiting on it,
      // and SIGTERM) wait out its debounce timer. Repeat while writes keep arriving.
      do {
        const inFlight = [...this.#inFlight];
        const buffered = store.flush(name);
        buffered.catch(noop); // awaited below; never an unhandled rejection meanwhile
        await Promise.all(inFlight);
        await buffered;
      } while (this.#inFlight.size > 0);
      if (this.#dirty) {
        await store.append(name, this.#opts.fullState(), { replicate });
        this.#dirty = false;
        await store.flush(name);
      }
      return true;
    } catch (err) {
      const e = toSkeinError(err, 'SKEIN_ERR_STORAGE_WRITE');
      this.#dirty = true;
      logger.error({ code: e.code, doc: name, err: e.message }, 'flush before unload failed');
      return false;
    }
  }
}

function noop(): void {}
