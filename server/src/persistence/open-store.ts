import { SkeinError } from '../errors/skein-error.js';
import { collect, read } from './doc-reader.js';
import { FORMAT_KEY, FORMAT_VERSION, OLDEST_FORMAT_VERSION, Space, parseDocKey, parseIdKey, spaceRange } from './key-layout.js';
import type { KvOp, KvStore } from './kv-store.js';
import { RecordType, decodeVarUint, encodeRecord, encodeVarUint, readRecord } from './record-codec.js';
import { recoverOutbox, type OutboxRecovery } from './store-outbox.js';
import { EMPTY_EVENTS_RECOVERY, recoverEvents, type EventsRecovery } from './store-events.js';

export interface StoreIds {
  readonly nextDocId: number;
  readonly nextQuarantineId: number;
  /** Records in quarantine when the store was opened. */
  readonly quarantined: number;
  /** Where the replication outbox continues. */
  readonly outbox: OutboxRecovery;
  /** Where the document-event journal continues. */
  readonly events: EventsRecovery;
}

/**
 * Check the format record (writing it into an empty store), then find the next free
 * document, quarantine and outbox ids. Ids are derived from the keys on disk, never from a counter
 * record, so they cannot go backwards after a crash.
 */
export async function prepareStore(kv: KvStore, events = false, upgrade = true): Promise<StoreIds> {
  await checkFormat(kv, upgrade);
  const lastMeta = await lastKey(kv, Space.Meta);
  const lastDoc = await lastKey(kv, Space.Doc);
  const lastQuarantine = await lastKey(kv, Space.Quarantine);
  const maxDocId = Math.max(
    lastMeta === undefined ? 0 : (parseIdKey(lastMeta, Space.Meta) ?? 0),
    lastDoc === undefined ? 0 : (parseDocKey(lastDoc)?.docId ?? 0),
  );
  const quarantined = await read('quarantine', async () => {
    let n = 0;
    for await (const _ of kv.iterate(spaceRange(Space.Quarantine))) n++;
    return n;
  });
  return {
    nextDocId: maxDocId + 1,
    nextQuarantineId: (lastQuarantine === undefined ? 0 : (parseIdKey(lastQuarantine, Space.Quarantine) ?? 0)) + 1,
    quarantined,
    outbox: await recoverOutbox(kv),
    // Only a store that journals events reads their spaces (an open without them costs nothing more).
    events: events ? await recoverEvents(kv) : EMPTY_EVENTS_RECOVERY,
  };
}

/** The format record of an empty store. */
export function formatRecordPut(): KvOp {
  return { type: 'put', key: FORMAT_KEY, value: encodeRecord(FORMAT_KEY, RecordType.Format, encodeVarUint(FORMAT_VERSION)) };
}

async function checkFormat(kv: KvStore, upgrade: boolean): Promise<void> {
  const raw = await read('format record', () => kv.get(FORMAT_KEY));
  if (raw === undefined) {
    const any = await collect(kv, { limit: 1 }, 'store');
    if (any.length > 0) {
      throw new SkeinError('SKEIN_ERR_STORAGE_FORMAT', 'the data directory holds data without a Skein format record; refusing to use it');
    }
    try {
      await kv.batch([formatRecordPut()], { sync: true });
    } catch (cause) {
      throw new SkeinError('SKEIN_ERR_STORAGE_WRITE', 'failed to write the format record', { cause });
    }
    return;
  }
  const format = readRecord(FORMAT_KEY, raw, RecordType.Format, decodeVarUint);
  if (!format.ok) throw new SkeinError('SKEIN_ERR_STORAGE_FORMAT', `the format record is damaged (${format.damage})`);
  if (format.value < OLDEST_FORMAT_VERSION || format.value > FORMAT_VERSION) {
    const hint = format.value > FORMAT_VERSION ? 'written by a newer Skein; upgrade to open it' : 'unknown';
    throw new SkeinError('SKEIN_ERR_STORAGE_FORMAT', `storage format version ${format.value} is not supported (this build reads versions ${OLDEST_FORMAT_VERSION} to ${FORMAT_VERSION}): ${hint}`);
  }
  // Version 1 holds nothing version 2 reads differently; from now on it may hold chunked
  // snapshots, which a build that reads only version 1 must refuse rather than take for damage.
  if (upgrade && format.value < FORMAT_VERSION) {
    try {
      await kv.batch([formatRecordPut()], { sync: true });
    } catch (cause) {
      throw new SkeinError('SKEIN_ERR_STORAGE_WRITE', 'failed to upgrade the format record', { cause });
    }
  }
}

async function lastKey(kv: KvStore, space: number): Promise<Uint8Array | undefined> {
  const last = await collect(kv, { ...spaceRange(space), reverse: true, limit: 1 }, 'store keys');
  return last[0]?.key;
}
