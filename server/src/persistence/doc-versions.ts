import { SkeinError } from '../errors/skein-error.js';
import type { NewVersion, VersionInfo } from '../documents/ports.js';
import { collect, read } from './doc-reader.js';
import type { DocState } from './doc-state.js';
import { VersionPart, decodeVersionKey, docRange, markRange, metaKey, nameKey, versionKey, versionMetaRange, versionRange } from './key-layout.js';
import type { KvOp, KvStore } from './kv-store.js';
import { RecordType, encodeRecord, openRecord, readRecord } from './record-codec.js';
import { decodeVersionMeta, encodeVersionMeta } from './version-records.js';

/**
 * One document's versions in the store (space `07`): each call runs inside the document's
 * queue (`DocumentLog.withState`), so ids are assigned without races and a delete of the
 * document cannot interleave. Every write is one synced atomic batch.
 */

/** Store a version: metadata and state in one batch. */
export async function addVersion(kv: KvStore, state: DocState | undefined, name: string, version: NewVersion): Promise<VersionInfo> {
  if (state?.indexed !== true) throw new SkeinError('SKEIN_ERR_DOC_NOT_FOUND', `no stored document "${name}"`);
  const last = await collect(kv, { ...versionMetaRange(state.docId), reverse: true, limit: 1 }, 'version metadata');
  const id = (last[0] === undefined ? 0 : decodeVersionKey(last[0].key).versionId) + 1;
  const info: VersionInfo = { id, kind: version.kind, label: version.label, createdAt: version.createdAt, user: version.user, bytes: version.state.byteLength };
  const metaK = versionKey(state.docId, VersionPart.Meta, id);
  const stateK = versionKey(state.docId, VersionPart.State, id);
  await write(kv, [
    { type: 'put', key: metaK, value: encodeRecord(metaK, RecordType.VersionMeta, encodeVersionMeta(info)) },
    { type: 'put', key: stateK, value: encodeRecord(stateK, RecordType.VersionState, version.state) },
  ]);
  return info;
}

/** Every intact version's metadata, oldest first (a damaged record is skipped). */
export async function listVersions(kv: KvStore, state: DocState | undefined): Promise<VersionInfo[]> {
  if (state?.indexed !== true) return [];
  const out: VersionInfo[] = [];
  for (const { key, value } of await collect(kv, versionMetaRange(state.docId), 'version metadata')) {
    const id = decodeVersionKey(key).versionId;
    const meta = readRecord(key, value, RecordType.VersionMeta, (payload) => decodeVersionMeta(payload, id));
    if (meta.ok) out.push(meta.value);
  }
  return out;
}

/** One version with its state, or undefined (also when a record of it is damaged). */
export async function readVersion(kv: KvStore, state: DocState | undefined, id: number): Promise<{ info: VersionInfo; state: Uint8Array } | undefined> {
  if (state?.indexed !== true || !Number.isSafeInteger(id) || id < 1) return undefined;
  const metaK = versionKey(state.docId, VersionPart.Meta, id);
  const stateK = versionKey(state.docId, VersionPart.State, id);
  const [rawMeta, rawState] = await Promise.all([read('version metadata', () => kv.get(metaK)), read('version state', () => kv.get(stateK))]);
  if (rawMeta === undefined || rawState === undefined) return undefined;
  const meta = readRecord(metaK, rawMeta, RecordType.VersionMeta, (payload) => decodeVersionMeta(payload, id));
  const body = openRecord(stateK, rawState, RecordType.VersionState);
  if (!meta.ok || !body.ok) return undefined;
  return { info: meta.value, state: body.value.slice() };
}

export async function removeVersions(kv: KvStore, state: DocState | undefined, ids: readonly number[]): Promise<void> {
  if (state?.indexed !== true || ids.length === 0) return;
  const ops: KvOp[] = [];
  for (const id of ids) {
    if (!Number.isSafeInteger(id) || id < 1) continue;
    ops.push({ type: 'del', key: versionKey(state.docId, VersionPart.Meta, id) }, { type: 'del', key: versionKey(state.docId, VersionPart.State, id) });
  }
  await write(kv, ops);
}

/** Every key of a stored document — name index, metadata, log, snapshots, versions — as deletes. */
export async function documentDeletes(kv: KvStore, state: DocState, nameBytes: Uint8Array): Promise<KvOp[]> {
  const ops: KvOp[] = [{ type: 'del', key: nameKey(nameBytes) }, { type: 'del', key: metaKey(state.docId) }];
  // The log, its versions and its webhook change marks (a deleted document has no pending change).
  for (const range of [docRange(state.docId), versionRange(state.docId), markRange(state.docId)]) {
    for (const { key } of await collect(kv, range, 'document records')) ops.push({ type: 'del', key });
  }
  return ops;
}

async function write(kv: KvStore, ops: readonly KvOp[]): Promise<void> {
  try {
    await kv.batch(ops, { sync: true });
  } catch (err) {
    throw new SkeinError('SKEIN_ERR_STORAGE_WRITE', 'writing version records failed', { cause: err });
  }
}
