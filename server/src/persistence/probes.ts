import type { StrategyName } from '../config/telemetry-parsers.js';

/**
 * What `persistence/` reports about its writes (its probe port). Declared here, by the module
 * that calls it; `telemetry/` implements it and the composition root plugs it in.
 * `persistence/` never imports `telemetry/`.
 */

declare const TRACE_CONTEXT: unique symbol;

/**
 * The trace context an update was accepted in. Opaque: persistence only keeps it beside the
 * queued update and hands it back with the batch (the probe makes it the write's parent or link).
 */
export interface TraceContext {
  readonly [TRACE_CONTEXT]: true;
}

/** A queued update as the write probe sees it: its bytes and the trace context it was accepted in. */
export interface TracedItem {
  readonly bytes: Uint8Array;
  readonly trace?: TraceContext | undefined;
}

export interface PersistenceProbes {
  /** The context an append is accepted in (undefined while tracing is off). */
  captureContext(): TraceContext | undefined;
  /**
   * One synced batch write (`write`) of `items`: the probe runs `write` (exactly once),
   * measures it and passes its outcome through (resolves or rejects as `write` does).
   */
  persistenceWrite(strategy: StrategyName, items: readonly TracedItem[], attempt: number, write: () => Promise<void>): Promise<void>;
}

/** Reports nothing: runs the write. */
export const NO_PERSISTENCE_PROBES: PersistenceProbes = Object.freeze({
  captureContext: () => undefined,
  persistenceWrite: (_strategy: StrategyName, _items: readonly TracedItem[], _attempt: number, write: () => Promise<void>) => write(),
});
