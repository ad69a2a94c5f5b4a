import { SkeinError } from '../errors/skein-error.js';
import type { EngineContext } from './engine-context.js';
import { Space, metaKey, nameKey } from './key-layout.js';
import {
  RecordType, decodeMeta, decodeVarUint, encodeRecord, encodeVarUint, readRecord, type DocMeta, type RecordDamage,
} from './record-codec.js';
import {
  findDocIdByName, maxStoredSeq, metaPut, quarantineOps, read, readDocument, rebuildMeta, type DamagedRecord,
} from './doc-reader.js';
import type { KvOp } from './kv-store.js';

/** What a document log knows about its stored document (only mutated inside its queue). */
export interface DocState {
  readonly docId: number;
  /** The name-index record is durable (false until the first batch of a new document lands). */
  indexed: boolean;
  /** Metadata as last made durable. */
  meta: DocMeta;
  /** Next sequence number to assign (above every seq that may be on disk). */
  nextSeq: number;
}

export function newDocState(ctx: EngineContext, name: string): DocState {
  const now = ctx.timers.now();
  return {
    docId: ctx.allocateDocId(),
    indexed: false,
    meta: {
      name, createdAt: now, updatedAt: now, lastSeq: 0, snapshotSeq: 0, snapshotBytes: 0,
      logCount: 0, logBytes: 0, totalUpdates: 0, stateVector: Uint8Array.of(0),
    },
    nextSeq: 1,
  };
}

export function nameIndexPut(nameBytes: Uint8Array, docId: number): KvOp {
  const key = nameKey(nameBytes);
  return { type: 'put', key, value: encodeRecord(key, RecordType.NameIndex, encodeVarUint(docId)) };
}

/**
 * Read a stored document's id and metadata, repairing what can be repaired: a damaged
 * metadata record is quarantined and rebuilt from the log; a damaged name-index record is
 * rebuilt from the metadata that names the document. `undefined`: the document was never
 * stored. Rejects with `SKEIN_ERR_STORAGE_READ` on I/O errors and with
 * `SKEIN_ERR_STORAGE_CORRUPT_RECORD` when the document's id cannot be recovered (so that a
 * damaged index never reads as an empty document).
 */
export async function lookupDocState(ctx: EngineContext, name: string, nameBytes: Uint8Array): Promise<DocState | undefined> {
  const key = nameKey(nameBytes);
  const raw = await read('name index', () => ctx.kv.get(key));
  if (raw === undefined) return undefined;
  const repairs: KvOp[] = [];
  const index = readRecord(key, raw, RecordType.NameIndex, decodeVarUint);
  let docId: number;
  if (index.ok) docId = index.value;
  else {
    const found = await findDocIdByName(ctx.kv, name);
    if (found === undefined) {
      reportDamage(ctx, name, [{ key, value: raw, damage: index.damage }]);
      throw new SkeinError('SKEIN_ERR_STORAGE_CORRUPT_RECORD', `the name-index record of "${name}" is damaged (${index.damage}) and no metadata names the document; run verify`);
    }
    docId = found;
    repairs.push(...quarantineOps(ctx, [{ key, value: raw, damage: index.damage }], ctx.timers.now()));
    repairs.push(nameIndexPut(nameBytes, docId));
    reportDamage(ctx, name, [{ key, value: raw, damage: index.damage }]);
  }
  const meta = await readMeta(ctx, name, docId, repairs);
  if (repairs.length > 0) await writeRepairs(ctx, name, repairs);
  const maxSeq = await maxStoredSeq(ctx.kv, docId);
  return { docId, indexed: true, meta, nextSeq: Math.max(meta.lastSeq, maxSeq) + 1 };
}

async function readMeta(ctx: EngineContext, name: string, docId: number, repairs: KvOp[]): Promise<DocMeta> {
  const key = metaKey(docId);
  const raw = await read('document metadata', () => ctx.kv.get(key));
  let damage: RecordDamage | 'missing' = 'missing';
  if (raw !== undefined) {
    const meta = readRecord(key, raw, RecordType.Meta, decodeMeta);
    if (meta.ok && meta.value.name === name) return meta.value;
    damage = meta.ok ? 'decode' : meta.damage; // metadata naming another document is damage too
    const damaged: DamagedRecord[] = [{ key, value: raw, damage }];
    repairs.push(...quarantineOps(ctx, damaged, ctx.timers.now()));
    reportDamage(ctx, name, damaged);
  }
  const contents = await readDocument(ctx.kv, docId);
  const rebuilt = rebuildMeta(name, contents, ctx.timers.now());
  repairs.push(metaPut(docId, rebuilt));
  ctx.logger.warn({ code: 'SKEIN_ERR_STORAGE_CORRUPT_RECORD', doc: name, damage }, 'document metadata rebuilt from its log');
  return rebuilt;
}

/** Best effort: a failed repair write is logged; the next append batch rewrites the metadata. */
async function writeRepairs(ctx: EngineContext, name: string, ops: KvOp[]): Promise<void> {
  try {
    await ctx.kv.batch(ops, { sync: true });
    ctx.counters.quarantinedRecords += countQuarantined(ops);
  } catch (err) {
    const e = new SkeinError('SKEIN_ERR_STORAGE_WRITE', 'failed to write a metadata repair', { cause: err });
    ctx.counters.failed(e, ctx.timers.now());
    ctx.logger.error({ code: e.code, doc: name, err: e.message }, 'storage repair write failed');
  }
}

/** Log damaged records (document name, reason and size only; never content). */
export function reportDamage(ctx: EngineContext, name: string, damaged: readonly DamagedRecord[]): void {
  for (const d of damaged) {
    ctx.logger.error(
      { code: 'SKEIN_ERR_STORAGE_CORRUPT_RECORD', doc: name, damage: d.damage, bytes: d.value.length },
      'damaged storage record',
    );
  }
}

/** Number of quarantine puts in a batch built by `quarantineOps`. */
export function countQuarantined(ops: readonly KvOp[]): number {
  return ops.filter((op) => op.type === 'put' && op.key[0] === Space.Quarantine).length;
}
