/**
 * A damaged record in a real store, with the real server process: `skein verify` reports it
 * (exit 1); the server quarantines it on load and keeps serving that document from its intact
 * records, and every other document in full; a client that still holds the lost edit heals
 * the hole when it reconnects.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { DocKind, docRange, encodeName, nameKey, parseDocKey } from '../../server/src/persistence/key-layout.js';
import { LevelKv } from '../../server/src/persistence/level-kv.js';
import { RecordType, decodeVarUint, openRecord, readRecord } from '../../server/src/persistence/record-codec.js';
import { ServerProcess, freePort, mapKeys, tempDataDir } from '../helpers/chaos.js';
import { CLI_MAIN } from '../helpers/cli-server.js';
import { DurableClient } from '../helpers/durable-client.js';
import { waitFor } from '../helpers/wait.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function skein(args: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve) => child.once('close', (status) => resolve({ status, stdout, stderr })));
}

/** Flip one byte of the update record of `name` that holds `key`; returns its seq. */
async function damageRecordHolding(dir: string, name: string, key: string): Promise<number> {
  const kv = await LevelKv.open(dir);
  try {
    const nKey = nameKey(encodeName(name) ?? new Uint8Array());
    const index = readRecord(nKey, (await kv.get(nKey)) ?? new Uint8Array(), RecordType.NameIndex, decodeVarUint);
    if (!index.ok) throw new Error('name index unreadable');
    for await (const { key: recordKey, value } of kv.iterate(docRange(index.value))) {
      const parts = parseDocKey(recordKey);
      const payload = openRecord(recordKey, value, RecordType.Update);
      if (parts?.kind !== DocKind.Update || !payload.ok) continue;
      const doc = new Y.Doc();
      Y.applyUpdate(doc, payload.value);
      const holds = mapKeys(doc).has(key);
      doc.destroy();
      if (!holds) continue;
      const damaged = value.slice();
      damaged[damaged.length - 1] = (damaged[damaged.length - 1] ?? 0) ^ 0xff;
      await kv.batch([{ type: 'put', key: recordKey, value: damaged }], { sync: true });
      return parts.seq;
    }
    throw new Error(`no update record of ${name} holds ${key}`);
  } finally {
    await kv.close();
  }
}

describe('chaos: a damaged record', () => {
  it('is reported by verify, quarantined by the server, which keeps serving the document and every other one', async () => {
    const { dir, cleanup } = await tempDataDir('skein-chaos-corruption-');
    cleanups.push(cleanup);
    const server = new ServerProcess(await freePort(), dir, []);
    cleanups.push(async () => void (await server.kill()));
    await server.start();
    const open = (doc: string, clientId: number): DurableClient => {
      const c = new DurableClient({ url: () => server.url, doc, clientId });
      cleanups.push(async () => {
        await c.stop();
        c.destroy();
      });
      c.start();
      return c;
    };

    // One edit per writer, so that every update record stands on its own.
    const docs = { victim: 'c/victim', others: ['c/other-1', 'c/victim/sub'] } as const;
    const writers = [
      ...Array.from({ length: 6 }, (_, i) => open(docs.victim, 500 + i)),
      ...docs.others.flatMap((doc, d) => Array.from({ length: 3 }, (_, i) => open(doc, 600 + d * 10 + i))),
    ];
    await waitFor(() => writers.every((w) => w.ready), { what: 'writers ready' });
    for (const w of writers) w.edit();
    await waitFor(() => writers.every((w) => w.unacked === 0), { what: 'edits acknowledged' });
    await Promise.all(writers.map((w) => w.stop()));
    // Killed, not stopped: a graceful shutdown folds each released document's updates into a
    // snapshot (docs/storage.md), and the damaged record would then not be the only copy.
    await server.kill();

    const victimWriter = writers[2];
    if (victimWriter === undefined) throw new Error('no writer');
    const lostKey = victimWriter.key(0);
    const seq = await damageRecordHolding(dir, docs.victim, lostKey);

    const verify = await skein(['verify', '--data-dir', dir]);
    expect(verify.status, verify.stdout + verify.stderr).toBe(1);
    expect(verify.stdout).toContain(`SKEIN_ERR_STORAGE_CORRUPT_RECORD damaged doc="${docs.victim}" seq=${seq}`);

    // The server loads the document from its intact records and quarantines the damaged one.
    await server.start();
    const reader = open(docs.victim, 700);
    const otherReaders = docs.others.map((doc, i) => open(doc, 710 + i));
    await waitFor(() => reader.ready && otherReaders.every((r) => r.ready), { what: 'readers synced' });
    const expectedVictim = writers.filter((w) => w.name === docs.victim && w !== victimWriter).map((w) => w.key(0));
    expect([...mapKeys(reader.doc)].sort()).toEqual(expectedVictim.sort());
    for (const r of otherReaders) {
      expect([...mapKeys(r.doc)].sort()).toEqual(writers.filter((w) => w.name === r.name).map((w) => w.key(0)).sort());
    }
    const damageLog = server.lines.map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((e) => e.code === 'SKEIN_ERR_STORAGE_CORRUPT_RECORD' && e.doc === docs.victim);
    expect(damageLog).toMatchObject({ damage: 'checksum' });

    // Still writable: a new edit on the damaged document is acknowledged.
    reader.edit();
    await waitFor(() => reader.unacked === 0, { what: 'edit on the damaged document acknowledged' });
    // The writer that still holds the lost edit reconnects: its sync step 2 re-sends it.
    victimWriter.start();
    await waitFor(() => victimWriter.ready && mapKeys(reader.doc).has(lostKey), { what: 'lost edit healed' });
    await Promise.all([reader, victimWriter, ...otherReaders].map((c) => c.stop()));
    expect(await server.stop()).toBe(0);

    // Live records intact again (the quarantine is listed); the healed edit is stored.
    const after = await skein(['verify', '--data-dir', dir]);
    expect(after.status, after.stdout).toBe(0);
    expect(after.stdout).toMatch(/quarantined \(checksum\)/);
    const exported = await skein(['export', docs.victim, '--format', 'json', '--data-dir', dir]);
    expect(Object.keys((JSON.parse(exported.stdout) as { m: Record<string, number> }).m).sort()).toEqual(
      [...writers.filter((w) => w.name === docs.victim).map((w) => w.key(0)), reader.key(0)].sort(),
    );
  });
});
