import { afterEach, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait.js';
import type { HealthReport } from '../../server/src/health/model.js';
import { HEALTH_CODE } from '../../server/src/health/names.js';
import { DocKind, parseDocKey } from '../../server/src/persistence/key-layout.js';
import type { LogStore } from '../../server/src/persistence/log-store.js';
import type { SkeinServer } from '../../server/src/server.js';
import { createTestTelemetry } from '../../server/src/telemetry/testing.js';
import { Editor, FaultyKv, levelStoreOn, startInProcess } from './helpers.js';

/**
 * The integrity scan is a health check: it reads through the store's read-only `inspect`, so a
 * damaged record is reported — never quarantined, repaired or compacted by the check itself.
 */

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const DOC = 'scan/doc';
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Every key and value in the KV, as hex (the whole disk, for before/after comparison). */
async function diskImage(kv: FaultyKv): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const { key, value } of kv.inner.iterate({})) out.set(hex(key), hex(value));
  return out;
}

async function rig(): Promise<{ kv: FaultyKv; store: LogStore; server: SkeinServer }> {
  const t = await createTestTelemetry({ tracing: false });
  const kv = new FaultyKv();
  const store = await levelStoreOn(kv, t.telemetry);
  const server = await startInProcess({ store, telemetry: t.telemetry });
  const client = await RawClient.connect(server.url, DOC);
  cleanups.push(() => t.telemetry.close(), () => server.close(), () => client.dispose());
  const editor = new Editor(7);
  client.send(editor.syncStep1());
  await client.roundTrip();
  // One stored record each: edits that arrive in one socket read are applied (and stored) as one.
  for (let i = 0; i < 3; i++) {
    client.send(editor.edit(`k${i}`, i));
    await client.roundTrip();
  }
  await waitFor(() => store.stats().pending.immediate.updates === 0 && store.stats().pending.debounced.updates === 0, { what: 'edits durable' });
  await store.flush(DOC);
  return { kv, store, server };
}

/** Flip one byte of the document's second stored update record (its checksum no longer matches). */
async function damageOneUpdate(kv: FaultyKv): Promise<void> {
  const updates: { key: Uint8Array; value: Uint8Array }[] = [];
  for await (const entry of kv.inner.iterate({})) if (parseDocKey(entry.key)?.kind === DocKind.Update) updates.push(entry);
  const victim = updates[1];
  if (victim === undefined) throw new Error(`expected at least 2 stored updates, found ${updates.length}`);
  const value = victim.value.slice();
  const i = value.length - 1;
  value[i] = (value[i] ?? 0) ^ 0x5a;
  await kv.inner.batch([{ type: 'put', key: victim.key, value }], { sync: true });
}

async function healthOf(server: SkeinServer): Promise<HealthReport> {
  return (await (await fetch(`http://127.0.0.1:${server.port}/health`)).json()) as HealthReport;
}

describe('integrity scan reads without side effects', () => {
  it('reports a damaged record and leaves the disk exactly as it was', async () => {
    const { kv, store, server } = await rig();
    await damageOneUpdate(kv);
    const before = await diskImage(kv);
    const quarantinedBefore = store.stats().quarantinedRecords;
    const batchesBefore = kv.batches;

    const scan = await server.health.scanIntegrity();

    // Reported: the document has damaged records, and what is stored no longer covers memory.
    expect(scan.checked).toBe(1);
    expect(scan.damaged).toEqual([DOC]);
    expect(scan.mismatched).toEqual([DOC]);
    const report = await healthOf(server);
    expect(report.checks.integrity.damaged).toEqual([DOC]);
    expect(report.reasons.find((r) => r.code === HEALTH_CODE.recordsDamaged)?.severity).toBe('degraded');
    expect(report.reasons.map((r) => r.code)).toContain(HEALTH_CODE.integrityMismatch);

    // Nothing written: same keys, same bytes, no batch, nothing quarantined.
    expect(kv.batches).toBe(batchesBefore);
    expect(store.stats().quarantinedRecords).toBe(quarantinedBefore);
    expect(await diskImage(kv)).toEqual(before);
  });

  it('a load, by contrast, quarantines the same record (the check above can see a change)', async () => {
    const { kv, store } = await rig();
    await damageOneUpdate(kv);
    const before = await diskImage(kv);
    const quarantinedBefore = store.stats().quarantinedRecords;

    await store.load(DOC);

    expect(store.stats().quarantinedRecords).toBe(quarantinedBefore + 1);
    expect(await diskImage(kv)).not.toEqual(before);
  });

  it('a clean document scans clean through inspect', async () => {
    const { kv, server } = await rig();
    const before = await diskImage(kv);
    const scan = await server.health.scanIntegrity();
    expect(scan).toEqual({ checked: 1, mismatched: [], damaged: [], failed: [] });
    expect(await diskImage(kv)).toEqual(before);
  });
});
