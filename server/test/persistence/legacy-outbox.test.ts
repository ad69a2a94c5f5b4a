import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as encoding from 'lib0/encoding';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { DEFAULT_CONFIG, type Config } from '../../src/config/schema.js';
import { LEGACY_OUTBOX_DIR, migrateLegacyOutbox } from '../../src/persistence/legacy-outbox.js';
import { LevelKv } from '../../src/persistence/level-kv.js';
import { openLevelStore } from '../../src/persistence/log-store.js';
import { startServer } from '../../src/server.js';
import { silentLogger } from '../../src/logging/logger.js';
import { logger, tempDir } from './helpers.js';

/** Write a `cluster-outbox` LevelDB exactly as releases before the in-log outbox did. */
async function writeLegacyOutbox(dir: string, entries: readonly { name: string; update: Uint8Array }[], garbage = 0): Promise<void> {
  const kv = await LevelKv.open(dir, {});
  const ops = entries.map((e, i) => {
    const key = new Uint8Array(8);
    new DataView(key.buffer).setBigUint64(0, BigInt(i + 1));
    const enc = encoding.createEncoder();
    encoding.writeVarString(enc, e.name);
    encoding.writeVarUint8Array(enc, e.update);
    return { type: 'put' as const, key, value: encoding.toUint8Array(enc) };
  });
  for (let g = 0; g < garbage; g++) {
    const key = new Uint8Array(8);
    new DataView(key.buffer).setBigUint64(0, BigInt(1_000 + g));
    ops.push({ type: 'put' as const, key, value: Uint8Array.of(0xff, 0xff) });
  }
  await kv.batch(ops, { sync: true });
  await kv.close();
}

function edits(n: number): { name: string; update: Uint8Array }[] {
  const doc = new Y.Doc();
  return Array.from({ length: n }, (_, i) => {
    const before = Y.encodeStateVector(doc);
    doc.getMap('m').set(`k${i}`, i);
    return { name: i % 2 === 0 ? 'even/ü' : 'odd', update: Y.encodeStateAsUpdate(doc, before) };
  });
}

describe('legacy cluster-outbox migration', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('skein-legacy-outbox-'));
  });
  afterEach(async () => {
    await cleanup();
  });

  it('moves every entry into the store outbox in the original order (one batch), then deletes the directory', async () => {
    const legacy = join(dir, LEGACY_OUTBOX_DIR);
    const entries = edits(7);
    await writeLegacyOutbox(legacy, entries, 1);
    const store = await openLevelStore({ dir, logger });
    expect(await migrateLegacyOutbox(store, legacy, logger)).toBe(7);
    expect(existsSync(legacy)).toBe(false);
    expect(store.outbox.size).toBe(7);
    const moved = await store.outbox.peek(100);
    expect(moved.map(({ name, update }) => ({ name, update }))).toEqual(entries);
    // Nothing left to move on the next start; new entries continue after the adopted seqs.
    expect(await migrateLegacyOutbox(store, legacy, logger)).toBe(0);
    const next = await store.append('odd', edits(1)[0]?.update ?? new Uint8Array(), { replicate: true });
    expect(next?.outboxSeq).toBeGreaterThan(Math.max(...moved.map((e) => e.seq)));
    await store.close();
    // Durable: the adopted entries are in the store after reopen.
    const reopened = await openLevelStore({ dir, logger });
    expect(reopened.outbox.size).toBe(8);
    await reopened.close();
  });

  it('the server runs it at start: a data directory of the old layout comes up with its outbox in the store', async () => {
    const legacy = join(dir, LEGACY_OUTBOX_DIR);
    // The old layout: the store's LevelDB with the outbox's own LevelDB inside it.
    await (await openLevelStore({ dir, logger })).close();
    await writeLegacyOutbox(legacy, edits(3));
    const config: Config = Object.freeze({ ...DEFAULT_CONFIG, host: '127.0.0.1', port: 0, storage: 'leveldb' as const, dataDir: dir, logLevel: 'silent' as const });
    const server = await startServer(config, { logger: silentLogger() });
    try {
      expect(server.store.outbox?.size).toBe(3);
      expect(existsSync(legacy)).toBe(false);
    } finally {
      await server.close();
    }
  });
});
