// The storage port is declared by the core (documents/ports.ts); engines implement it.
export type {
  AppendOptions, AppendResult, DocumentStore, OutboxEntry, ReplicationOutbox, StoreHealthSummary, StoredInspection,
} from '../documents/ports.js';
