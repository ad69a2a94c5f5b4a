import type { DocumentEvent, StoredEvent } from '../documents/events.js';

/**
 * The body of a delivery (Standard Webhooks payload shape), pure and deterministic: every
 * attempt of one event sends the same bytes.
 *
 *   {"type":"document.changed","timestamp":"2026-01-02T03:04:05.678Z","data":{"name":"…",…}}
 *
 * `timestamp` is when the event happened (not when it was sent); `data` holds the event's
 * fields without `type` (docs/webhooks.md lists them per type).
 */
export function eventBody(stored: Pick<StoredEvent, 'at' | 'event'>): string {
  const { type, ...data } = stored.event;
  return JSON.stringify({ type, timestamp: new Date(stored.at).toISOString(), data: ordered(stored.event, data) });
}

/** The data fields in a fixed order (name first), whatever order the record had them in. */
function ordered(event: DocumentEvent, data: Omit<DocumentEvent, 'type'>): Record<string, unknown> {
  const fields: Record<string, readonly string[]> = {
    'document.created': ['name'],
    'document.deleted': ['name'],
    'document.changed': ['name', 'stateVector', 'size', 'users'],
    'version.created': ['name', 'version', 'label'],
    'version.restored': ['name', 'version', 'before'],
  };
  const source = data as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of fields[event.type] ?? []) if (source[key] !== undefined) out[key] = source[key];
  return out;
}
