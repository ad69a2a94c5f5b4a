import { ProtocolError, ProtocolErrorCode } from '@skein/protocol';
import type { DeadLetter, DocumentEvent, StoredEvent } from '../documents/events.js';

/**
 * Payloads of the document-event records (inside the usual CRC'd record, see record-codec.ts):
 * UTF-8 JSON, checked field by field on decode. A decoder throws only a coded `ProtocolError`,
 * which `readRecord` reports as `decode` damage.
 *
 *   change mark  (07)  {"at":ms,"name":"…","users":["…"]}
 *   event        (08)  {"id":"msg_…","at":ms,"event":{"type":"…","name":"…",…},"done":[…],"targets"?:[…]}
 *   dead letter  (09)  {"event":{"id","at","event"},"target":"…","attempts":n,"error":"…","deadAt":ms}
 */

export interface ChangeMark {
  readonly at: number;
  readonly name: string;
  readonly users: readonly string[];
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function encodeJson(value: unknown): Uint8Array {
  return utf8.encode(JSON.stringify(value));
}

function decodeJson(payload: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8Strict.decode(payload));
  } catch {
    throw new ProtocolError(ProtocolErrorCode.InvalidString, `${what} is not UTF-8 JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad(what);
  return value as Record<string, unknown>;
}

function bad(what: string): never {
  throw new ProtocolError(ProtocolErrorCode.InvalidString, `${what} has a missing or mistyped field`);
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) bad(what);
  return v;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') bad(what);
  return v;
}

function strings(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) bad(what);
  return v;
}

export function encodeMark(mark: ChangeMark): Uint8Array {
  return encodeJson({ at: mark.at, name: mark.name, users: mark.users });
}

export function decodeMark(payload: Uint8Array): ChangeMark {
  const o = decodeJson(payload, 'a change mark');
  return { at: num(o.at, 'a change mark'), name: str(o.name, 'a change mark'), users: strings(o.users, 'a change mark') };
}

export function encodeEvent(event: Omit<StoredEvent, 'seq'>): Uint8Array {
  return encodeJson({
    id: event.id, at: event.at, event: event.event, done: event.done,
    ...(event.targets === undefined ? {} : { targets: event.targets }),
  });
}

export function decodeEvent(seq: number, payload: Uint8Array): StoredEvent {
  const o = decodeJson(payload, 'an event record');
  const targets = o.targets === undefined ? undefined : strings(o.targets, 'an event record');
  return {
    seq,
    id: str(o.id, 'an event record'),
    at: num(o.at, 'an event record'),
    event: decodeDocumentEvent(o.event),
    done: strings(o.done, 'an event record'),
    ...(targets === undefined ? {} : { targets }),
  };
}

export function encodeDeadLetter(letter: Omit<DeadLetter, 'id'>): Uint8Array {
  return encodeJson({
    event: { id: letter.event.id, at: letter.event.at, event: letter.event.event },
    target: letter.target, attempts: letter.attempts, error: letter.error, deadAt: letter.deadAt,
  });
}

export function decodeDeadLetter(id: number, payload: Uint8Array): DeadLetter {
  const what = 'a dead letter';
  const o = decodeJson(payload, what);
  const e = o.event;
  if (typeof e !== 'object' || e === null) bad(what);
  const ev = e as Record<string, unknown>;
  return {
    id,
    event: { id: str(ev.id, what), at: num(ev.at, what), event: decodeDocumentEvent(ev.event) },
    target: str(o.target, what),
    attempts: num(o.attempts, what),
    error: str(o.error, what),
    deadAt: num(o.deadAt, what),
  };
}

/** A `DocumentEvent` read back from JSON: its type and the fields that type requires. */
export function decodeDocumentEvent(value: unknown): DocumentEvent {
  const what = 'a document event';
  if (typeof value !== 'object' || value === null) bad(what);
  const o = value as Record<string, unknown>;
  const name = str(o.name, what);
  switch (o.type) {
    case 'document.created':
    case 'document.deleted':
      return { type: o.type, name };
    case 'document.changed':
      return { type: o.type, name, stateVector: str(o.stateVector, what), size: num(o.size, what), users: strings(o.users, what) };
    case 'version.created': {
      const label = o.label === undefined ? undefined : str(o.label, what);
      return { type: o.type, name, version: str(o.version, what), ...(label === undefined ? {} : { label }) };
    }
    case 'version.restored': {
      const before = o.before === undefined ? undefined : str(o.before, what);
      return { type: o.type, name, version: str(o.version, what), ...(before === undefined ? {} : { before }) };
    }
    default:
      throw new ProtocolError(ProtocolErrorCode.UnknownMessageType, `unknown document event type ${JSON.stringify(o.type)}`);
  }
}
