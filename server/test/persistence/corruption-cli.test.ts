/**
 * The offline commands on a store whose newest snapshot is damaged, run as users run them
 * (the built `skein`: `npx tsc -b` first, as `pnpm test` does). The document is larger than
 * `offThreadMinBytes`, so `skein compact` merges in the worker thread of the CLI process.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import { DocKind, Space, keyHex, parseDocKey, spaceRange } from '../../src/persistence/key-layout.js';
import { LevelKv } from '../../src/persistence/level-kv.js';
import { openLevelStore } from '../../src/persistence/log-store.js';
import { Editor, docFrom, logger, sameDoc, tempDir } from './helpers.js';
import { runSkein } from '../cli-process.js';


const skein = (args: readonly string[]): ReturnType<typeof runSkein> => runSkein(args);

let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('skein-corruption-cli-'));
});

afterEach(async () => {
  await cleanup();
});

/** Three generations of a ~40 KB document, then a tail; returns the oracle. */
async function seed(): Promise<Y.Doc> {
  const store = await openLevelStore({ dir, logger, compaction: { enabled: false } });
  const editors = [new Editor(11), new Editor(12)];
  const updates: Uint8Array[] = [];
  try {
    for (let g = 0; g < 3; g++) {
      for (let i = 0; i < 40; i++) {
        const u = editors[i % 2]!.edit(`g${g}-${i}-${'z'.repeat(300)}`);
        updates.push(u);
        await store.append('big', u);
      }
      await store.compact('big');
    }
    const tail = editors[0]!.edit('tail');
    updates.push(tail);
    await store.append('big', tail);
  } finally {
    await store.close();
  }
  return docFrom(updates);
}

async function damageNewestSnapshot(): Promise<Uint8Array> {
  const kv = await LevelKv.open(dir);
  try {
    let newest: { key: Uint8Array; value: Uint8Array } | undefined;
    for await (const entry of kv.iterate(spaceRange(Space.Doc))) if (parseDocKey(entry.key)?.kind === DocKind.Snapshot) newest = entry;
    if (newest === undefined) throw new Error('no snapshot');
    const bad = newest.value.slice();
    bad[bad.length >> 1] = (bad[bad.length >> 1] ?? 0) ^ 0xff;
    await kv.batch([{ type: 'put', key: newest.key, value: bad }], { sync: true });
    return newest.key;
  } finally {
    await kv.close();
  }
}

describe('offline commands after the newest snapshot is damaged', () => {
  it('verify reports it; export still has everything; compact rebuilds (in the worker) and verify is clean', async () => {
    const oracle = await seed();
    const clean = await skein(['verify', '--data-dir', dir]);
    expect(clean.status, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(/^verify: \d+ records checked: OK\n$/); // the retained generation is not "stale"

    const victim = await damageNewestSnapshot();
    const damaged = await skein(['verify', '--json', '--data-dir', dir]);
    expect(damaged.status).toBe(1);
    expect(JSON.parse(damaged.stdout)).toMatchObject({
      ok: false,
      problems: [{ kind: 'damaged', code: 'SKEIN_ERR_STORAGE_CORRUPT_RECORD', doc: 'big', key: keyHex(victim) }],
    });

    const exported = await skein(['export', 'big', '--data-dir', dir]);
    expect(exported.status, exported.stderr).toBe(0);
    expect(exported.stderr).toMatch(/warning: 1 damaged record\(s\) of "big" skipped/);
    expect(sameDoc(oracle, docFrom([new Uint8Array(exported.bytes)]))).toBe(true);

    const inspect = await skein(['inspect', 'big', '--json', '--data-dir', dir]);
    expect(inspect.status, inspect.stderr).toBe(0);
    expect((JSON.parse(inspect.stdout) as { records: unknown }).records).toMatchObject({ snapshots: 1, damaged: 1 });

    const compacted = await skein(['compact', 'big', '--json', '--data-dir', dir]);
    expect(compacted.status, compacted.stderr).toBe(0);
    expect(JSON.parse(compacted.stdout)).toMatchObject({ documents: 1, compacted: 1, quarantined: 1, offThread: 1, failed: [] });
    const after = await skein(['verify', '--data-dir', dir]);
    expect(after.status, after.stdout).toBe(0);

    const store = await openLevelStore({ dir, logger, compaction: { enabled: false } });
    try {
      expect(sameDoc(oracle, docFrom(await store.load('big')))).toBe(true);
      expect(store.stats().quarantinedRecords).toBe(1);
    } finally {
      await store.close();
    }
  });
});
