import { SkeinError } from '../errors/skein-error.js';
import type { Logger } from '../logging/logger.js';
import { collect, read } from './doc-reader.js';
import { Space, keyHex, outboxKey, parseIdKey, quarantineKey, spaceRange } from './key-layout.js';
import { decodeOutboxValue, encodeOutboxValue } from './outbox-codec.js';
import type { KvOp, KvStore } from './kv-store.js';
import { RecordType, encodeQuarantine, encodeRecord, readRecord } from './record-codec.js';
import type { OutboxEntry, ReplicationOutbox } from './store.js';

/** What an outbox record holds besides its seq (the key). */
export interface OutboxPayload {
  readonly name: string;
  readonly update: Uint8Array;
}

/** Payload: `name: varString` `update: varUint8Array`. */
function encodeOutboxPayload(entry: OutboxPayload): Uint8Array {
  return encodeOutboxValue(entry.name, entry.update);
}

/** Throws a coded ProtocolError on malformed bytes (the record is then quarantined as `decode` damage). */
function decodeOutboxPayload(payload: Uint8Array): OutboxPayload {
  const { name, update } = decodeOutboxValue(payload);
  return { name, update: update.slice() };
}

/** The put of one outbox record (CRC'd over key, type and payload like every record). */
export function outboxPut(seq: number, entry: OutboxPayload): KvOp {
  const key = outboxKey(seq);
  return { type: 'put', key, value: encodeRecord(key, RecordType.Outbox, encodeOutboxPayload(entry)) };
}

export interface OutboxRecovery {
  /** One above the highest outbox seq on disk (1 for an empty outbox). */
  readonly nextSeq: number;
  /** Records in the outbox space. */
  readonly size: number;
}

/** Scan the outbox space at open: the next seq continues from the last key on disk. */
export async function recoverOutbox(kv: KvStore): Promise<OutboxRecovery> {
  const last = await collect(kv, { ...spaceRange(Space.Outbox), reverse: true, limit: 1 }, 'outbox keys');
  const lastSeq = last[0] === undefined ? 0 : (parseIdKey(last[0].key, Space.Outbox) ?? 0);
  const size = await read('outbox', async () => {
    let n = 0;
    for await (const _ of kv.iterate(spaceRange(Space.Outbox))) n++;
    return n;
  });
  return { nextSeq: lastSeq + 1, size };
}

export interface StoreOutboxDeps {
  readonly kv: KvStore;
  readonly logger: Logger;
  readonly now: () => number;
  readonly allocateQuarantineId: () => number;
}

/**
 * The engine's replication outbox. Records are written by the document logs, in the same
 * batch as the log records of the update (`DocumentLog` asks `allocate()` for a seq and calls
 * `appended()` once the batch is durable); the replicator reads them here.
 *
 * Seqs are node-wide and increase for the life of the process; at open they continue from
 * the last key on disk (once the outbox was fully drained they may restart lower, which no
 * consumer depends on: a seq only orders and names entries while they exist).
 */
export class StoreOutbox implements ReplicationOutbox {
  readonly #deps: StoreOutboxDeps;
  readonly #listeners = new Set<() => void>();
  #nextSeq: number;
  #size: number;
  #closed = false;

  constructor(deps: StoreOutboxDeps, recovered: OutboxRecovery) {
    this.#deps = deps;
    this.#nextSeq = recovered.nextSeq;
    this.#size = recovered.size;
  }

  get size(): number {
    return this.#size;
  }

  /** The seq of a new record (assigned once per update; kept across batch retries). */
  allocate(): number {
    return this.#nextSeq++;
  }

