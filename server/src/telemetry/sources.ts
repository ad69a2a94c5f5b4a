import type { StoreFigures } from '../documents/ports.js';
import type { StrategyName } from '../config/telemetry-parsers.js';
import type { WebhookSnapshot } from '../webhooks/probes.js';

/** The engine's figures (declared by the core's storage port). */
export type StoreSnapshot = StoreFigures;

export interface ClusterSnapshot {
  readonly linkState: string;
  readonly breaker: 'closed' | 'open' | 'half-open';
  readonly nodes: number;
  readonly outbox: number;
}

/**
 * The live figures telemetry reads at collection time (observable gauges), declared here by
 * telemetry. The composition root builds them over the modules; telemetry never holds the
 * modules themselves, and imports none of them.
 */
export interface TelemetrySources {
  connections(): number;
  documents(): number;
  /** Of those, the dormant ones (no Y.Doc, only the encoded state). */
  dormantDocuments?(): number;
  storeStats?(): StoreSnapshot;
  cluster?(): ClusterSnapshot;
  /** Webhooks on: queue depth, dead letters, circuits. */
  webhooks?(): WebhookSnapshot;
  /** The health status (`skein.health.status`). */
  healthStatus?(): 'healthy' | 'degraded' | 'unhealthy';
  /** The last event-loop sample (`skein.eventloop.delay.*`). */
  eventLoop?(): { readonly p99Ms: number; readonly maxMs: number };
}

/** Receives each batch write's outcome as the persistence probe measured it (the health model). */
export interface WriteListener {
  writeFinished(strategy: StrategyName, ms: number, ok: boolean): void;
}
