import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { RedisLink } from '../../server/src/cluster/redis-link.js';
import { SharedTier } from '../../server/src/cluster/shared-tier.js';
import { TierShipper } from '../../server/src/cluster/tier-shipper.js';
import type { KvBatchOptions, KvEntry, KvOp, KvRange, KvStore } from '../../server/src/persistence/kv-store.js';
import { openLevelStore, type LogStore } from '../../server/src/persistence/log-store.js';
import { MemoryKv } from '../../server/src/persistence/memory-kv.js';
import { silentLogger } from '../../server/src/logging/logger.js';
import { RedisProcess, redisAvailable, redisCli } from '../helpers/redis-server.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { waitFor } from '../helpers/wait.js';

/** A KvStore whose next batch can be made to fail (nothing written). */
class FailingKv implements KvStore {
  readonly inner = new MemoryKv();
  #failNext = false;
  failed = 0;

  /** The next batch fails with an I/O error. */
  failNext(): void {
    this.#failNext = true;
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.inner.get(key);
  }

  batch(ops: readonly KvOp[], options: KvBatchOptions): Promise<void> {
    if (!this.#failNext) return this.inner.batch(ops, options);
    this.#failNext = false;
    this.failed++;
    return Promise.reject(Object.assign(new Error('simulated I/O error'), { code: 'LEVEL_IO_ERROR' }));
  }

  iterate(range: KvRange): AsyncIterable<KvEntry> {
    return this.inner.iterate(range);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

function update(text: string): Uint8Array {
  const doc = new Y.Doc();
  doc.getText('t').insert(0, text);
  return Y.encodeStateAsUpdate(doc);
}

/** The shipper between a store's outbox and a real Redis shared tier. */
describe.runIf(redisAvailable())('TierShipper', () => {
  let redis: RedisProcess;
  let link: RedisLink;
  let store: LogStore;
  let shipper: TierShipper;
  beforeAll(async () => {
    redis = await RedisProcess.start();
  });
  afterAll(async () => {
    await redis.stop();
  });
  afterEach(async () => {
    await shipper.close(1_000);
    await store.close();
    await link.close();
  });

  async function setUp(kv: KvStore, timers?: ManualClock): Promise<SharedTier> {
    await redisCli(redis.port, 'FLUSHALL');
    let up!: () => void;
    const ready = new Promise<void>((resolve) => (up = resolve));
    const logger = silentLogger();
    link = new RedisLink({
      target: { mode: 'standalone', url: redis.url }, logger, maxBackoffMs: 500, commandTimeoutMs: 2_000,
      onMessage: () => undefined, onUp: () => up(), onDown: () => undefined,
    });
    link.start();
    await ready;
    store = await openLevelStore({ kv, logger, ...(timers === undefined ? {} : { timers }) });
    const tier = new SharedTier(link, logger);
    shipper = new TierShipper(store.outbox, tier, link, logger);
    return tier;
  }

  const text = async (tier: SharedTier, name: string): Promise<string> => {
    const doc = new Y.Doc();
    for (const p of await tier.load(name)) Y.applyUpdate(doc, p);
    return doc.getText('t').toJSON();
  };

  it('ships what is appended with replicate: true, and only that, then empties the outbox', async () => {
    const tier = await setUp(new MemoryKv());
    await store.append('local-only', update('x'));
    const { outboxSeq } = (await store.append('shared', update('hello'), { replicate: true })) ?? {};
    await shipper.delivered(outboxSeq ?? -1);
    expect(await text(tier, 'shared')).toBe('hello');
    expect(await tier.load('local-only')).toEqual([]);
    expect(store.outbox.size).toBe(0);
  });

  it('delivered(seq) waits for that entry even when a later seq (another document) was shipped first', async () => {
    const kv = new FailingKv();
    const timers = new ManualClock();
    const tier = await setUp(kv, timers);
    // Document A's batch takes outbox seq 1 and fails (its retry waits on manual time);
    // document B's (seq 2) lands and ships first.
    kv.failNext();
    const a = store.append('A', update('first'), { replicate: true });
    await waitFor(() => kv.failed === 1, { what: 'the failed batch of A' });
    const b = await store.append('B', update('second'), { replicate: true });
    await shipper.delivered(b?.outboxSeq ?? -1);
    expect(await text(tier, 'B')).toBe('second');
    timers.advance(60_000); // A's retry
    const seqA = (await a)?.outboxSeq ?? -1;
    expect(seqA).toBeLessThan(b?.outboxSeq ?? 0);
    // A high-water mark of shipped seqs would resolve this at once, before A is in Redis.
    await shipper.delivered(seqA);
    expect(await text(tier, 'A')).toBe('first');
  });

  it('delivered() rejects with SKEIN_ERR_SHUTTING_DOWN when the shipper closes while Redis is unreachable', async () => {
    await setUp(new MemoryKv());
    await redis.kill();
    const { outboxSeq } = (await store.append('late', update('z'), { replicate: true })) ?? {};
    const waiting = shipper.delivered(outboxSeq ?? -1).catch((err: { code?: string }) => err.code);
    await shipper.close(0);
    expect(await waiting).toBe('SKEIN_ERR_SHUTTING_DOWN');
    expect(store.outbox.size).toBe(1); // kept for the next start
    await redis.restart();
  });
});
