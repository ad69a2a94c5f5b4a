/**
 * What `cluster/` reports about its messages (its probe port). Declared here, by the module
 * that calls it; `telemetry/` implements it and the composition root plugs it in. `cluster/`
 * never imports `telemetry/`.
 */
export interface ClusterProbes {
  /**
   * Publish a message to the other nodes: `publish` receives the `traceparent` to put in the
   * envelope (`''` when there is none).
   */
  clusterPublish<T>(docName: string | undefined, kind: string, bytes: number, publish: (traceparent: string) => T): T;
  /** Process a message another node published, in the trace its envelope's `traceparent` names. */
  clusterProcess<T>(traceparent: string, docName: string | undefined, kind: string, bytes: number, process: () => T): T;
  /** Anti-entropy healed a gap: a diff was applied here (`received`) or sent to a peer (`sent`). */
  antiEntropyRepair(direction: 'received' | 'sent'): void;
}

/** Reports nothing: publishes with an empty `traceparent`, processes in place. */
export const NO_CLUSTER_PROBES: ClusterProbes = Object.freeze({
  clusterPublish: <T>(_doc: string | undefined, _kind: string, _bytes: number, publish: (traceparent: string) => T): T => publish(''),
  clusterProcess: <T>(_tp: string, _doc: string | undefined, _kind: string, _bytes: number, process: () => T): T => process(),
  antiEntropyRepair: () => undefined,
});
