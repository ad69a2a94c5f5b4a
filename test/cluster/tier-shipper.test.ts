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

/** A KvStore whose next batch is held until `release()`. */
class HoldingKv implements KvStore {
  readonly inner = new MemoryKv();
  #held: { run: () => void } | undefined;
  #holdNext = false;

  holdNext(): { release: () => void } {
    this.#holdNext = true;
    return { release: () => this.#held?.run() };
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.inner.get(key);
  }

  batch(ops: readonly KvOp[], options: KvBatchOptions): Promise<void> {
    if (!this.#holdNext) return this.inner.batch(ops, options);
    this.#holdNext = false;
    return new Promise((resolve, reject) => {
      this.#held = { run: () => void this.inner.batch(ops, options).then(resolve, reject) };
    });
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

  async function setUp(kv: KvStore): Promise<SharedTier> {
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
    store = await openLevelStore({ kv, logger });
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
    const kv = new HoldingKv();
    const tier = await setUp(kv);
    // Document A's batch takes outbox seq 1 and is held; document B's (seq 2) lands and ships.
    const gate = kv.holdNext();
    const a = store.append('A', update('first'), { replicate: true });
    const b = await store.append('B', update('second'), { replicate: true });
    await shipper.delivered(b?.outboxSeq ?? -1);
    expect(await text(tier, 'B')).toBe('second');
    gate.release();
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
