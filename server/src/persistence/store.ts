/**
 * The contract between the document registry (policy: when to load, append, unload) and a
 * storage engine (mechanism: how bytes reach a medium). The registry never knows which
 * engine is behind it.
 */
export interface DocumentStore {
  /**
   * Every stored update of the document, in the order they must be applied (a snapshot first
   * when the engine keeps one). An empty array means the document was never stored.
   *
   * Must reject (with a `SkeinError`) on any read failure: returning an empty array on error
   * would let an empty document be stored over the real one later.
   */
  load(name: string): Promise<readonly Uint8Array[]>;

  /**
   * Make `update` durable. Resolves once it is durable by the engine's rules for `name`
   * (the promise that durable acknowledgements stand on). Rejects with a `SkeinError` on
   * failure. For one document, appends settle in call order.
   */
  append(name: string, update: Uint8Array): Promise<void>;

  /** Resolves when every append for `name` issued before this call has settled. */
  flush(name: string): Promise<void>;

  /** Flush everything, then release resources. Further calls reject. */
  close(): Promise<void>;

  /** Whether writes currently succeed; absent means always ok. */
  health?(): StoreHealthSummary;
}

export interface StoreHealthSummary {
  /** `degraded`: writes are failing and being retried; acknowledgements wait. */
  readonly status: 'ok' | 'degraded' | 'closed';
  /** Short machine-readable reasons (empty when ok). */
  readonly reasons: readonly string[];
  readonly lastErrorCode: string | null;
}
