import type { KvStore } from '../persistence/kv-store.js';
import { decodeOutboxKey, decodeOutboxValue, encodeOutboxKey, encodeOutboxValue } from '../persistence/outbox-codec.js';

/** One queued change: its outbox sequence number, document and update bytes. */
export interface OutboxEntry {
  readonly seq: number;
  readonly name: string;
  readonly update: Uint8Array;
}

/**
 * Changes accepted by this node that must still reach the shared durable tier in Redis,
 * kept in a dedicated key-value store on the node's disk (a LevelDB directory of its own,
 * `<dataDir>/cluster-outbox`), so a Redis outage or a crash loses none of them.
 *
 * Layout: key = seq as 8 bytes big-endian (so key order is arrival order), value =
 * `name:varString update:varUint8Array`. Appends are group-committed: every append issued
 * while one batch is being synced goes into the next batch, one `sync: true` write each.
 */
export class Outbox {
  readonly #kv: KvStore;
  #nextSeq: number;
  #size: number;
  #queue: { entry: OutboxEntry; resolve: () => void; reject: (err: unknown) => void }[] = [];
  #writing = false;

  private constructor(kv: KvStore, nextSeq: number, size: number) {
    this.#kv = kv;
    this.#nextSeq = nextSeq;
    this.#size = size;
  }

  static async open(kv: KvStore): Promise<Outbox> {
    let last = 0;
    for await (const { key } of kv.iterate({ reverse: true, limit: 1 })) last = readSeq(key);
    let size = 0;
    for await (const _ of kv.iterate({})) size++;
    return new Outbox(kv, last + 1, size);
  }

  /** Entries not yet removed. */
  get size(): number {
    return this.#size;
  }

  /** Queue `update`; resolves with its seq once it is on disk. */
  append(name: string, update: Uint8Array): Promise<number> {
    const entry: OutboxEntry = { seq: this.#nextSeq++, name, update: Uint8Array.prototype.slice.call(update) };
    return new Promise<number>((resolve, reject) => {
      this.#queue.push({ entry, resolve: () => resolve(entry.seq), reject });
      if (!this.#writing) void this.#writeBatches();
    });
  }

  /** The oldest `limit` entries on disk, in order. */
  async peek(limit: number): Promise<OutboxEntry[]> {
    const out: OutboxEntry[] = [];
    for await (const { key, value } of this.#kv.iterate({ limit })) {
      out.push({ seq: readSeq(key), ...decodeOutboxValue(value) });
    }
    return out;
  }

  /** Drop delivered entries (not synced: a crash re-delivers them, which merging makes harmless). */
  async remove(seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    await this.#kv.batch(seqs.map((seq) => ({ type: 'del' as const, key: seqKey(seq) })), { sync: false });
    this.#size -= seqs.length;
  }

  close(): Promise<void> {
    return this.#kv.close();
  }

  async #writeBatches(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue;
        this.#queue = [];
        const ops = batch.map(({ entry }) => ({ type: 'put' as const, key: seqKey(entry.seq), value: encodeOutboxValue(entry.name, entry.update) }));
        try {
          await this.#kv.batch(ops, { sync: true });
          this.#size += batch.length;
          for (const b of batch) b.resolve();
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.#writing = false;
    }
  }
}

function seqKey(seq: number): Uint8Array {
  return encodeOutboxKey(seq);
}

function readSeq(key: Uint8Array): number {
  return decodeOutboxKey(key);
}
