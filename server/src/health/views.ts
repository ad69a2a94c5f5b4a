import type { StoreFigures, StoreHealthSummary, StoredInspection } from '../documents/ports.js';

/**
 * What the health module reads, declared here as small read-only views: it never holds the
 * store, the registry or the cluster themselves, and nothing it can call writes. The
 * composition root (`server.ts`) builds the views over the live modules.
 */

/** The engine's figures (declared by the core's storage port). */
export type StoreSnapshot = StoreFigures;

export interface ClusterSnapshot {
  readonly status: 'ok' | 'degraded';
  readonly reasons: readonly string[];
  readonly linkState: string;
  readonly breaker: 'closed' | 'open' | 'half-open';
  readonly nodes: number;
  readonly outbox: number;
}

/** The store, read-only: its write health, its counters, and side-effect-free reads. */
export interface StoreView {
  health?(): StoreHealthSummary;
  stats?(): StoreSnapshot;
  /** The port's read-only `inspect` (never quarantines or compacts); absent: no integrity scan. */
  inspect?(name: string): Promise<StoredInspection>;
}

/** The registry of loaded documents, read-only. */
export interface RegistryView {
  /** Names of the loaded documents (integrity sampling only). */
  names(): readonly string[];
  /** The in-memory state vector of a live document; undefined when it is not loaded (or still loading). */
  stateVector(name: string): Uint8Array | undefined;
}

/** The webhooks' figures (webhooks/probes.ts `WebhookSnapshot`, declared here by shape). */
export interface WebhooksSnapshot {
  readonly queue: number;
  readonly deadLetters: number;
  readonly debouncing: number;
  readonly endpoints: readonly { readonly endpoint: string; readonly breaker: 'closed' | 'open' | 'half-open' }[];
}

export interface WebhooksView {
  snapshot(): WebhooksSnapshot;
}

export interface ClusterView {
  snapshot(): ClusterSnapshot;
}

/** The node-wide write budget (`--max-unpersisted-bytes`), read-only. */
export interface WriteBudgetView {
  /** Bytes accepted and not yet durable. */
  readonly bytes: number;
  readonly maxBytes: number;
  /** New writes are being refused. */
  readonly exhausted: boolean;
}

export interface HealthViews {
  readonly store: StoreView;
  readonly registry: RegistryView;
  /** Absent: no bound on unpersisted bytes. */
  readonly budget?: WriteBudgetView;
  /** Absent on a single node (no Redis configured). */
  readonly cluster?: ClusterView | undefined;
  /** Absent without webhooks. */
  readonly webhooks?: WebhooksView | undefined;
  /** The server is closing (readiness turns false). */
  shuttingDown(): boolean;
}
