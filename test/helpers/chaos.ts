import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as prng from 'lib0/prng';
import * as Y from 'yjs';
import { openLevelStore } from '../../server/src/persistence/index.js';
import type { VerifyProblem } from '../../server/src/persistence/index.js';
import { silentLogger } from '../../server/src/logging/logger.js';
import { startCliServer, stopCliServer, type CliServer } from './cli-server.js';

export { EXTENSIVE } from './extensive.js';

/** `CHAOS_SEED=<n>` replays a run; otherwise a fresh seed (printed by the test). */
export function chaosSeed(): number {
  const fixed = process.env.CHAOS_SEED;
  if (fixed !== undefined && fixed !== '') {
    const seed = Number(fixed);
    if (!Number.isSafeInteger(seed)) throw new Error(`CHAOS_SEED must be an integer, got ${fixed}`);
    return seed;
  }
  return Math.floor(Math.random() * 2 ** 31);
}

export type Rng = prng.PRNG;

export function createRng(seed: number): Rng {
  return prng.create(seed);
}

export function randomInt(rng: Rng, min: number, max: number): number {
  return prng.int32(rng, min, max);
}

/** A port that was free a moment ago (the chaos server restarts on the same port). */
export { freePort } from './skein-client.js';

export async function tempDataDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * `skein serve` as a child process on a fixed port and data directory, that can be killed
 * (SIGKILL: no flush, no close) and started again on the same port.
 */
export class ServerProcess {
  readonly port: number;
  readonly dataDir: string;
  readonly #args: readonly string[];
  #current: CliServer | undefined;
  starts = 0;

  constructor(port: number, dataDir: string, extraArgs: readonly string[]) {
    this.port = port;
    this.dataDir = dataDir;
    this.#args = ['--port', String(port), '--data-dir', dataDir, ...extraArgs];
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    const child = this.#current?.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** JSON log lines of the current (or last) process. */
  get lines(): readonly string[] {
    return this.#current?.lines ?? [];
  }

  async start(): Promise<void> {
    if (this.running) throw new Error('already running');
    this.#current = await startCliServer(this.#args);
    this.starts++;
  }

  /** SIGKILL, and wait until the process is gone (its LevelDB lock is released then). */
  async kill(): Promise<void> {
    if (this.#current !== undefined) await stopCliServer(this.#current, 'SIGKILL');
  }

  /** SIGTERM (graceful: flush and close); resolves with the exit status. */
  async stop(): Promise<number | null> {
    const current = this.#current;
    if (current === undefined) return null;
    await stopCliServer(current, 'SIGTERM');
    return (await current.exited).code;
  }
}

export interface StoredDocs {
  /** The stored document (every stored update applied), by name. */
  readonly docs: Map<string, Y.Doc>;
  /** `verify()` findings of the whole store. */
  readonly problems: readonly VerifyProblem[];
}

/**
 * Open the store in this process (the server must be stopped), load `names` the way the
 * server would, run `verify()`, close. The caller destroys the docs.
 */
export async function readStore(dataDir: string, names: readonly string[]): Promise<StoredDocs> {
  const store = await openLevelStore({ dir: dataDir, logger: silentLogger(), compaction: { enabled: false } });
  try {
    const docs = new Map<string, Y.Doc>();
    for (const name of names) {
      const doc = new Y.Doc();
      for (const update of await store.load(name)) Y.applyUpdate(doc, update);
      docs.set(name, doc);
    }
    const problems: VerifyProblem[] = [];
    for await (const problem of store.verify()) problems.push(problem);
    return { docs, problems };
  } finally {
    await store.close();
  }
}

/** Keys of the `m` map of a doc (what the durable clients write). */
export function mapKeys(doc: Y.Doc): Set<string> {
  return new Set(doc.getMap('m').keys());
}
