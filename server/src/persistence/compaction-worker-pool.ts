import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ErrorCode } from '../errors/registry.js';
import { SkeinError } from '../errors/skein-error.js';
import type { Logger } from '../logging/logger.js';
import type { Compactor } from './compaction.js';
import { planCompaction, type CompactionInput, type CompactionPlan } from './compaction-plan.js';
import { packEntries, packedBytes, transferList, type PackedEntries } from './packed-entries.js';

/** Messages between the pool and `compaction-worker.ts`. */
export interface WorkerRequest {
  readonly id: number;
  readonly docId: number;
  readonly upto: number;
  readonly partBytes: number;
  /** `input.entries`, packed into one transferred buffer, large values transferred as they are (`packed-entries.ts`). */
  readonly entries: PackedEntries;
}

export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly plan: CompactionPlan }
  | { readonly id: number; readonly ok: false; readonly code: ErrorCode; readonly message: string };

export interface CompactionWorkerPoolOptions {
  readonly logger: Logger;
  /** The worker's module (default: `compaction-worker.js` next to the compiled engine). */
  readonly workerUrl?: URL;
  /** How long the worker may take to start before the pool gives up on it. Default 10 s. */
  readonly startTimeoutMs?: number;
  /**
   * A job whose records are at least this many bytes is large: once no job is left, the
   * worker is stopped and its heap released (the next job starts a new one, ~90 ms of CPU).
   * An idle worker never collects its garbage: after merging a 7 MB log the process kept
   * 130 MB more RSS (100 MB ten seconds later; 11 MB with the worker stopped). Default 4 MiB.
   */
  readonly retireAfterBytes?: number;
}

const DEFAULT_RETIRE_AFTER_BYTES = 4 * 1024 * 1024;

interface Job {
  readonly resolve: (plan: CompactionPlan) => void;
  readonly reject: (err: SkeinError) => void;
}

type Phase = 'idle' | 'starting' | 'ready' | 'unavailable' | 'closed';

/**
 * A pool of one worker thread that runs `planCompaction` off the event loop. Started on the
 * first job, kept (unreferenced while idle, so it never holds a process open) and terminated
 * by `close()`, or after a large job (`retireAfterBytes`) so that its heap is not kept. Large
 * records are transferred to the worker and the snapshot record back, so a 20 MB document is
 * never copied on the event loop. Jobs are queued in the worker in order.
 *
 * If the worker cannot start (its compiled file is missing, threads are unavailable) every
 * job runs on the calling thread instead, and that is logged once. A worker that dies with
 * jobs in flight fails those jobs (their input was handed over): the compaction fails and
 * changes nothing, and the next job starts a new worker.
 */
export class CompactionWorkerPool implements Compactor {
  readonly #logger: Logger;
  readonly #url: URL;
  readonly #startTimeoutMs: number;
  readonly #retireAfterBytes: number;
  /** A large job ran: stop the worker once no job is left. */
  #retire = false;
  #phase: Phase = 'idle';
  #worker: Worker | undefined;
  #starting: Promise<void> | undefined;
  readonly #jobs = new Map<number, Job>();
  #nextId = 1;
  /** Plans computed in the worker thread and on the calling thread (tests, stats). */
  inWorker = 0;
  inline = 0;
  /** Workers stopped after a large job (tests, stats). */
  retired = 0;

  constructor(options: CompactionWorkerPoolOptions) {
    this.#logger = options.logger;
    this.#url = options.workerUrl ?? defaultWorkerUrl();
    this.#startTimeoutMs = options.startTimeoutMs ?? 10_000;
    this.#retireAfterBytes = options.retireAfterBytes ?? DEFAULT_RETIRE_AFTER_BYTES;
  }

  /** A worker thread is running (started and not yet terminated). */
  get running(): boolean {
    return this.#worker !== undefined;
  }

