import { randomUUID } from 'node:crypto';
import { SkeinError } from '../errors/skein-error.js';
import type { Logger } from '../logging/logger.js';
import type {
  DeadLetter, DeadLetterInput, DocumentEvent, EventJournal, PendingChange, StoredEvent,
} from '../documents/events.js';
import { collect, read } from './doc-reader.js';
import { decodeDeadLetter, decodeEvent, decodeMark, encodeDeadLetter, encodeEvent, encodeMark, type ChangeMark } from './event-codec.js';
import { Space, eventKey, keyHex, markKey, parseIdKey, parseMarkKey, quarantineKey, spaceRange } from './key-layout.js';
import type { KvOp, KvStore } from './kv-store.js';
import { RecordType, encodeQuarantine, encodeRecord, readRecord } from './record-codec.js';

export interface EventsRecovery {
  readonly nextEventSeq: number;
  readonly nextDeadId: number;
  readonly events: number;
  readonly deadLetters: number;
}

export const EMPTY_EVENTS_RECOVERY: EventsRecovery = Object.freeze({ nextEventSeq: 1, nextDeadId: 1, events: 0, deadLetters: 0 });

/** Scan the event spaces at open: seqs continue from the last keys on disk. */
export async function recoverEvents(kv: KvStore): Promise<EventsRecovery> {
  const lastId = async (space: number): Promise<number> => {
    const last = await collect(kv, { ...spaceRange(space), reverse: true, limit: 1 }, 'event keys');
    return last[0] === undefined ? 0 : (parseIdKey(last[0].key, space) ?? 0);
  };
  const count = (space: number): Promise<number> => read('events', async () => {
    let n = 0;
    for await (const _ of kv.iterate(spaceRange(space))) n++;
    return n;
  });
  return {
    nextEventSeq: (await lastId(Space.Event)) + 1,
    nextDeadId: (await lastId(Space.DeadLetter)) + 1,
    events: await count(Space.Event),
    deadLetters: await count(Space.DeadLetter),
  };
}

export interface StoreEventsDeps {
  readonly kv: KvStore;
  readonly logger: Logger;
  readonly now: () => number;
  readonly allocateQuarantineId: () => number;
  /** Seal one document's marks in its own write queue (the engine routes it to the document's log). */
  readonly seal: (name: string) => Promise<StoredEvent | undefined>;
}

/** A new event id: `msg_` and 32 hex digits (random: unique across nodes and restarts). */
export function newEventId(): string {
  return `msg_${randomUUID().replaceAll('-', '')}`;
}

/**
 * The engine's document-event journal (the core's `EventJournal`): change marks written by the
 * document logs in their append batches, the webhook outbox (`08`) and the dead letters (`09`).
 * Document logs call `markPut`, `eventPut` and, once their batch is durable, `durable`.
 */
export class StoreEvents implements EventJournal {
  readonly #deps: StoreEventsDeps;
  readonly #changed = new Set<(name: string, at: number) => void>();
  readonly #appended = new Set<() => void>();
  #nextSeq: number;
  #nextDeadId: number;
  #size: number;
  #dead: number;
  #closed = false;

  constructor(deps: StoreEventsDeps, recovered: EventsRecovery) {
    this.#deps = deps;
    this.#nextSeq = recovered.nextEventSeq;
    this.#nextDeadId = recovered.nextDeadId;
    this.#size = recovered.events;
    this.#dead = recovered.deadLetters;
  }

  get size(): number {
    return this.#size;
  }

  get deadLetterCount(): number {
    return this.#dead;
  }

  // --- written by the document logs, in their batches ------------------------------------

  markPut(docId: number, seq: number, mark: ChangeMark): KvOp {
    const key = markKey(docId, seq);
    return { type: 'put', key, value: encodeRecord(key, RecordType.ChangeMark, encodeMark(mark)) };
  }

