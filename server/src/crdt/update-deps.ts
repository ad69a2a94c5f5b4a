import * as Y from 'yjs';
import { createHash } from 'node:crypto';

/**
 * Whether `update` can be integrated into a document whose state vector is `stateVector`
 * without leaving anything pending: every struct it carries must start where the document
 * (or the update itself) already reaches for its client, and every item it references —
 * left and right origin, parent — and every range it deletes must be in the document or in
 * the update. An update that fails this was made for another document (or against a state
 * this one never had): the HTTP API refuses it instead of keeping pending structs forever.
 *
 * Pure; throws (from Yjs) when the bytes are not an update at all.
 */
export function missingDependencies(update: Uint8Array, stateVector: ReadonlyMap<number, number>): boolean {
  const { structs, ds } = Y.decodeUpdate(update);
  // The clock each client reaches with the document plus the structs of this update, in order.
  const reach = new Map<number, number>(stateVector);
  const sorted = [...structs].sort((a, b) => a.id.client - b.id.client || a.id.clock - b.id.clock);
  for (const struct of sorted) {
    if (struct instanceof Y.Skip) continue;
    const have = reach.get(struct.id.client) ?? 0;
    if (struct.id.clock > have) return true; // a gap before this struct
    reach.set(struct.id.client, Math.max(have, struct.id.clock + struct.length));
  }
  const known = (id: Y.ID | null): boolean => id === null || id.clock < (reach.get(id.client) ?? 0);
  for (const struct of sorted) {
    if (!(struct instanceof Y.Item)) continue;
    if (!known(struct.origin) || !known(struct.rightOrigin)) return true;
    if (struct.parent instanceof Y.ID && !known(struct.parent)) return true;
  }
  for (const [client, ranges] of ds.clients) {
    const have = reach.get(client) ?? 0;
    for (const range of ranges) if (range.clock + range.len > have) return true;
  }
  return false;
}

/**
 * A strong tag of a document's content: its state vector *and* its delete set. A state vector
 * alone does not change when content is only deleted (deletes create no new items), so it
 * cannot tell two states apart by itself. Used as the HTTP `ETag` and to notice edits.
 */
export function stateTag(doc: Y.Doc): string {
  // A Yjs snapshot is exactly that pair (delete set, state vector).
  return createHash('sha256').update(Y.encodeSnapshot(Y.snapshot(doc))).digest('base64url').slice(0, 27);
}