  async plan(input: CompactionInput): Promise<CompactionPlan> {
    if (this.#phase === 'closed') throw new SkeinError('SKEIN_ERR_STORAGE_CLOSED', 'the store is closing or closed');
    if (this.#phase !== 'ready') await this.#start();
    const worker = this.#worker;
    // `close()` may have run while the worker was starting.
    if ((this.#phase as Phase) === 'closed') throw new SkeinError('SKEIN_ERR_STORAGE_CLOSED', 'the store is closing or closed');
    if (this.#phase !== 'ready' || worker === undefined) {
      this.inline++;
      return planCompaction(input);
    }
    const id = this.#nextId++;
    const result = new Promise<CompactionPlan>((resolve, reject) => this.#jobs.set(id, { resolve, reject }));
    worker.ref(); // a job in flight keeps the process alive (e.g. `skein compact`)
    const entries = packEntries(input.entries);
    if (packedBytes(entries) >= this.#retireAfterBytes) this.#retire = true;
    const request: WorkerRequest = { id, docId: input.docId, upto: input.upto, partBytes: input.partBytes, entries };
    try {
      worker.postMessage(request, transferList(entries));
    } catch (err) {
      this.#jobs.delete(id);
      if (this.#jobs.size === 0) worker.unref();
      throw new SkeinError('SKEIN_ERR_INTERNAL', 'the records could not be handed to the compaction worker', { cause: err });
    }
    return result;
  }

  async close(): Promise<void> {
    this.#phase = 'closed';
    const worker = this.#worker;
    this.#worker = undefined;
    this.#failJobs(new SkeinError('SKEIN_ERR_STORAGE_CLOSED', 'the store closed during a compaction'));
    if (worker !== undefined) await worker.terminate();
  }

  /** Start the worker (once) and wait for its `ready` message. */
  #start(): Promise<void> {
    if (this.#phase === 'unavailable') return Promise.resolve();
    this.#starting ??= this.#spawn().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  async #spawn(): Promise<void> {
    this.#phase = 'starting';
    if (this.#url.protocol === 'file:' && !existsSync(fileURLToPath(this.#url))) {
      this.#unavailable(new Error(`${fileURLToPath(this.#url)} does not exist (build the server: tsc -b)`));
      return;
    }
    let worker: Worker;
    try {
      worker = new Worker(this.#url);
    } catch (err) {
      this.#unavailable(err);
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        void worker.terminate();
        fail(new Error(`the compaction worker did not start within ${this.#startTimeoutMs} ms`));
      }, this.#startTimeoutMs);
      timer.unref();
      const fail = (err: unknown): void => {
        clearTimeout(timer);
        worker.off('message', onReady);
        if (this.#phase === 'starting') this.#unavailable(err);
        resolve();
      };
      const onExit = (code: number): void => fail(new Error(`the compaction worker exited with code ${code} while starting`));
      const onReady = (message: unknown): void => {
        if (typeof message !== 'object' || message === null || !('ready' in message)) return;
        clearTimeout(timer);
        worker.off('message', onReady);
        worker.off('error', fail);
        worker.off('exit', onExit);
        this.#adopt(worker);
        resolve();
      };
      worker.on('message', onReady);
      worker.once('error', fail);
      worker.once('exit', onExit);
    });
  }

  #adopt(worker: Worker): void {
    if (this.#phase === 'closed') {
      void worker.terminate();
      return;
    }
    this.#phase = 'ready';
    this.#worker = worker;
    worker.unref();
    worker.on('message', (reply: WorkerReply) => this.#settle(reply));
    worker.on('error', (err: Error) => {
      this.#logger.error({ code: 'SKEIN_ERR_INTERNAL', err: err.message }, 'compaction worker failed; its jobs fail, the next one restarts it');
    });
    worker.on('exit', () => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      if (this.#phase === 'ready') this.#phase = 'idle';
      this.#failJobs(new SkeinError('SKEIN_ERR_INTERNAL', 'the compaction worker exited during a compaction; nothing was changed'));
    });
  }

  #settle(reply: WorkerReply): void {
    const job = this.#jobs.get(reply.id);
    if (job === undefined) return;
    this.#jobs.delete(reply.id);
    if (this.#jobs.size === 0) {
      this.#worker?.unref();
      if (this.#retire) this.#retireWorker();
    }
    if (reply.ok) {
      this.inWorker++;
      job.resolve(reply.plan);
    } else {
      job.reject(new SkeinError(reply.code, reply.message));
    }
  }

  /** Stop the worker after a large job (no job left): its heap goes with it; the next job starts a new one. */
  #retireWorker(): void {
    this.#retire = false;
    const worker = this.#worker;
    if (worker === undefined || this.#phase !== 'ready') return;
    this.#worker = undefined; // its exit is then not a failure
    this.#phase = 'idle';
    this.retired++;
    void worker.terminate();
  }

  #failJobs(err: SkeinError): void {
    const jobs = [...this.#jobs.values()];
    this.#jobs.clear();
    for (const job of jobs) job.reject(err);
  }

  #unavailable(err: unknown): void {
    this.#phase = 'unavailable';
    const detail = err instanceof Error ? err.message : String(err);
    this.#logger.warn({ code: 'SKEIN_ERR_INTERNAL', err: detail }, 'compaction worker unavailable; compactions run on the event loop');
  }
}

/**
 * `compaction-worker.js` next to this module once compiled (`dist/persistence/`). When this
 * module runs from its TypeScript source (vitest), the compiled worker of the same package is
 * used: `src/persistence/*.ts` → `dist/persistence/compaction-worker.js` (build first, as
 * `pnpm test` does).
 */
function defaultWorkerUrl(): URL {
  const here = import.meta.url;
  const fromSource = /\/src\/persistence\/[^/]+\.ts$/;
  if (fromSource.test(here)) return new URL(here.replace(fromSource, '/dist/persistence/compaction-worker.js'));
  return new URL('./compaction-worker.js', here);
}
