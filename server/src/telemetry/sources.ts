import type { DocumentRegistry } from '../documents/registry.js';
import type { DocumentStore } from '../persistence/store.js';
import type { StoreStats } from '../persistence/store-stats.js';
import type { Cluster } from '../cluster/index.js';
import type { StrategyName } from '../config/telemetry-parsers.js';

/** What the persistence engine reports (a subset of the LevelDB store's `stats()`). */
export interface StoreSnapshot {
  /** Accepted appends not yet durable, per strategy: the live recovery-point figure. */
  readonly pending: Readonly<Record<StrategyName, { readonly updates: number; readonly bytes: number }>>;
  readonly consecutiveFailures: number;
  readonly quarantinedRecords: number;
  readonly compactions: number;
  readonly compactionFailures: number;
}

export interface ClusterSnapshot {
  readonly status: 'ok' | 'degraded';
  readonly reasons: readonly string[];
  readonly linkState: string;
  readonly breaker: 'closed' | 'open' | 'half-open';
  readonly nodes: number;
  readonly outbox: number;
}

/**
 * The live figures telemetry reads at collection time (observable gauges) and the health
 * model evaluates. The composition root builds them (see `serverSources`); telemetry never
 * holds the modules themselves.
 */
export interface TelemetrySources {
  connections(): number;
  documents(): number;
  /** Names of the loaded documents (integrity sampling only; never a metric attribute). */
  documentNames(): readonly string[];
  /** The in-memory state vector of a loaded document, undefined when it is not loaded. */
  memoryStateVector(name: string): Uint8Array | undefined;
  /** What the store holds for a document (stored records plus accepted, not yet durable ones). */
  loadStored(name: string): Promise<readonly Uint8Array[]>;
  storeStatus(): 'ok' | 'degraded' | 'closed';
  storeStats?(): StoreSnapshot;
  cluster?(): ClusterSnapshot;
}

export interface ServerParts {
  connections(): number;
  readonly registry: DocumentRegistry;
  readonly store: DocumentStore & { stats?(): StoreStats };
  readonly cluster?: Cluster | undefined;
}

/** Telemetry sources over the server's modules (used by the composition root). */
export function serverSources(parts: ServerParts): TelemetrySources {
  const { registry, store, cluster } = parts;
  const stats = store.stats?.bind(store);
  return {
    connections: () => parts.connections(),
    documents: () => registry.size,
    documentNames: () => registry.names(),
    memoryStateVector: (name) => {
      const handle = registry.get(name);
      return handle === undefined || handle.state === 'loading' || handle.state === 'closed' ? undefined : handle.stateVector();
    },
    loadStored: (name) => store.load(name),
    storeStatus: () => store.health?.().status ?? 'ok',
    ...(stats === undefined ? {} : { storeStats: () => stats() }),
    ...(cluster === undefined
      ? {}
      : {
          cluster: (): ClusterSnapshot => {
            const h = cluster.health();
            return { status: h.status, reasons: h.reasons, linkState: h.link.state, breaker: h.link.breaker, nodes: h.nodes, outbox: h.outbox };
          },
        }),
  };
}
