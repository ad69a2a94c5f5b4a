import { SkeinError, createMemoryStore, type DocumentStore, type LogStore, type MemoryStoreOptions } from '@skein/server';

/**
 * The storage engine over an in-memory KV (what `--storage memory` runs): the same engine as
 * LevelDB, without the disk. Cheap to create; tests make many.
 */
export function memoryStore(options: MemoryStoreOptions = {}): LogStore {
  return createMemoryStore(options);
}

/** A promise you open by hand. Calls that reach a closed gate wait until `release()`. */
export class Gate {
  #release!: () => void;
  readonly #opened: Promise<void>;
  #waiting = 0;
  #isOpen = false;

  constructor() {
    this.#opened = new Promise<void>((resolve) => (this.#release = resolve));
  }

  /** Calls currently held at this gate. */
  get waiting(): number {
    return this.#waiting;
  }

  get isOpen(): boolean {
    return this.#isOpen;
  }

  async pass(): Promise<void> {
    this.#waiting++;
    try {
      await this.#opened;
    } finally {
      this.#waiting--;
    }
  }

  release(): void {
    this.#isOpen = true;
    this.#release();
  }
}

export type StoreOp = 'load' | 'append' | 'flush';

interface Failure {
  remaining: number;
}

/**
 * A `memoryStore()` whose `load`, `append` and `flush` can be held on a gate or made to reject
 * with the store's error codes (SKEIN_ERR_STORAGE_READ for load, SKEIN_ERR_STORAGE_WRITE
 * otherwise). Records every call, so tests can assert single-flight loads and writes.
 * Appends keep their call order even while held (the store contract).
 */
export class GatedStore implements DocumentStore {
  readonly inner = memoryStore();
  /** Document name of every call, per operation, in call order. */
  readonly calls: Record<StoreOp, string[]> = { load: [], append: [], flush: [] };
  /** Calls that were made to fail. */
  readonly failed: Record<StoreOp, number> = { load: 0, append: 0, flush: 0 };
  readonly #gates: Partial<Record<StoreOp, Gate>> = {};
  readonly #failures: Partial<Record<StoreOp, Failure>> = {};
  #appendTail: Promise<unknown> = Promise.resolve();
  #closed = false;

  /** Hold every later call of `op` until the returned gate is released. */
  hold(op: StoreOp): Gate {
    const gate = new Gate();
    this.#gates[op] = gate;
    return gate;
  }

  /** Release the gate of `op` (if any) and stop holding new calls. */
  release(op: StoreOp): void {
    this.#gates[op]?.release();
    delete this.#gates[op];
  }

  /**
   * Make the next `times` calls of `op` reject (after passing any gate). For `append` the
   * failure is decided when the call is made.
   */
  fail(op: StoreOp, times = Number.POSITIVE_INFINITY): void {
    this.#failures[op] = { remaining: times };
  }

  recover(op: StoreOp): void {
    delete this.#failures[op];
  }

  /** Write updates straight into the underlying store (not recorded as calls). */
  async seed(name: string, ...updates: Uint8Array[]): Promise<void> {
    for (const u of updates) await this.inner.append(name, u).then(() => undefined);
  }

  /** What the underlying store holds for `name` (not recorded as a call; works after close). */
  log(name: string): Promise<readonly Uint8Array[]> {
    return this.inner.load(name);
  }

  /** Release every gate: no call stays pending after a test. */
  releaseAll(): void {
    for (const op of ['load', 'append', 'flush'] as const) this.release(op);
  }

  async load(name: string): Promise<readonly Uint8Array[]> {
    this.calls.load.push(name);
    this.#assertOpen();
    await this.#gate('load');
    this.#maybeFail('load');
    return this.inner.load(name);
  }

  append(name: string, update: Uint8Array): Promise<void> {
    this.calls.append.push(name);
    if (this.#closed) return Promise.reject(closedError());
    // Copy now: the caller's bytes may be a view into a reused buffer.
    const bytes = Uint8Array.prototype.slice.call(update);
    const gate = this.#gates.append;
    const failure = this.#takeFailure('append');
    const run = this.#appendTail.then(async () => {
      if (gate !== undefined) await gate.pass();
      if (failure) throw this.#error('append');
      await this.inner.append(name, bytes).then(() => undefined);
    });
    this.#appendTail = run.catch(() => undefined);
    return run;
  }

  async flush(name: string): Promise<void> {
    this.calls.flush.push(name);
    this.#assertOpen();
    await this.#gate('flush');
    this.#maybeFail('flush');
    await this.#appendTail;
    return this.inner.flush(name);
  }

  /** Later load/append/flush calls reject; `log` and `seed` keep working for assertions. */
  async close(): Promise<void> {
    this.#closed = true;
    this.releaseAll();
    await this.#appendTail;
  }

  #assertOpen(): void {
    if (this.#closed) throw closedError();
  }

  async #gate(op: StoreOp): Promise<void> {
    const gate = this.#gates[op];
    if (gate !== undefined) await gate.pass();
  }

  #maybeFail(op: StoreOp): void {
    if (this.#takeFailure(op)) throw this.#error(op);
  }

  #takeFailure(op: StoreOp): boolean {
    const f = this.#failures[op];
    if (f === undefined || f.remaining <= 0) return false;
    f.remaining--;
    this.failed[op]++;
    return true;
  }

  #error(op: StoreOp): SkeinError {
    return op === 'load'
      ? new SkeinError('SKEIN_ERR_STORAGE_READ', 'injected read failure')
      : new SkeinError('SKEIN_ERR_STORAGE_WRITE', `injected ${op} failure`);
  }
}

function closedError(): SkeinError {
  return new SkeinError('SKEIN_ERR_STORAGE_CLOSED', 'the store is closed');
}
