/**
 * Document events: the event side of the core (webhooks deliver them). Declared here, by the
 * core, so that the store that journals them (persistence) and the adapter that delivers them
 * (webhooks) both import the core's types and never each other.
 *
 * `document.created` and `document.changed` are derived by the store itself, in the same
 * atomic batch as the change that caused them (a `change` note on `append`, see ports.ts):
 * a process killed right after an acknowledgement loses no event. `document.deleted`,
 * `version.created` and `version.restored` are emitted through `DocumentEvents.emit` by the
 * code that deletes documents or manages versions.
 */

export type DocumentEvent =
  | { readonly type: 'document.created'; readonly name: string }
  | {
      readonly type: 'document.changed';
      readonly name: string;
      /** The stored Yjs state vector after the changes, base64. */
      readonly stateVector: string;
      /** Stored bytes of the document (snapshot + log) after the changes. */
      readonly size: number;
      /** Who edited since the previous `document.changed` of this document (token `sub`s), sorted. */
      readonly users: readonly string[];
    }
  | { readonly type: 'document.deleted'; readonly name: string }
  | { readonly type: 'version.created'; readonly name: string; readonly version: string; readonly label?: string }
  | { readonly type: 'version.restored'; readonly name: string; readonly version: string; readonly before?: string };

export type DocumentEventType = DocumentEvent['type'];

export const DOCUMENT_EVENT_TYPES: readonly DocumentEventType[] = Object.freeze([
  'document.created', 'document.changed', 'document.deleted', 'version.created', 'version.restored',
]);

/** What the code that deletes documents and manages versions calls (the port the webhooks implement). */
export interface DocumentEvents {
  /** Record `event` durably (resolves once it is in the outbox; delivery follows). */
  emit(event: DocumentEvent): Promise<void>;
}

/** Emits nothing (no webhooks configured). */
export const NO_DOCUMENT_EVENTS: DocumentEvents = Object.freeze({ emit: () => Promise.resolve() });

/**
 * On `DocumentStore.append`: the write is a change this node accepted (not a copy of another
 * node's change, not a storage load). A store that journals document events records it in the
 * same batch: `document.created` for the first stored change of a document, and a "changed
 * since the last event" mark with the user.
 */
export interface ChangeNote {
  /** Who made the change (a token's `sub`), when known. */
  readonly user?: string;
}

/** One event in the outbox. The `id` is stable: every delivery attempt of it, on any restart, carries it. */
export interface StoredEvent {
  /** Position in this node's outbox (ordering and addressing only). */
  readonly seq: number;
  /** `msg_…`: the Standard Webhooks `webhook-id`. */
  readonly id: string;
  /** When the event happened (ms since the epoch). */
  readonly at: number;
  readonly event: DocumentEvent;
  /** Only these endpoints (a revived dead letter); absent: every endpoint whose filter matches. */
  readonly targets?: readonly string[];
  /** Endpoints that have it (delivered, or given up on into a dead letter). */
  readonly done: readonly string[];
}

export interface DeadLetter {
  /** Dead-letter id (what `revive` takes). */
  readonly id: number;
  /** The event, with its original id. */
  readonly event: Omit<StoredEvent, 'seq' | 'targets' | 'done'>;
  /** The endpoint that kept refusing it. */
  readonly target: string;
  readonly attempts: number;
  /** The last failure: `http 500`, `timeout`, `network ECONNREFUSED`… */
  readonly error: string;
  /** When it was given up on (ms since the epoch). */
  readonly deadAt: number;
}

export type DeadLetterInput = Omit<DeadLetter, 'id' | 'event'>;

/** A document with change marks not yet turned into a `document.changed` event. */
export interface PendingChange {
  readonly name: string;
  /** When its oldest pending mark was written (ms since the epoch). */
  readonly firstAt: number;
  readonly lastAt: number;
}

/**
 * The durable event journal a store keeps (implemented by the persistence engine when it
 * journals events; consumed by the webhooks). Everything in it survives `kill -9`.
 */
export interface EventJournal {
  /** Events in the outbox. */
  readonly size: number;
  /** Dead letters kept. */
  readonly deadLetterCount: number;
  /** Documents with pending change marks (read at start to resume debouncing). */
  pendingChanges(): Promise<readonly PendingChange[]>;
  /** Called after a batch that wrote change marks is durable. Returns an unsubscribe function. */
  onChanged(listener: (name: string, at: number) => void): () => void;
  /** Called after events were added to the outbox. Returns an unsubscribe function. */
  onAppended(listener: () => void): () => void;
  /**
   * Turn the document's pending change marks into one `document.changed` event (state vector
   * and size from the stored metadata), in one batch that removes the marks. Undefined when
   * there were none.
   */
  seal(name: string): Promise<StoredEvent | undefined>;
  /** Put `event` into the outbox now (one synced batch). */
  record(event: DocumentEvent): Promise<StoredEvent>;
  /** The oldest `limit` events with `seq > afterSeq`. */
  peek(limit: number, afterSeq?: number): Promise<StoredEvent[]>;
  /**
   * Progress of one event, in one batch: the endpoints that now have it, optionally a dead
   * letter, and `finished` (every endpoint has it: the event leaves the outbox).
   */
  settle(event: StoredEvent, progress: { readonly done: readonly string[]; readonly finished: boolean; readonly deadLetter?: DeadLetterInput }): Promise<void>;
  /** The oldest `limit` dead letters. */
  deadLetters(limit: number): Promise<DeadLetter[]>;
  /** Move dead letters back into the outbox (same event ids, only their endpoint); all when `ids` is absent. Returns how many. */
  revive(ids?: readonly number[]): Promise<number>;
}
