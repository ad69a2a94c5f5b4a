import type { DocumentEvent as WebhookEvent } from '../documents/events.js';

/**
 * What history and the HTTP API tell the outside world (the webhooks adapter subscribes
 * through the composition root). Minimal on purpose: consumers read details from the API.
 */
export type DocumentEventType = 'document.deleted' | 'version.created' | 'version.restored';

export interface DocumentEvent {
  readonly type: DocumentEventType;
  /** The document name. */
  readonly doc: string;
  /** The version created or restored (version events). */
  readonly versionId?: number;
  /** The version's label (version events; empty when none). */
  readonly label?: string;
  /** ms since the epoch. */
  readonly at: number;
}

/** The event port: `emit` must not throw and must not block (queue, then deliver). */
export interface DocumentEvents {
  emit(event: DocumentEvent): void;
}

/** The same event in the shape the webhooks' outbox journals (documents/events.ts). */
export function toDocumentEvent(event: DocumentEvent): WebhookEvent {
  const version = event.versionId === undefined ? '' : String(event.versionId);
  switch (event.type) {
    case 'document.deleted':
      return { type: 'document.deleted', name: event.doc };
    case 'version.created':
      return { type: 'version.created', name: event.doc, version, ...(event.label === undefined || event.label === '' ? {} : { label: event.label }) };
    case 'version.restored':
      return { type: 'version.restored', name: event.doc, version };
  }
}
