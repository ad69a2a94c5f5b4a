import { afterAll, beforeAll, describe } from 'vitest';
import { SharedTierStore } from '../../server/src/cluster/shared-tier-store.js';
import type { DocumentStore } from '../../server/src/documents/ports.js';
import { silentLogger } from '../../server/src/logging/logger.js';
import { runStoreConformance } from '../../server/test/persistence/store-conformance.js';
import { RedisProcess, redisAvailable, redisCli } from '../helpers/redis-server.js';

/**
 * The cluster's shared Redis tier through the `DocumentStore` port, against a real
 * redis-server on a free port: the same conformance suite as the local engines (no outbox:
 * the tier is where outboxes are shipped to).
 */
describe.runIf(redisAvailable())('shared tier as a DocumentStore', () => {
  let redis: RedisProcess;
  beforeAll(async () => {
    redis = await RedisProcess.start();
  });
  afterAll(async () => {
    await redis.stop();
  });

  const open = (): Promise<DocumentStore> => SharedTierStore.open({ target: { mode: 'standalone', url: redis.url }, logger: silentLogger() });

  runStoreConformance('Redis shared tier (cluster/shared-tier-store.ts)', async () => {
    await redisCli(redis.port, 'FLUSHALL');
    let current = await open();
    return {
      get store() {
        return current;
      },
      dispose: () => current.close().catch(() => undefined),
      reopen: async () => {
        current = await open();
        return current;
      },
    };
  }, { outbox: false, persistent: true });
});
