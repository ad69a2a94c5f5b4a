import { ByteReader, ByteWriter, ProtocolError, ProtocolErrorCode } from '@skein/protocol';
import type { VersionInfo, VersionKind } from '../documents/ports.js';

/**
 * The payload of a version's metadata record (`07 <docId> 01 <versionId>`, record type
 * `VersionMeta`); the state record (`… 02 …`, type `VersionState`) holds the bare Yjs update.
 *
 *   <kind: u8> <createdAt: varuint> <bytes: varuint> <label: varstring> <user: varstring>
 *
 * Kinds are only ever appended: 1 named, 2 auto, 3 before-restore.
 */
const KINDS: readonly VersionKind[] = ['named', 'auto', 'before-restore'];

export function encodeVersionMeta(info: Omit<VersionInfo, 'id'>): Uint8Array {
  return new ByteWriter(32 + 3 * (info.label.length + info.user.length))
    .writeU8(KINDS.indexOf(info.kind) + 1)
    .writeVarUint(info.createdAt)
    .writeVarUint(info.bytes)
    .writeVarString(info.label)
    .writeVarString(info.user)
    .toBytes();
}

export function decodeVersionMeta(payload: Uint8Array, id: number): VersionInfo {
  if (payload.length === 0) throw new ProtocolError(ProtocolErrorCode.Empty, 'the version record is empty');
  const reader = new ByteReader(payload);
  const kind = KINDS[reader.readU8('the version kind') - 1];
  if (kind === undefined) throw new ProtocolError(ProtocolErrorCode.UnknownMessageType, 'unknown version kind');
  const info: VersionInfo = {
    id,
    kind,
    createdAt: reader.readVarUint('createdAt'),
    bytes: reader.readVarUint('bytes'),
    label: reader.readVarString(payload.length, 'the label'),
    user: reader.readVarString(payload.length, 'the user'),
  };
  reader.expectEnd('the version record');
  return info;
}
