import type { StoredEvent } from '../documents/events.js';
import { collect } from './doc-reader.js';
import type { DocState } from './doc-state.js';
import { decodeMark } from './event-codec.js';
import { markRange } from './key-layout.js';
import type { KvOp, KvStore } from './kv-store.js';
import { RecordType, readRecord } from './record-codec.js';
import type { StoreEvents } from './store-events.js';

/**
 * Document events of one document log (store option `events`, docs/webhooks.md).
 *
 * In an append batch whose items include changes this node accepted (`noted`), add the
 * document's change mark (its users) and, when the batch first stores the document, its
 * `document.created` event. Returns the marks, for the listeners once the batch is durable.
 */
export function changeEventOps(
  events: StoreEvents,
  name: string,
  state: DocState,
  noted: readonly { readonly seq: number; readonly user: string | undefined }[],
  created: StoredEvent | undefined,
  at: number,
  ops: KvOp[],
): { name: string; at: number }[] {
  const first = noted[0];
  if (first === undefined) return [];
  if (created !== undefined) ops.push(events.eventPut(created));
  const users = [...new Set(noted.flatMap((n) => (n.user === undefined ? [] : [n.user])))];
  // Keyed by the batch's first noted update seq: a retried batch rewrites the same key.
  ops.push(events.markPut(state.docId, first.seq, { at, name, users }));
  return [{ name, at }];
}

/**
 * Turn the document's change marks into one `document.changed` event (state vector and size
 * from the stored metadata, the users of every mark), written with the marks' removal in one
 * batch. Runs in the document's write queue, so no batch of it is in flight meanwhile.
 * Damaged marks are quarantined in the same batch (their users are lost; the event is not).
 */
export async function sealChanges(kv: KvStore, events: StoreEvents, name: string, state: DocState, now: number): Promise<StoredEvent | undefined> {
  if (!state.indexed) return undefined;
  const raw = await collect(kv, markRange(state.docId), 'change marks');
  if (raw.length === 0) return undefined;
  const users = new Set<string>();
  const good: Uint8Array[] = [];
  const damaged: { key: Uint8Array; value: Uint8Array }[] = [];
  for (const { key, value } of raw) {
    const mark = readRecord(key, value, RecordType.ChangeMark, decodeMark);
    if (!mark.ok) {
      damaged.push({ key, value });
      continue;
    }
    good.push(key);
    for (const user of mark.value.users) users.add(user);
  }
  const meta = state.meta;
  const event = events.allocate({
    type: 'document.changed',
    name,
    stateVector: Buffer.from(meta.stateVector).toString('base64'),
    size: meta.snapshotBytes + meta.logBytes,
    users: [...users].sort(),
  }, now);
  await events.writeSealed(event, good, damaged);
  return event;
}