  /** A new event (seq and id allocated now: keep them across retries of the batch). */
  allocate(event: DocumentEvent, at: number): StoredEvent {
    return { seq: this.#nextSeq++, id: newEventId(), at, event, done: [] };
  }

  eventPut(event: StoredEvent): KvOp {
    const key = eventKey(Space.Event, event.seq);
    return { type: 'put', key, value: encodeRecord(key, RecordType.Event, encodeEvent(event)) };
  }

  /** A batch is durable: `marks` documents got change marks, `events` events were added. */
  durable(marks: readonly { readonly name: string; readonly at: number }[], events: number): void {
    this.#size += events;
    for (const { name, at } of marks) this.#notify(this.#changed, (l) => l(name, at));
    if (events > 0) this.#notify(this.#appended, (l) => l());
  }

  // --- the port ------------------------------------------------------------------------------

  onChanged(listener: (name: string, at: number) => void): () => void {
    this.#changed.add(listener);
    return () => this.#changed.delete(listener);
  }

  onAppended(listener: () => void): () => void {
    this.#appended.add(listener);
    return () => this.#appended.delete(listener);
  }

  async pendingChanges(): Promise<readonly PendingChange[]> {
    this.#assertOpen();
    const byDoc = new Map<number, { name: string; firstAt: number; lastAt: number }>();
    await read('change marks', async () => {
      for await (const { key, value } of this.#deps.kv.iterate(spaceRange(Space.Mark))) {
        const parts = parseMarkKey(key);
        const mark = readRecord(key, value, RecordType.ChangeMark, decodeMark);
        if (parts === undefined || !mark.ok) continue; // sealing reports and quarantines it
        const seen = byDoc.get(parts.docId);
        if (seen === undefined) byDoc.set(parts.docId, { name: mark.value.name, firstAt: mark.value.at, lastAt: mark.value.at });
        else {
          seen.firstAt = Math.min(seen.firstAt, mark.value.at);
          seen.lastAt = Math.max(seen.lastAt, mark.value.at);
        }
      }
    });
    return [...byDoc.values()];
  }

  seal(name: string): Promise<StoredEvent | undefined> {
    this.#assertOpen();
    return this.#deps.seal(name);
  }

  /** The seal of one document, run by its log: marks (already read) → one event, one synced batch. */
  async writeSealed(event: StoredEvent, markKeys: readonly Uint8Array[], damaged: readonly { key: Uint8Array; value: Uint8Array }[]): Promise<void> {
    const ops: KvOp[] = [this.eventPut(event), ...markKeys.map((key) => ({ type: 'del' as const, key }))];
    ops.push(...this.#quarantineOps(damaged, 'change mark'));
    await this.#write(ops, 'failed to write a document.changed event');
    this.durable([], 1);
  }

  async record(event: DocumentEvent): Promise<StoredEvent> {
    this.#assertOpen();
    const stored = this.allocate(event, this.#deps.now());
    await this.#write([this.eventPut(stored)], `failed to record a ${event.type} event`);
    this.durable([], 1);
    return stored;
  }

  async peek(limit: number, afterSeq = 0): Promise<StoredEvent[]> {
    this.#assertOpen();
    const range = { gt: eventKey(Space.Event, afterSeq), lt: Uint8Array.of(Space.Event + 1), limit };
    const raw = await collect(this.#deps.kv, range, 'webhook outbox');
    const out: StoredEvent[] = [];
    const damaged: { key: Uint8Array; value: Uint8Array }[] = [];
    for (const { key, value } of raw) {
      const seq = parseIdKey(key, Space.Event);
      const record = seq === undefined ? undefined : readRecord(key, value, RecordType.Event, (p) => decodeEvent(seq, p));
      if (record?.ok === true) out.push(record.value);
      else damaged.push({ key, value });
    }
    if (damaged.length > 0) {
      await this.#write(this.#quarantineOps(damaged, 'webhook-outbox event'), 'failed to quarantine damaged events');
      this.#size = Math.max(0, this.#size - damaged.length);
    }
    return out;
  }

  async settle(event: StoredEvent, progress: { readonly done: readonly string[]; readonly finished: boolean; readonly deadLetter?: DeadLetterInput }): Promise<void> {
    this.#assertOpen();
    const ops: KvOp[] = [];
    if (progress.finished) ops.push({ type: 'del', key: eventKey(Space.Event, event.seq) });
    else ops.push(this.eventPut({ ...event, done: progress.done }));
    if (progress.deadLetter !== undefined) {
      ops.push(this.#deadPut(this.#nextDeadId++, { ...progress.deadLetter, event: { id: event.id, at: event.at, event: event.event } }));
    }
    // Synced only with a dead letter: losing a "delivered" note in a crash re-delivers (same id), which the contract allows.
    await this.#write(ops, 'failed to record webhook delivery progress', progress.deadLetter !== undefined);
    if (progress.finished) this.#size = Math.max(0, this.#size - 1);
    if (progress.deadLetter !== undefined) this.#dead++;
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    this.#assertOpen();
    const raw = await collect(this.#deps.kv, { ...spaceRange(Space.DeadLetter), limit }, 'dead letters');
    const out: DeadLetter[] = [];
    for (const { key, value } of raw) {
      const id = parseIdKey(key, Space.DeadLetter);
      const record = id === undefined ? undefined : readRecord(key, value, RecordType.DeadLetter, (p) => decodeDeadLetter(id, p));
      if (record?.ok === true) out.push(record.value);
    }
    return out;
  }

  async revive(ids?: readonly number[]): Promise<number> {
    this.#assertOpen();
    const letters = ids === undefined ? await this.deadLetters(10_000) : await this.#deadByIds(ids);
    if (letters.length === 0) return 0;
    const ops: KvOp[] = [];
    const revived: StoredEvent[] = [];
    for (const letter of letters) {
      const event: StoredEvent = { seq: this.#nextSeq++, id: letter.event.id, at: letter.event.at, event: letter.event.event, targets: [letter.target], done: [] };
      revived.push(event);
      ops.push(this.eventPut(event), { type: 'del', key: eventKey(Space.DeadLetter, letter.id) });
    }
    await this.#write(ops, 'failed to move dead letters back into the outbox');
    this.#dead = Math.max(0, this.#dead - letters.length);
    this.durable([], revived.length);
    return letters.length;
  }

  close(): void {
    this.#closed = true;
    this.#changed.clear();
    this.#appended.clear();
  }

  // -------------------------------------------------------------------------------------------

  async #deadByIds(ids: readonly number[]): Promise<DeadLetter[]> {
    const out: DeadLetter[] = [];
    for (const id of new Set(ids)) {
      if (!Number.isSafeInteger(id) || id < 1) continue;
      const key = eventKey(Space.DeadLetter, id);
      const value = await read('dead letter', () => this.#deps.kv.get(key));
      if (value === undefined) continue;
      const record = readRecord(key, value, RecordType.DeadLetter, (p) => decodeDeadLetter(id, p));
      if (record.ok) out.push(record.value);
    }
    return out;
  }

  #deadPut(id: number, letter: Omit<DeadLetter, 'id'>): KvOp {
    const key = eventKey(Space.DeadLetter, id);
    return { type: 'put', key, value: encodeRecord(key, RecordType.DeadLetter, encodeDeadLetter(letter)) };
  }

  #quarantineOps(damaged: readonly { key: Uint8Array; value: Uint8Array }[], what: string): KvOp[] {
    if (damaged.length === 0) return [];
    this.#deps.logger.error(
      { code: 'SKEIN_ERR_STORAGE_CORRUPT_RECORD', records: damaged.length, keys: damaged.slice(0, 10).map((d) => keyHex(d.key)) },
      `damaged ${what} records moved to quarantine`,
    );
    const at = this.#deps.now();
    return damaged.flatMap((d) => {
      const key = quarantineKey(this.#deps.allocateQuarantineId());
      const payload = encodeQuarantine({ at, reason: 'decode', originalKey: d.key, originalValue: d.value });
      return [{ type: 'put' as const, key, value: encodeRecord(key, RecordType.Quarantine, payload) }, { type: 'del' as const, key: d.key }];
    });
  }

  async #write(ops: KvOp[], message: string, sync = true): Promise<void> {
    try {
      await this.#deps.kv.batch(ops, { sync });
    } catch (cause) {
      throw new SkeinError('SKEIN_ERR_STORAGE_WRITE', message, { cause });
    }
  }

  #notify<L>(listeners: Set<L>, call: (listener: L) => void): void {
    for (const listener of [...listeners]) {
      try {
        call(listener);
      } catch (err) {
        this.#deps.logger.error({ code: 'SKEIN_ERR_INTERNAL', err: err instanceof Error ? err.message : String(err) }, 'event journal listener threw');
      }
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new SkeinError('SKEIN_ERR_STORAGE_CLOSED', 'the store is closed');
  }
}