  /** A batch that put `count` outbox records is durable: tell the listeners. */
  appended(count: number): void {
    if (count === 0) return;
    this.#size += count;
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch (err) {
        this.#deps.logger.error({ code: 'SKEIN_ERR_INTERNAL', err: err instanceof Error ? err.message : String(err) }, 'outbox listener threw');
      }
    }
  }

  onAppended(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async peek(limit: number): Promise<OutboxEntry[]> {
    this.#assertOpen();
    const out: OutboxEntry[] = [];
    const damaged: { key: Uint8Array; value: Uint8Array; damage: string }[] = [];
    const raw = await collect(this.#deps.kv, { ...spaceRange(Space.Outbox), limit }, 'outbox');
    for (const { key, value } of raw) {
      const seq = parseIdKey(key, Space.Outbox);
      const record = readRecord(key, value, RecordType.Outbox, decodeOutboxPayload);
      if (seq === undefined) damaged.push({ key, value, damage: 'key' });
      else if (!record.ok) damaged.push({ key, value, damage: record.damage });
      else out.push({ seq, name: record.value.name, update: record.value.update });
    }
    if (damaged.length > 0) await this.#quarantine(damaged);
    return out;
  }

  async remove(seqs: readonly number[]): Promise<void> {
    this.#assertOpen();
    if (seqs.length === 0) return;
    try {
      // Not synced: a crash before the next fsync re-delivers these, which merging makes harmless.
      await this.#deps.kv.batch(seqs.map((seq) => ({ type: 'del' as const, key: outboxKey(seq) })), { sync: false });
    } catch (cause) {
      throw new SkeinError('SKEIN_ERR_STORAGE_WRITE', 'failed to remove delivered outbox entries', { cause });
    }
    this.#size = Math.max(0, this.#size - seqs.length);
  }

  /**
   * Add entries written elsewhere (the pre-1.x `cluster-outbox` LevelDB) in one synced batch,
   * with fresh seqs in their original order. Returns the seqs.
   */
  async adopt(entries: readonly OutboxPayload[]): Promise<number[]> {
    this.#assertOpen();
    if (entries.length === 0) return [];
    const seqs = entries.map(() => this.allocate());
    const ops = entries.map((entry, i) => outboxPut(seqs[i] ?? 0, entry));
    try {
      await this.#deps.kv.batch(ops, { sync: true });
    } catch (cause) {
      throw new SkeinError('SKEIN_ERR_STORAGE_WRITE', 'failed to write adopted outbox entries', { cause });
    }
    this.appended(entries.length);
    return seqs;
  }

  /** A damaged outbox record cannot be shipped: move it to quarantine so it does not block the queue. */
  async #quarantine(damaged: readonly { key: Uint8Array; value: Uint8Array; damage: string }[]): Promise<void> {
    const ops: KvOp[] = [];
    const at = this.#deps.now();
    for (const d of damaged) {
      const key = quarantineKey(this.#deps.allocateQuarantineId());
      const payload = encodeQuarantine({ at, reason: d.damage, originalKey: d.key, originalValue: d.value });
      ops.push({ type: 'put', key, value: encodeRecord(key, RecordType.Quarantine, payload) }, { type: 'del', key: d.key });
    }
    this.#deps.logger.error(
      { code: 'SKEIN_ERR_STORAGE_CORRUPT_RECORD', records: damaged.length, keys: damaged.slice(0, 10).map((d) => keyHex(d.key)) },
      'damaged replication-outbox records moved to quarantine; their updates stay in the document logs',
    );
    try {
      await this.#deps.kv.batch(ops, { sync: true });
      this.#size = Math.max(0, this.#size - damaged.length);
    } catch (cause) {
      throw new SkeinError('SKEIN_ERR_STORAGE_WRITE', 'failed to quarantine damaged outbox records', { cause });
    }
  }

  /** The store closed: later calls reject with `SKEIN_ERR_STORAGE_CLOSED`. */
  close(): void {
    this.#closed = true;
    this.#listeners.clear();
  }

  #assertOpen(): void {
    if (this.#closed) throw new SkeinError('SKEIN_ERR_STORAGE_CLOSED', 'the store is closed');
  }
}
