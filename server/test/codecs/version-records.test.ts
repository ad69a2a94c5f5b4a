import { describe, expect, it } from 'vitest';
import { ProtocolError } from '@skein/protocol';
import { decodeVersionKey, versionKey, VersionPart } from '../../src/persistence/key-layout.js';
import { decodeVersionMeta, encodeVersionMeta } from '../../src/persistence/version-records.js';

const META = { kind: 'named', createdAt: 1_700_000_000_000, bytes: 300, label: 'v1', user: 'ann' } as const;
// kind 1 · createdAt varUint · bytes 300 = AC 02 · "v1" · "ann"
const META_BYTES = [1, 128, 208, 149, 255, 188, 49, 172, 2, 2, 118, 49, 3, 97, 110, 110];

describe('version records (space 07)', () => {
  it('metadata: golden bytes, round trip', () => {
    expect([...encodeVersionMeta(META)]).toEqual(META_BYTES);
    expect(decodeVersionMeta(Uint8Array.from(META_BYTES), 4)).toEqual({ id: 4, ...META });
  });

  it('key: 07 docId part versionId, golden bytes and round trip', () => {
    const key = versionKey(7, VersionPart.State, 3);
    expect([...key]).toEqual([7, 0, 0, 0, 0, 0, 0, 0, 7, 2, 0, 0, 0, 0, 0, 0, 0, 3]);
    expect(decodeVersionKey(key)).toEqual({ docId: 7, part: 2, versionId: 3 });
    // A version's metadata sorts before its state records: one range reads every metadata record.
    expect(Buffer.compare(versionKey(7, VersionPart.Meta, 99), versionKey(7, VersionPart.State, 1))).toBe(-1);
  });

  it('refuses damage with coded protocol errors', () => {
    for (const bad of [[], [9, 0, 0, 0, 0], META_BYTES.slice(0, 10), [...META_BYTES, 0]]) {
      expect(() => decodeVersionMeta(Uint8Array.from(bad), 1)).toThrow(ProtocolError);
    }
    expect(() => decodeVersionKey(Uint8Array.of(7, 0))).toThrow(ProtocolError);
  });
});
