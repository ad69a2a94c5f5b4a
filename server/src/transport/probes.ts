/**
 * What `transport/` reports about itself (its probe port). Declared here, by the module that
 * calls it; `telemetry/` implements it and the composition root plugs it in. `transport/`
 * never imports `telemetry/`.
 */

/**
 * The trace of one connection's opening (upgrade → document open → initial sync). Opaque to
 * transport: it only runs work inside it and reports how the opening ended.
 */
export interface ConnectionTrace {
  /** Run `fn` in the connection's trace context (the document load becomes a child). */
  run<T>(fn: () => T): T;
  /** Access was granted to `user` (a token's `sub`): recorded on the trace, never the token. */
  authenticated(user: string, readOnly: boolean): void;
  /** The document is open and the initial sync answered. */
  opened(connectionId: number): void;
  /** The connection failed before it opened. */
  failed(code: string): void;
  /** The socket closed. */
  closed(): void;
}

export interface TransportProbes {
  /** An upgrade was refused with `code` (bad name, limits, auth). */
  upgradeRefused(code: string): void;
  /** An upgrade was accepted: the connection's opening trace starts. */
  upgradeStarted(docName: string): ConnectionTrace;
  /** Apply one client update message (`fn`: apply, fan out, persist), measured and traced. */
  applyUpdate<T>(conn: ConnectionTrace | undefined, type: string, bytes: number, peers: number, fn: () => T): T;
  /** A sync step 1 was answered with sync step 2 (`startedAt`: `performance.now()` when it arrived). */
  syncAnswered(conn: ConnectionTrace | undefined, startedAt: number, stateVectorBytes: number, replyBytes: number): void;
  awarenessReceived(): void;
  /**
   * `messages` update messages of one connection were applied as one change, in one transaction (a burst
   * handled in one turn); `applyUpdate` counted one of them.
   */
  updatesMerged(messages: number): void;
  /** A read-only session's update was dropped. */
  readOnlyUpdateDropped(): void;
  /** An update was refused: too many bytes wait for storage (SKEIN_ERR_UNPERSISTED_LIMIT). */
  writeRefused(): void;
  messageSent(bytes: number): void;
}

const NO_CONNECTION_TRACE: ConnectionTrace = Object.freeze({
  run: <T>(fn: () => T): T => fn(),
  authenticated: () => undefined,
  opened: () => undefined,
  failed: () => undefined,
  closed: () => undefined,
});

/** Reports nothing: what transport uses when no probes are plugged in (a call and a return). */
export const NO_TRANSPORT_PROBES: TransportProbes = Object.freeze({
  upgradeRefused: () => undefined,
  upgradeStarted: () => NO_CONNECTION_TRACE,
  applyUpdate: <T>(_conn: ConnectionTrace | undefined, _type: string, _bytes: number, _peers: number, fn: () => T): T => fn(),
  syncAnswered: () => undefined,
  awarenessReceived: () => undefined,
  updatesMerged: () => undefined,
  readOnlyUpdateDropped: () => undefined,
  writeRefused: () => undefined,
  messageSent: () => undefined,
});
