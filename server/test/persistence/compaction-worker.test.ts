/**
 * Compaction merges in a worker thread (the compiled `dist/persistence/compaction-worker.js`:
 * build first, as `pnpm test` does). Real LevelDB stores in temp dirs.
 */
import { readdirSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import fc from 'fast-check';
import { planCompaction, type CompactionInput, type CompactionPlan } from '../../src/persistence/compaction-plan.js';
import type { Compactor } from '../../src/persistence/compaction.js';
import { CompactionWorkerPool } from '../../src/persistence/compaction-worker-pool.js';
import { collect } from '../../src/persistence/doc-reader.js';
import { DEFAULT_COMPACTION } from '../../src/persistence/engine-context.js';
import { DocKind, docKey, docRange, parseDocKey } from '../../src/persistence/key-layout.js';
import type { KvStore } from '../../src/persistence/kv-store.js';
import { LevelKv } from '../../src/persistence/level-kv.js';
import { openLevelStore, type LogStore, type LogStoreOptions } from '../../src/persistence/log-store.js';
import { capturingLogger } from '../../../test/helpers/logs.js';
import { Editor, docFrom, logger, sameDoc, settle, tempDir, track, waitFor } from './helpers.js';
import { EXTENSIVE } from '../../../test/helpers/extensive.js';

let dir: string;
let cleanup: () => Promise<void>;
let store: LogStore | undefined;
const pools: CompactionWorkerPool[] = [];

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('skein-compaction-worker-'));
});

afterEach(async () => {
  await store?.closeWithReport({ timeoutMs: 1_000 });
  store = undefined;
  for (const pool of pools.splice(0)) await pool.close();
  await cleanup();
});

async function openWith(kv: KvStore, options: Partial<LogStoreOptions> = {}): Promise<LogStore> {
  store = await openLevelStore({ kv, logger, ...options, compaction: { enabled: false, offThreadMinBytes: 0, ...options.compaction } });
  return store;
}

function pool(options: Partial<ConstructorParameters<typeof CompactionWorkerPool>[0]> = {}): CompactionWorkerPool {
  const p = new CompactionWorkerPool({ logger, ...options });
  pools.push(p);
  return p;
}

/** A document with real history: overwritten map values, deleted text, several clients. */
async function writeHistory(s: LogStore, name: string, n: number): Promise<Y.Doc> {
  const editors = [new Editor(1), new Editor(2), new Editor(3)];
  for (let i = 0; i < n; i++) await s.append(name, editors[i % 3]!.edit(`value-${i}-${'x'.repeat(i % 50)}`));
  return docFrom(editors.map((e) => Y.encodeStateAsUpdate(e.doc)));
}

/** A deep copy of the records (a plan handed to the worker detaches the buffers it moves). */
function copyInput(input: CompactionInput): CompactionInput {
  return { ...input, entries: input.entries.map((e) => ({ key: e.key.slice(), value: e.value.slice() })) };
}

/** The real worker pool, each plan's result held (the merge itself has run) until `release()`. */
class HeldCompactor implements Compactor {
  readonly #inner: CompactionWorkerPool;
  readonly #held: (() => void)[] = [];
  /** Plans the worker has finished (their results held or released). */
  merged = 0;
  /** Off: results go through at once. */
  holding = true;

  constructor(inner: CompactionWorkerPool) {
    this.#inner = inner;
  }

