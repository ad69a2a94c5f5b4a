import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LevelKv } from '../../src/persistence/level-kv.js';
import { openLevelStore, type LogStore } from '../../src/persistence/log-store.js';
import { CountingKv, Editor, ManualTimers, docFrom, logger, sameDoc, settle, tempDir, track } from './helpers.js';

// Debounce timing runs on injected manual timers: time moves only when the test says so.
let counting: CountingKv;
let timers: ManualTimers;
let store: LogStore;
let cleanup: () => Promise<void>;
let baseline: number;

const WAIT = 1_000;
const MAX_WAIT = 5_000;

beforeEach(async () => {
  const tmp = await tempDir();
  cleanup = tmp.cleanup;
  counting = new CountingKv(await LevelKv.open(tmp.dir));
  timers = new ManualTimers();
  store = await openLevelStore({
    kv: counting, logger, timers, rules: `now/*=immediate,slow/*=debounced:${WAIT}:${MAX_WAIT},*=debounced:10:20`,
  });
  baseline = counting.batches;
});

afterEach(async () => {
  const closing = store.closeWithReport({ timeoutMs: 1_000 });
  timers.advance(1_000); // the close deadline runs on the manual clock too
  await closing;
  await cleanup();
});

/** Batches written since the store opened. */
const written = (): number => counting.batches - baseline;

describe('debounced strategy', () => {
  it('writes one synced batch after waitMs of quiet; each append restarts the wait', async () => {
    const editor = new Editor();
    const a = track(store.append('slow/doc', editor.edit()));
    timers.advance(WAIT - 1);
    const b = track(store.append('slow/doc', editor.edit()));
    timers.advance(WAIT - 1);
    await settle();
    expect(written()).toBe(0);
    expect([a.state, b.state]).toEqual(['pending', 'pending']);
    expect(store.stats().pending.debounced).toEqual({ updates: 2, bytes: expect.any(Number) as number });
    timers.advance(1);
    await Promise.all([a.promise, b.promise]);
    expect(written()).toBe(1);
    expect(counting.options.at(-1)).toEqual({ sync: true });
    expect(sameDoc(editor.doc, docFrom(await store.load('slow/doc')))).toBe(true);
  });

  it('writes at most maxWaitMs after the first buffered update, even if appends never pause', async () => {
    const editor = new Editor();
    const acks: ReturnType<typeof track>[] = [];
    // An append every WAIT - 100 ms (at 0, 900, …, 4500): the wait timer never expires on its own.
    for (let t = 0; t <= 4_500; t += WAIT - 100) {
      if (t > 0) timers.advance(WAIT - 100);
      acks.push(track(store.append('slow/doc', editor.edit())));
    }
    await settle();
    expect(written()).toBe(0);
    timers.advance(MAX_WAIT - 4_500 - 1); // 4999 ms after the first append
    await settle();
    expect(written()).toBe(0);
    expect(acks.every((t) => t.state === 'pending')).toBe(true);
    timers.advance(1);
    await Promise.all(acks.map((t) => t.promise));
    expect(written()).toBe(1);
  });

  it('starts a new window after a flush, and flush(name) writes at once', async () => {
    const editor = new Editor();
    const a = store.append('slow/doc', editor.edit());
    timers.advance(WAIT);
    await a;
    const b = track(store.append('slow/doc', editor.edit()));
    timers.advance(WAIT - 1);
    await settle();
    expect(b.state).toBe('pending');
    await store.flush('slow/doc');
    expect(b.state).toBe('resolved');
    expect(written()).toBe(2);
  });

  it('chooses the strategy by rule, first match wins', async () => {
    expect(store.strategyFor('now/x')).toEqual({ kind: 'immediate' });
    expect(store.strategyFor('slow/x')).toEqual({ kind: 'debounced', waitMs: WAIT, maxWaitMs: MAX_WAIT });
    expect(store.strategyFor('other')).toEqual({ kind: 'debounced', waitMs: 10, maxWaitMs: 20 });
    // immediate: acknowledged without any time passing
    await store.append('now/x', new Editor().edit());
    expect(written()).toBe(1);
    const other = track(store.append('other', new Editor().edit()));
    timers.advance(9);
    await settle();
    expect(other.state).toBe('pending');
    timers.advance(1);
    await other.promise;
    expect(written()).toBe(2);
  });

  it('keeps debounce windows per document', async () => {
    const a = track(store.append('slow/a', new Editor().edit()));
    timers.advance(WAIT / 2);
    const b = track(store.append('slow/b', new Editor().edit()));
    timers.advance(WAIT / 2);
    await a.promise;
    expect(b.state).toBe('pending');
    timers.advance(WAIT / 2);
    await b.promise;
    expect(written()).toBe(2);
  });
});
