import type { KvBatchOptions, KvEntry, KvOp, KvRange, KvStore } from '../../src/persistence/kv-store.js';
import type { MemoryKv } from '../../src/persistence/memory-kv.js';

/**
 * A power-loss model over `MemoryKv`, shaped after LevelDB:
 *
 * - A batch is *in flight* from the `batch()` call until the test completes or fails it.
 *   Completing applies it to what readers see; a synced batch also reaches the durable
 *   medium, together with every earlier unsynced batch (LevelDB's log is one file: an fsync
 *   covers all that was appended before it).
 * - `crash()` loses the process. What survives: the durable medium, plus
 *   · a prefix (in completion order) of the completed-but-unsynced batches (a torn tail of
 *     the log, cut between records), and
 *   · any subset of the in-flight batches (their writes may or may not have reached the disk
 *     before the power went; none of them was acknowledged).
 *   Each surviving batch is applied whole: LevelDB writes a batch as one log record with a
 *   CRC and drops a torn record on recovery, so a batch never survives in part.
 *   `tearWithinBatch` breaks that rule on purpose (a prefix of a batch's ops), to check that
 *   even a medium without atomic batches never makes a load throw.
 * - After a crash this object is dead: every call hangs forever, like calls into a process
 *   that no longer exists. Reopen with `new CrashableKv(survivor)`.
 */
export class CrashableKv implements KvStore {
  readonly #durable: MemoryKv;
  readonly #live: MemoryKv;
  #journal: (readonly KvOp[])[] = [];
  readonly inflight: { readonly ops: readonly KvOp[]; readonly sync: boolean; readonly settle: (err?: Error) => void }[] = [];
  #auto = false;
  #dead = false;

  constructor(durable: MemoryKv) {
    this.#durable = durable;
    this.#live = durable.clone();
  }

  /** Complete every batch as soon as it is issued (opening, checking); switching it on completes those in flight. */
  get auto(): boolean {
    return this.#auto;
  }

  set auto(on: boolean) {
    this.#auto = on;
    if (on && !this.#dead) this.completeAll();
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#dead ? hang() : this.#live.get(key);
  }

  batch(ops: readonly KvOp[], options: KvBatchOptions): Promise<void> {
    if (this.#dead) return hang();
    return new Promise<void>((resolve, reject) => {
      this.inflight.push({
        ops: ops.map((op) => ({ ...op })),
        sync: options.sync,
        settle: (err) => (err === undefined ? resolve() : reject(err)),
      });
      if (this.#auto) this.completeAll();
    });
  }

  iterate(range: KvRange): AsyncIterable<KvEntry> {
    if (this.#dead) return { [Symbol.asyncIterator]: () => ({ next: hang }) };
    return this.#live.iterate(range);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Complete the in-flight batch at `index` (mod the count): apply it and resolve. */
  complete(index: number): void {
    const [batch] = this.inflight.splice(index % this.inflight.length, 1);
    if (batch === undefined) return;
    this.#live.applySync(batch.ops);
    if (batch.sync) {
      for (const ops of this.#journal) this.#durable.applySync(ops);
      this.#journal = [];
      this.#durable.applySync(batch.ops);
    } else {
      this.#journal.push(batch.ops);
    }
    batch.settle();
  }

  completeAll(): void {
    while (this.inflight.length > 0) this.complete(0);
  }

  /** Fail the in-flight batch at `index` (mod the count): nothing is written. */
  fail(index: number): void {
    const [batch] = this.inflight.splice(index % this.inflight.length, 1);
    batch?.settle(Object.assign(new Error('simulated I/O error'), { code: 'LEVEL_IO_ERROR' }));
  }

  /**
   * Power loss. `landed(i)` decides whether in-flight batch i reached the disk; `journalKept`
   * how many unsynced completed batches survive; `cut(i)` (only with tearing) how many ops of
   * a landed in-flight batch survive. Returns the surviving medium.
   */
  crash(choice: {
    readonly landed: (i: number) => boolean;
    readonly journalKept: number;
    readonly tearWithinBatch?: boolean;
    readonly cut?: (i: number, length: number) => number;
  }): MemoryKv {
    this.#dead = true;
    for (const ops of this.#journal.slice(0, choice.journalKept)) this.#durable.applySync(ops);
    this.inflight.forEach((batch, i) => {
      if (!choice.landed(i)) return;
      const keep = choice.tearWithinBatch === true && choice.cut !== undefined ? choice.cut(i, batch.ops.length) : batch.ops.length;
      this.#durable.applySync(batch.ops.slice(0, keep));
    });
    this.inflight.length = 0;
    this.#journal = [];
    return this.#durable;
  }
}

function hang<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}