  async plan(input: CompactionInput): Promise<CompactionPlan> {
    const plan = await this.#inner.plan(input);
    this.merged++;
    if (this.holding) await new Promise<void>((resolve) => this.#held.push(resolve));
    return plan;
  }

  release(): void {
    this.#held.shift()?.();
  }

  get held(): number {
    return this.#held.length;
  }

  close(): Promise<void> {
    for (const resolve of this.#held.splice(0)) resolve();
    return this.#inner.close();
  }
}

/** The ids of this process's OS threads (Linux). */
function threadIds(): Set<string> {
  return new Set(readdirSync('/proc/self/task'));
}

/**
 * Threads started since `before` was taken (by id, not by count: another thread of the process
 * may end meanwhile — a count once read the same before and after a worker started).
 */
function startedSince(before: ReadonlySet<string>): string[] {
  return [...threadIds()].filter((id) => !before.has(id));
}

function allGone(ids: readonly string[]): boolean {
  const now = threadIds();
  return ids.every((id) => !now.has(id));
}

describe('compaction in a worker thread', () => {
  it('computes exactly the plan the calling thread computes, in another thread', async () => {
    const kv = await LevelKv.open(dir);
    const s = await openWith(kv);
    await writeHistory(s, 'doc', 60);
    await s.compact('doc'); // a base snapshot, so the plan has one to keep and updates to delete
    await writeHistory(s, 'doc', 30);
    // One damaged record, so the plan carries damage too.
    const victim = docKey(1, DocKind.Update, 70);
    const value = (await kv.get(victim)) ?? new Uint8Array();
    await kv.batch([{ type: 'put', key: victim, value: value.map((b, i) => (i === 8 ? b ^ 1 : b)) }], { sync: true });
    const input: CompactionInput = { docId: 1, upto: 90, partBytes: DEFAULT_COMPACTION.snapshotPartBytes, entries: await collect(kv, docRange(1), 'records') };

    const inThread = planCompaction(copyInput(input));
    const p = pool();
    const inWorker = await p.plan(copyInput(input));
    expect(p.inWorker).toBe(1);
    expect(inWorker.thread).not.toBe(threadId);
    expect(inThread.thread).toBe(threadId);
    expect(inWorker.snapshot?.record).toEqual(inThread.snapshot?.record);
    expect({ ...inWorker, thread: 0 }).toEqual({ ...inThread, thread: 0 });
    expect(inThread.damaged).toHaveLength(1);
    expect(inThread.merged).toBe(29);
    expect(inThread.deletes.length).toBe(60);
    // The records went over as one packed buffer; what came back are copies of their own, not
    // views that would have dragged every record back across (packed-entries.ts).
    for (const key of [...inWorker.deletes, ...inWorker.damaged.map((d) => d.key)]) expect(key.buffer.byteLength).toBe(key.byteLength);
  });

  it('runs in the worker through the store (counted), and in place when asked to', async () => {
    const s = await openWith(await LevelKv.open(dir));
    const oracle = await writeHistory(s, 'doc', 20);
    expect((await s.compact('doc')).compacted).toBe(1);
    expect(s.stats()).toMatchObject({ compactions: 1, compactionsOffThread: 1 });
    expect(sameDoc(oracle, docFrom(await s.load('doc')))).toBe(true);
    await s.close();
    const inPlace = await openWith(await LevelKv.open(dir), { compaction: { offThreadMinBytes: Infinity } });
    await writeHistory(inPlace, 'doc', 5);
    expect((await inPlace.compact('doc')).compacted).toBe(1);
    expect(inPlace.stats()).toMatchObject({ compactions: 1, compactionsOffThread: 0 });
  });

  it('does not hold a document\'s appends while the worker merges: they are durable before the merge ends, get seq > S, stay after the new snapshot and are counted after it', async () => {
    const compactor = new HeldCompactor(pool());
    const s = await openWith(await LevelKv.open(dir), { compactor });
    const editor = new Editor(7);
    for (let i = 0; i < 200; i++) await s.append('doc', editor.edit(`v${i}-${'y'.repeat(200)}`));
    const compaction = track(s.compact('doc'));
    await waitFor(() => compactor.merged === 1); // the worker has merged; its result is held
    const arriving = Array.from({ length: 20 }, () => track(s.append('doc', editor.edit())));
    // The queue is free while the merge runs: the appends are written now (before this change
    // they waited behind the whole compaction, seconds for a 20 MB document).
    await waitFor(() => arriving.every((a) => a.state === 'resolved'));
    expect(compaction.state).toBe('pending');
    compactor.release();
    const outcome = await compaction.promise;
    expect(outcome).toMatchObject({ compacted: 1, mergedUpdates: 200 });
    expect(s.stats()).toMatchObject({ compactions: 1, compactionsOffThread: 1 });
    // The metadata counts the 20 appended meanwhile as the log after the new snapshot.
    expect(await s.describe('doc')).toMatchObject({ updatesSinceSnapshot: 20 });
    expect(sameDoc(editor.doc, docFrom(await s.load('doc')))).toBe(true);
    await s.close();
    const kv = await LevelKv.open(dir);
    const keys = (await collect(kv, docRange(1), 'records')).map((e) => parseDocKey(e.key));
    await kv.close();
    expect(keys.filter((k) => k?.kind === DocKind.Snapshot).map((k) => k?.seq)).toEqual([200]);
    expect(keys.filter((k) => k?.kind === DocKind.Update && k.seq > 200).map((k) => k?.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 201 + i));
    const again = await openWith(await LevelKv.open(dir));
    expect(sameDoc(editor.doc, docFrom(await again.load('doc')))).toBe(true);
    expect(await again.describe('doc')).toMatchObject({ updatesSinceSnapshot: 20 });
  });

  it('appends that outgrow the threshold during a merge get the next compaction once it is written, with no further write', async () => {
    const compactor = new HeldCompactor(pool());
    const s = await openWith(await LevelKv.open(dir), { compactor, compaction: { enabled: true, maxUpdates: 20, minCountRatio: 0, idleMs: 0 } });
    const editor = new Editor(5);
    for (let i = 0; i < 20; i++) await s.append('doc', editor.edit(`v${i}-${'w'.repeat(100)}`));
    await waitFor(() => compactor.merged === 1); // the trigger at 20 updates: merged, result held
    for (let i = 0; i < 30; i++) await s.append('doc', editor.edit(`more${i}`)); // durable meanwhile; their triggers do nothing
    compactor.release();
    await waitFor(() => compactor.merged === 2); // the write of the first re-checks: 30 ≥ 20, the next one starts
    expect(s.stats().compactions).toBe(1);
    compactor.release();
    await waitFor(() => s.stats().compactions === 2);
    expect(await s.describe('doc')).toMatchObject({ updatesSinceSnapshot: 0 });
    expect(sameDoc(editor.doc, docFrom(await s.load('doc')))).toBe(true);
  });

  it('a document released while its merge runs is compacted from its last state once the merge is written', async () => {
    const compactor = new HeldCompactor(pool());
    const s = await openWith(await LevelKv.open(dir), { compactor, compaction: { enabled: true, maxUpdates: 100_000, idleMs: 60_000 } });
    const editor = new Editor(6);
    for (let i = 0; i < 20; i++) await s.append('doc', editor.edit(`v${i}-${'r'.repeat(100)}`));
    const first = track(s.compact('doc'));
    await waitFor(() => compactor.merged === 1);
    for (let i = 0; i < 5; i++) await s.append('doc', editor.edit(`late${i}`));
    // The owner lets the document go while the merge is held: its release compaction waits for it.
    const withdraw = s.offerState('doc', () => Y.encodeStateAsUpdate(editor.doc));
    withdraw();
    compactor.release();
    await first.promise;
    await waitFor(() => s.stats().compactions === 2);
    expect(s.stats()).toMatchObject({ compactionsOffThread: 1, compactionsFromLive: 1 });
    expect(await s.describe('doc')).toMatchObject({ updatesSinceSnapshot: 0 });
    expect(sameDoc(editor.doc, docFrom(await s.load('doc')))).toBe(true);
  });

  it('any interleaving of appends, compactions and merge results loses nothing and keeps the metadata exact (fast-check)', async () => {
    type Step = { readonly kind: 'append'; readonly n: number } | { readonly kind: 'compact' } | { readonly kind: 'release' };
    const step = fc.oneof(
      fc.record({ kind: fc.constant('append' as const), n: fc.integer({ min: 1, max: 30 }) }),
      fc.constant({ kind: 'compact' as const }),
      fc.constant({ kind: 'release' as const }),
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps: Step[]) => {
        const name = `doc-${run++}`;
        const compactor = new HeldCompactor(pool());
        // 512-byte parts: the larger snapshots are chunked, their part writes among the appends.
        const compaction = { enabled: true, maxUpdates: 25, minCountRatio: 0, idleMs: 0, snapshotPartBytes: 512 };
        const s = await openWith(await LevelKv.open(`${dir}/${name}`), { compactor, compaction });
        const editor = new Editor(9);
        let appended = 0;
        const compactions: Promise<unknown>[] = [];
        for (const st of steps) {
          if (st.kind === 'append') {
            for (let i = 0; i < st.n; i++, appended++) await s.append(name, editor.edit(`e${appended}-${'p'.repeat(40)}`));
          } else if (st.kind === 'compact') {
            if (appended > 0) compactions.push(s.compact(name));
          } else {
            compactor.release();
            await settle();
          }
        }
        // Let everything through; close waits for every merge in flight and its write.
        compactor.holding = false;
        while (compactor.held > 0) compactor.release();
        await Promise.all(compactions);
        if (appended > 0) expect(sameDoc(editor.doc, docFrom(await s.load(name)))).toBe(true);
        await s.close();
        if (appended === 0) return;
        const kv = await LevelKv.open(`${dir}/${name}`);
        const keys = (await collect(kv, docRange(1), 'records')).map((e) => parseDocKey(e.key));
        await kv.close();
        const snapshotSeqs = keys.filter((k) => k?.kind === DocKind.Snapshot).map((k) => k?.seq ?? 0);
        const snapshotSeq = Math.max(0, ...snapshotSeqs);
        const after = keys.filter((k) => k?.kind === DocKind.Update && k.seq > snapshotSeq);
        expect(Math.max(snapshotSeq, ...after.map((k) => k?.seq ?? 0))).toBe(appended);
        // Nothing failed: every part stored belongs to a stored snapshot.
        expect(keys.filter((k) => k?.kind === DocKind.SnapshotPart).every((k) => snapshotSeqs.includes(k?.seq ?? -1))).toBe(true);
        const again = await openWith(await LevelKv.open(`${dir}/${name}`), { compaction: { snapshotPartBytes: 512 } });
        // The stored metadata counts exactly the updates stored after the newest snapshot.
        expect((await again.describe(name))?.updatesSinceSnapshot).toBe(after.length);
        expect(sameDoc(editor.doc, docFrom(await again.load(name)))).toBe(true);
        await again.close();
      }),
      // CI: 12 schedules; EXTENSIVE=1: 300.
      { numRuns: EXTENSIVE ? 300 : 12 },
    );
  }, EXTENSIVE ? 1_800_000 : undefined);

  it('closing the store waits for a merge in flight and writes its result', async () => {
    const compactor = new HeldCompactor(pool());
    const s = await openWith(await LevelKv.open(dir), { compactor });
    const editor = new Editor(8);
    for (let i = 0; i < 40; i++) await s.append('doc', editor.edit(`v${i}-${'c'.repeat(100)}`));
    const compaction = track(s.compact('doc'));
    await waitFor(() => compactor.merged === 1);
    const closing = track(s.closeWithReport());
    await settle();
    await settle();
    expect(closing.state).toBe('pending'); // held by the merge
    compactor.release();
    expect(await closing.promise).toEqual({ unflushed: [], rejectedUpdates: 0 });
    expect(await compaction.promise).toMatchObject({ compacted: 1, mergedUpdates: 40 });
    const kv = await LevelKv.open(dir);
    const snapshots = (await collect(kv, docRange(1), 'records')).map((e) => parseDocKey(e.key)).filter((k) => k?.kind === DocKind.Snapshot);
    await kv.close();
    expect(snapshots.map((k) => k?.seq)).toEqual([40]);
  });

  it('a merge whose document was deleted meanwhile writes nothing (the name starts a new document)', async () => {
    const compactor = new HeldCompactor(pool());
    const s = await openWith(await LevelKv.open(dir), { compactor });
    const editor = new Editor(3);
    for (let i = 0; i < 50; i++) await s.append('doc', editor.edit(`v${i}-${'z'.repeat(100)}`));
    const compaction = track(s.compact('doc'));
    await waitFor(() => compactor.merged === 1);
    expect(await s.remove('doc')).toBe(true);
    const fresh = new Editor(4);
    await s.append('doc', fresh.edit('new'));
    compactor.release();
    expect(await compaction.promise).toMatchObject({ compacted: 0 });
    expect(s.stats().compactions).toBe(0);
    // Only the new document's one update: no snapshot of the deleted one was written.
    expect(sameDoc(fresh.doc, docFrom(await s.load('doc')))).toBe(true);
    expect(await s.describe('doc')).toMatchObject({ updatesSinceSnapshot: 1 });
  });

  it('stops the worker after a large job (its heap goes with it) and starts a new one for the next job; small jobs keep it', async () => {
    const kv = await LevelKv.open(dir);
    const s = await openWith(kv);
    await writeHistory(s, 'doc', 40);
    const input: CompactionInput = { docId: 1, upto: 40, partBytes: DEFAULT_COMPACTION.snapshotPartBytes, entries: await collect(kv, docRange(1), 'records') };
    const bytes = input.entries.reduce((n, e) => n + e.key.byteLength + e.value.byteLength, 0);
    const before = threadIds();
    const p = pool({ retireAfterBytes: bytes });
    const small = await p.plan(copyInput({ ...input, entries: input.entries.slice(0, 5) }));
    expect(small.thread).not.toBe(threadId);
    expect(p.running).toBe(true);
    const worker = startedSince(before);
    expect(worker.length).toBeGreaterThan(0);
    expect(p.retired).toBe(0);
    const large = await p.plan(copyInput(input));
    expect(large.snapshot).toBeDefined();
    expect(p.retired).toBe(1);
    expect(p.running).toBe(false);
    await waitFor(() => allGone(worker), 10_000); // the thread is gone
    const again = await p.plan(copyInput(input)); // a new worker
    expect(again.thread).not.toBe(threadId);
    expect(again.snapshot?.record).toEqual(large.snapshot?.record);
    expect(p.inWorker).toBe(3);
    expect(p.retired).toBe(2);
  });

  it('store close terminates the worker: its thread is gone, no handle is left', async () => {
    // Warm up whatever threads LevelDB and libuv start on first use, with no worker involved.
    const warm = await openWith(await LevelKv.open(dir), { compaction: { offThreadMinBytes: Infinity } });
    await writeHistory(warm, 'warm', 5);
    await warm.compact('warm');
    await warm.close();
    const s = await openWith(await LevelKv.open(dir));
    const before = threadIds();
    await writeHistory(s, 'doc', 10);
    await s.compact('doc');
    expect(s.stats().compactionsOffThread).toBe(1);
    const worker = startedSince(before);
    expect(worker.length).toBeGreaterThan(0);
    await s.close();
    store = undefined;
    await waitFor(() => allGone(worker));
    expect(process.getActiveResourcesInfo().filter((r) => /worker|messageport/i.test(r))).toEqual([]);
  });

  it('pool: lazy start, close fails what is in flight and refuses later jobs', async () => {
    const kv = await LevelKv.open(dir);
    const s = await openWith(kv);
    await writeHistory(s, 'doc', 10);
    const input: CompactionInput = { docId: 1, upto: 10, partBytes: DEFAULT_COMPACTION.snapshotPartBytes, entries: await collect(kv, docRange(1), 'records') };
    const p = pool();
    expect(p.running).toBe(false);
    await p.plan(copyInput(input));
    expect(p.running).toBe(true);
    const inFlight = p.plan(copyInput(input)).then(() => null, (e: unknown) => e);
    await p.close();
    expect(p.running).toBe(false);
    const errors = [await inFlight, await p.plan(copyInput(input)).then(() => null, (e: unknown) => e)];
    expect(errors.map((e) => (e as { code?: string } | null)?.code)).toEqual(['SKEIN_ERR_STORAGE_CLOSED', 'SKEIN_ERR_STORAGE_CLOSED']);
  });

  it('falls back to the calling thread (logged once) when the worker cannot start', async () => {
    const kv = await LevelKv.open(dir);
    const s = await openWith(kv);
    await writeHistory(s, 'doc', 10);
    const input: CompactionInput = { docId: 1, upto: 10, partBytes: DEFAULT_COMPACTION.snapshotPartBytes, entries: await collect(kv, docRange(1), 'records') };
    const { logger: log, lines: entries } = capturingLogger('info');
    const p = pool({ logger: log, workerUrl: new URL('./no-such-worker.js', import.meta.url) });
    const first = await p.plan(copyInput(input));
    await p.plan(copyInput(input));
    expect(first).toEqual(planCompaction(copyInput(input)));
    expect([p.inline, p.inWorker, p.running]).toEqual([2, 0, false]);
    expect(entries.filter((e) => e['level'] === 40)).toEqual([expect.objectContaining({ code: 'SKEIN_ERR_INTERNAL' })]);
  });

  it('a worker that dies mid-job fails that compaction (nothing changes) and the next job gets a new worker', async () => {
    const dying = new URL(`data:text/javascript,${encodeURIComponent(
      "import { parentPort } from 'node:worker_threads'; parentPort.on('message', () => process.exit(3)); parentPort.postMessage({ ready: true });",
    )}`);
    const kv = await LevelKv.open(dir);
    const s = await openWith(kv);
    await writeHistory(s, 'doc', 10);
    const input: CompactionInput = { docId: 1, upto: 10, partBytes: DEFAULT_COMPACTION.snapshotPartBytes, entries: await collect(kv, docRange(1), 'records') };
    const p = pool({ workerUrl: dying });
    const err = await p.plan(copyInput(input)).then(() => null, (e: unknown) => e);
    expect((err as { code?: string } | null)?.code).toBe('SKEIN_ERR_INTERNAL');
    await waitFor(() => !p.running);
    const again = await p.plan(copyInput(input)).then(() => null, (e: unknown) => e);
    expect((again as { code?: string } | null)?.code).toBe('SKEIN_ERR_INTERNAL'); // a new worker took the job (and died too)
  });
});
