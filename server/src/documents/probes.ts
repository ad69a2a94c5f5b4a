/**
 * What `documents/` reports about itself (its probe port). Declared here, by the module that
 * calls it; `telemetry/` implements it and the composition root plugs it in. `documents/`
 * never imports `telemetry/`.
 */

/** The report of one document load, opened by `documentLoadStarted` and closed exactly once. */
export interface LoadTrace {
  loaded(updates: readonly Uint8Array[], remoteParts: number): void;
  failed(code: string): void;
}

export interface DocumentProbes {
  /** A document load starts (in the active context: the opening connection's trace). */
  documentLoadStarted(name: string): LoadTrace;
  /** A write was refused by a limit (`doc-bytes`: --max-doc-bytes). */
  limitRefused(kind: string): void;
}

const NO_LOAD_TRACE: LoadTrace = Object.freeze({ loaded: () => undefined, failed: () => undefined });

/** Reports nothing: what the registry uses when no probes are plugged in. */
export const NO_DOCUMENT_PROBES: DocumentProbes = Object.freeze({ documentLoadStarted: () => NO_LOAD_TRACE, limitRefused: () => undefined });
