import { rm, stat } from 'node:fs/promises';
import { decodeOutboxValue } from './outbox-codec.js';
import { SkeinError } from '../errors/skein-error.js';
import type { Logger } from '../logging/logger.js';
import { LevelKv } from './level-kv.js';
import type { LogStore } from './log-store.js';
import type { OutboxPayload } from './store-outbox.js';

/** Where releases before the in-log outbox kept the cluster outbox: a LevelDB of its own. */
export const LEGACY_OUTBOX_DIR = 'cluster-outbox';

/**
 * Move the entries of a legacy outbox directory (key = seq u64 BE, value = `name:varString
 * update:varUint8Array`, no checksum) into the store's outbox in one synced batch, in their
 * original order, then delete the directory. Returns how many entries moved (0 when there
 * is no such directory).
 *
 * Crash-safe by order: a crash before the batch leaves the directory as it was; after the
 * batch but before the delete, the next start moves the same entries again, and shipping an
 * update twice is harmless (merging is idempotent). An entry that cannot be decoded is
 * skipped and logged: every outbox entry is a copy of an update that is also in the local
 * document log, and anti-entropy carries that to the cluster.
 */
export async function migrateLegacyOutbox(store: LogStore, dir: string, logger: Logger): Promise<number> {
  if (!(await isDirectory(dir))) return 0;
  let kv: LevelKv;
  try {
    kv = await LevelKv.open(dir, {});
  } catch (cause) {
    throw new SkeinError('SKEIN_ERR_STORAGE_OPEN', `cannot open the legacy cluster outbox at ${dir}`, { cause });
  }
  const entries: OutboxPayload[] = [];
  let skipped = 0;
  try {
    for await (const { value } of kv.iterate({})) {
      const entry = decodeLegacy(value);
      if (entry === undefined) skipped++;
      else entries.push(entry);
    }
  } catch (cause) {
    await kv.close().catch(() => undefined);
    throw new SkeinError('SKEIN_ERR_STORAGE_READ', `cannot read the legacy cluster outbox at ${dir}`, { cause });
  }
  try {
    await store.adoptOutboxEntries(entries);
  } finally {
    await kv.close().catch(() => undefined);
  }
  await rm(dir, { recursive: true, force: true });
  if (skipped > 0) logger.error({ code: 'SKEIN_ERR_STORAGE_CORRUPT_RECORD', skipped, dir }, 'undecodable legacy outbox entries skipped');
  logger.info({ entries: entries.length, dir }, 'legacy cluster outbox moved into the store');
  return entries.length;
}

function decodeLegacy(value: Uint8Array): OutboxPayload | undefined {
  try {
    const { name, update } = decodeOutboxValue(value);
    return { name, update: update.slice() };
  } catch {
    return undefined;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
