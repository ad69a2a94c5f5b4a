import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SkeinError } from '../../src/errors/skein-error.js';
import { LevelKv } from '../../src/persistence/level-kv.js';
import { openLevelStore, type LogStore } from '../../src/persistence/log-store.js';
import { Editor, FailingKv, ManualTimers, docFrom, logger, sameDoc, settle, tempDir, track } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let failing: FailingKv;
let timers: ManualTimers;
let store: LogStore;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  failing = new FailingKv(await LevelKv.open(dir));
  timers = new ManualTimers();
  store = await openLevelStore({ kv: failing, logger, timers, retry: { initialDelayMs: 50, maxDelayMs: 200 } });
});

afterEach(async () => {
  failing.failNext = 0;
  const closing = store.closeWithReport({ timeoutMs: 1_000 });
  timers.advance(1_000);
  await closing;
  await cleanup();
});

describe('write failures', () => {
  it('keeps the append unacknowledged while batches fail, retries with capped backoff, then recovers', async () => {
    const editor = new Editor();
    const base = failing.attempts;
    failing.failNext = 4;
    const ack = track(store.append('doc', editor.edit()));
    await failing.attemptsSettled(base + 1);
    await settle();
    expect(ack.state).toBe('pending');
    expect(store.health()).toMatchObject({ status: 'degraded', reasons: ['storage-writes-failing'], consecutiveFailures: 1, lastErrorCode: 'SKEIN_ERR_STORAGE_WRITE' });
    expect(store.stats()).toMatchObject({ lastErrorDetail: 'LEVEL_IO_ERROR', pending: { immediate: { updates: 1 } }, failingDocuments: 1 });

    // Backoff 50, 100, 200, 200 (capped): nothing happens a millisecond early.
    for (const [i, delay] of [50, 100, 200, 200].entries()) {
      timers.advance(delay - 1);
      await settle();
      expect(failing.attempts - base).toBe(i + 1);
      timers.advance(1);
      await failing.attemptsSettled(base + i + 2);
    }
    await ack.promise;
    expect(store.health()).toMatchObject({ status: 'ok', reasons: [], consecutiveFailures: 0 });
    expect(store.stats()).toMatchObject({ batchFailures: 4, failingDocuments: 0, pending: { immediate: { updates: 0 } } });
    expect(sameDoc(editor.doc, docFrom(await store.load('doc')))).toBe(true);
  });

  it('does not hammer a failing disk: appends during backoff wait for the retry and share its batch', async () => {
    const editor = new Editor();
    const base = failing.attempts;
    failing.failNext = 1;
    const first = track(store.append('doc', editor.edit()));
    await failing.attemptsSettled(base + 1);
    const more = Array.from({ length: 10 }, () => track(store.append('doc', editor.edit())));
    await settle();
    expect(failing.attempts - base).toBe(1);
    expect(store.stats().pending.immediate.updates).toBe(11);
    timers.advance(50);
    await Promise.all([first.promise, ...more.map((t) => t.promise)]);
    expect(failing.attempts - base).toBe(2);
    expect(sameDoc(editor.doc, docFrom(await store.load('doc')))).toBe(true);
  });

  it('reports degraded while any document waits for a retry, even if others write fine', async () => {
    const base = failing.attempts;
    failing.failNext = 1;
    const a = track(store.append('a', new Editor().edit()));
    await failing.attemptsSettled(base + 1);
    await store.append('b', new Editor().edit());
    expect(store.health()).toMatchObject({ status: 'degraded', consecutiveFailures: 0, failingDocuments: 1 });
    timers.advance(50);
    await a.promise;
    expect(store.health().status).toBe('ok');
  });

  it('close gives up at its deadline: unflushed documents are reported and their appends rejected', async () => {
    const base = failing.attempts;
    failing.failNext = Number.POSITIVE_INFINITY;
    const ack = track(store.append('stuck', new Editor().edit()));
    await failing.attemptsSettled(base + 1);
    const report = track(store.closeWithReport({ timeoutMs: 100 }));
    await failing.attemptsSettled(base + 2); // close retries at once, ignoring the backoff
    timers.advance(100);
    const result = await report.promise;
    expect(result.unflushed).toContain('stuck');
    expect(result.rejectedUpdates).toBeGreaterThanOrEqual(1);
    await expect(ack.promise).rejects.toSatisfy((e: unknown) => e instanceof SkeinError && e.code === 'SKEIN_ERR_STORAGE_UNFLUSHED');
  });

  it('close() rejects with SKEIN_ERR_STORAGE_UNFLUSHED when something could not be flushed', async () => {
    await store.closeWithReport({ timeoutMs: 10 }); // release the default store first
    const kv = new FailingKv(await LevelKv.open(dir));
    const t = new ManualTimers();
    store = await openLevelStore({ kv, logger, timers: t, closeTimeoutMs: 100 });
    kv.failNext = Number.POSITIVE_INFINITY;
    const ack = store.append('stuck', new Editor().edit()).catch((e: unknown) => e);
    await kv.attemptsSettled(1);
    const closing = store.close().then(() => 'resolved', (e: unknown) => (e instanceof SkeinError ? e.code : 'other'));
    await settle();
    t.advance(100);
    expect(await closing).toBe('SKEIN_ERR_STORAGE_UNFLUSHED');
    expect(((await ack) as SkeinError).code).toBe('SKEIN_ERR_STORAGE_UNFLUSHED');
  });
});
