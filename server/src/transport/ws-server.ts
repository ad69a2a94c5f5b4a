import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { atTime, systemClock, type Clock, type TimerHandle } from '../clock/clock.js';
import type { Logger } from '../logging/logger.js';
import { NO_TRANSPORT_PROBES, type ConnectionTrace, type TransportProbes } from './probes.js';
import type { DocumentRegistry } from '../documents/registry.js';
import { SkeinError, toSkeinError } from '../errors/skein-error.js';
import { ANONYMOUS, type Authenticate, type Principal } from '../auth/authenticator.js';
import { MUX_PROTOCOL } from '@skein/protocol';
import type { ConnectionInfo } from '../documents/session-info.js';
import { Connection, type ConnectionContext, type ConnectionLimits, type Session } from './connection.js';
import { DEFAULT_TURN_BUDGET, TurnGovernor, type TurnBudget } from './inbound-queue.js';
import { docNameFromUrl, validateDocName } from './doc-name.js';
import { MuxSocket, type ChannelSocket } from './mux.js';
import type { PeerSocket } from './peer-socket.js';
import { sliceTurnReads, turnReadSettings } from './read-slicer.js';
import type { EdgeLimits, UpgradeLease } from '../auth/limits.js';

export interface TransportOptions extends ConnectionLimits {
  readonly logger: Logger;
  readonly heartbeatIntervalMs: number;
  readonly telemetry?: TransportProbes;
  /** Time source of the heartbeat and the close grace period (default: the real clock). */
  readonly clock?: Clock;
  /** Who a request is and what they may do (default: everyone may write everything). */
  readonly authenticate?: Authenticate;
  /** Whether read-only sessions may publish awareness. */
  readonly readonlyAwareness?: 'allow' | 'deny';
  /** Limits at the edge (auth/limits.ts); absent: none. */
  readonly limits?: EdgeLimits;
  /** An upgrade that has not completed this long after its request arrived is destroyed (default 10 s). */
  readonly handshakeTimeoutMs?: number;
  /** Fairness: what one connection may handle per event-loop turn (default DEFAULT_TURN_BUDGET). */
  readonly turnBudget?: TurnBudget;
  /** Awareness updates per second applied from one connection; 0 or absent: no bound. */
  readonly presenceRate?: number;
  /** Channels one multiplexed (`skein-mux.v1`) socket may have open; 0: the sub-protocol is off (default 1000). */
  readonly muxMaxChannels?: number;
}

/** An admitted socket's admission, on the socket itself (for the one shared 'close' listener). */
const ADMISSION = Symbol('skein.admission');
type AdmittedSocket = Duplex & { [ADMISSION]?: EdgeAdmission };

/** The 'close' listener of every admitted socket (one function, not a closure per socket). */
function closeAdmission(this: AdmittedSocket): void {
  this[ADMISSION]?.closed();
}

/**
 * An upgrade the edge limits admitted, until its socket closes: the handshake timer (let go
 * once upgraded, with what its callback holds), the limits' lease, the upgrade's trace. An
 * object with methods, not closures: one lives as long as each connection.
 */
class EdgeAdmission {
  /** The upgrade's trace, ended when the socket closes (a no-op once the connection opened). */
  trace: ConnectionTrace | undefined;
  readonly #clock: Clock;
  #timer: TimerHandle | undefined;
  readonly #lease: UpgradeLease | undefined;

  constructor(clock: Clock, timer: TimerHandle, lease: UpgradeLease | undefined) {
    this.#clock = clock;
    this.#timer = timer;
    this.#lease = lease;
  }

  upgraded(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  closed(): void {
    this.upgraded();
    this.#lease?.release();
    this.trace?.closed();
  }
}

/** The heartbeat pings one of this many slices of the connections per tick (interval / slices). */
const HEARTBEAT_SLICES = 16;

/**
 * WebSocket upgrades, the set of live connections and the heartbeat. A bad request is
 * refused with an HTTP error and a JSON body before the upgrade; after the upgrade every
 * problem closes only the socket it concerns.
 */
export class WsTransport {
  readonly #wss: WebSocketServer;
  readonly #connections = new Set<Connection>();
  /** Multiplexed sockets (their channels' connections are in #connections). */
  readonly #muxes = new Set<MuxSocket>();
  readonly #logger: Logger;
  readonly #options: TransportOptions;
  readonly #heartbeat: TimerHandle;
  /** The heartbeat's slices per interval, and the slice the next tick beats. */
  readonly #beatSlices: number;
  #beatSlice = 0;
  readonly #clock: Clock;
  /** The node-wide turn budget every connection shares (twice one connection's). */
  readonly #governor: TurnGovernor;
  readonly #telemetry: TransportProbes;
  /** What every connection of this server shares (one object, not one per connection). */
  readonly #connectionContext: ConnectionContext;
  #accepting = true;

  constructor(registry: DocumentRegistry, options: TransportOptions) {
    this.#logger = options.logger;
    this.#options = options;
    this.#telemetry = options.telemetry ?? NO_TRANSPORT_PROBES;
    // Set deliberately (docs/security.md, "WebSocket options"): ws checks each frame's announced
    // length, and the running total of a fragmented message, against maxPayload before it
    // buffers the payload, so reassembly memory per connection is bounded by maxPayload.
    // No permessage-deflate: no decompression bombs, no zlib context per connection.
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxMessageBytes,
      perMessageDeflate: false,
      clientTracking: false,
      // The multiplexed sub-protocol is chosen when asked for (handleUpgrade refused it if off).
      handleProtocols: (protocols: Set<string>) => (protocols.has(MUX_PROTOCOL) ? MUX_PROTOCOL : false),
    });
    this.#clock = options.clock ?? systemClock;
    const perConnection = options.turnBudget ?? DEFAULT_TURN_BUDGET;
    this.#governor = new TurnGovernor({
      maxMessages: 2 * perConnection.maxMessages,
      maxMs: 2 * perConnection.maxMs,
      ...(perConnection.maxReadBytes === undefined ? {} : { maxReadBytes: 2 * perConnection.maxReadBytes }),
    }, this.#clock);
    const reads = turnReadSettings(perConnection.maxReadBytes, this.#governor, this.#clock);
    this.#connectionContext = {
      registry,
      logger: this.#logger,
      limits: options,
      telemetry: this.#telemetry,
      clock: this.#clock,
      readonlyAwareness: options.readonlyAwareness ?? 'allow',
      inbound: { budget: perConnection, governor: this.#governor, clock: this.#clock },
      ...(reads === undefined ? {} : { reads }),
      ...(options.presenceRate === undefined ? {} : { presenceRate: options.presenceRate }),
      onClosed: this.#forget,
    };
    // Spread over the interval: each tick beats one slice of the connections (by id), so each
    // is pinged once per interval and a node of 10,000 sockets never writes 10,000 pings in one
    // turn (about 20 µs each: a 200 ms stall every interval).
    this.#beatSlices = Math.max(1, Math.min(HEARTBEAT_SLICES, Math.floor(options.heartbeatIntervalMs)));
    this.#heartbeat = this.#clock.setInterval(() => this.#beat(), options.heartbeatIntervalMs / this.#beatSlices);
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Every open connection of this node, oldest first (the inspector, `GET /api/v1/connections`). */
  connections(): ConnectionInfo[] {
    return [...this.#connections].filter((c) => !c.closed).map((c) => c.info());
  }

  /** Close connection `id` with 4403 (an administrator's decision); false when no such open connection. */
  closeConnection(id: number): boolean {
    for (const conn of this.#connections) {
      if (conn.id !== id || conn.closed) continue;
      this.#logger.info({ conn: id, doc: conn.docName, code: 'SKEIN_ERR_CONNECTION_CLOSED_BY_ADMIN' }, 'connection closed by an administrator');
      conn.fail(new SkeinError('SKEIN_ERR_CONNECTION_CLOSED_BY_ADMIN'));
      return true;
    }
    return false;
  }

  /** Every upgraded socket's 'error' listener: one function for all of them (no closure each). */
  readonly #logUpgradeSocketError = (err: Error): void => {
    this.#logger.debug({ err: err.message }, 'upgrade socket error');
  };

  /** The `upgrade` listener of the HTTP server. */
  handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Listeners that live as long as the socket are made by module functions: a closure made
    // here would share this scope's context and keep the request (headers and all) alive
    // for the whole connection.
    socket.on('error', this.#logUpgradeSocketError);
    let docName: string;
    try {
      if (!this.#accepting) throw new SkeinError('SKEIN_ERR_SHUTTING_DOWN');
      if (asksForMux(req)) {
        if (this.#muxMaxChannels === 0) throw new SkeinError('SKEIN_ERR_MUX_DISABLED', 'this server does not multiplex (--mux-max-channels 0)');
        this.#upgradeMux(req, socket, head);
        return;
      }
      docName = docNameFromUrl(req.url);
    } catch (err) {
      const e = toSkeinError(err);
      this.#telemetry.upgradeRefused(e.code);
      refuseUpgrade(socket, e);
      return;
    }
    // Limits at the edge (auth/limits.ts): origin, per-IP rate and connections, per-document connections.
    const edge = this.#admitEdge(req, socket, docName);
    if (edge === undefined) return;
    const upgrade = this.#telemetry.upgradeStarted(docName);
    // A handshake ws rejects never reaches #accept: the socket's close ends the trace (a no-op once opened).
    edge.trace = upgrade;
    // Access is decided before the document is loaded (nothing is loaded for a refusal); the
    // handshake timeout covers the token check too.
    this.#authorize(req, docName).then(
      (session) => {
        if (socket.destroyed) return;
        upgrade.authenticated(session.user, session.readOnly);
        this.#wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
          edge.upgraded();
          this.#accept(ws, socket, docName, upgrade, session, req.socket.remoteAddress);
        });
      },
      (err: unknown) => upgrade.failed(this.#refuseAfterAuth(socket, err)),
    );
  };

  /** Authentication (or the access check) refused an upgrade: log, count, answer; returns the code. */
  #refuseAfterAuth(socket: Duplex, err: unknown): string {
    const e = toSkeinError(err);
    if (e.code === 'SKEIN_ERR_INTERNAL') this.#logger.error({ code: e.code, err: e.message }, 'authenticate hook failed');
    else this.#logger.info({ code: e.code }, 'upgrade refused');
    this.#telemetry.upgradeRefused(e.code);
    if (!socket.destroyed) refuseUpgrade(socket, e);
    return e.code;
  }

  get #muxMaxChannels(): number {
    return this.#options.muxMaxChannels ?? 1_000;
  }

  /**
   * A multiplexed upgrade (`skein-mux.v1`): the request names no document. The edge limits
   * and the token are checked here; each channel's document is checked when it is opened.
   */
  #upgradeMux(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const edge = this.#admitEdge(req, socket, undefined);
    if (edge === undefined) return;
    const authenticate = this.#options.authenticate;
    Promise.resolve(authenticate === undefined ? ANONYMOUS : authenticate(req)).then(
      (principal) => {
        if (socket.destroyed) return;
        this.#wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
          edge.upgraded();
          this.#acceptMux(ws, socket, principal, req.socket.remoteAddress);
        });
      },
      (err: unknown) => void this.#refuseAfterAuth(socket, err),
    );
  }

  #acceptMux(ws: WebSocket, socket: Duplex, principal: Principal, remoteAddress: string | undefined): void {
    if (!this.#accepting) {
      ws.close(1001, 'SKEIN_ERR_SHUTTING_DOWN');
      return;
    }
    // Expired credentials end the whole socket (each channel's connection also closes with 4401):
    // the client opens a new one with a fresh token.
    const at = principal.expiresAt;
    let disarm: (() => void) | undefined;
    const mux: MuxSocket = new MuxSocket(ws, {
      openChannel: (name, channel) => this.#openChannel(name, channel, principal, remoteAddress),
      closed: () => {
        this.#muxes.delete(mux);
        disarm?.();
      },
    }, { maxChannels: this.#muxMaxChannels });
    this.#muxes.add(mux);
    if (at !== undefined) {
      disarm = atTime(this.#clock, at, () => {
        const e = new SkeinError('SKEIN_ERR_AUTH_EXPIRED', 'the access token expired');
        mux.close(e.spec.closeCode ?? 4401, e.code);
      });
    }
    // Reads sliced per turn as for a one-document socket, for the socket as a whole.
    sliceTurnReads(socket, this.#connectionContext.reads, { holdReads: () => mux.hold(true), releaseReads: () => mux.hold(false) });
  }

  /** A channel of a multiplexed socket opened `name`: the checks of a one-document upgrade, then a connection. */
  #openChannel(name: string, channel: ChannelSocket, principal: Principal, remoteAddress: string | undefined): void {
    if (!this.#accepting) throw new SkeinError('SKEIN_ERR_SHUTTING_DOWN');
    validateDocName(name);
    const session = sessionFor(principal, name);
    const lease = this.#options.limits?.admitChannel(name);
    if (lease !== undefined && !lease.ok) {
      this.#telemetry.upgradeRefused(lease.error.code);
      throw lease.error;
    }
    const upgrade = this.#telemetry.upgradeStarted(name);
    upgrade.authenticated(session.user, session.readOnly);
    if (lease !== undefined) channel.onEnd = () => lease.release();
    this.#accept(channel, undefined, name, upgrade, session, remoteAddress);
  }

  async #authorize(req: IncomingMessage, docName: string): Promise<Session> {
    const authenticate = this.#options.authenticate;
    const principal = authenticate === undefined ? ANONYMOUS : await authenticate(req);
    return sessionFor(principal, docName);
  }

  /** Stop accepting, close every socket with `code`, terminate stragglers after `graceMs`. */
  async close(code: number, reason: string, graceMs: number): Promise<void> {
    this.#accepting = false;
    this.#clock.clearInterval(this.#heartbeat);
    const open = [...this.#connections];
    const closed = Promise.all(open.map((c) => c.closedPromise));
    for (const c of open) c.close(code, reason);
    let timer: TimerHandle | undefined;
    const grace = new Promise<void>((resolve) => (timer = this.#clock.setTimeout(resolve, graceMs)));
    await Promise.race([closed, grace]);
    if (timer !== undefined) this.#clock.clearTimeout(timer);
    for (const c of this.#connections) c.terminate();
    await closed;
    for (const mux of this.#muxes) mux.close(code, reason);
    this.#wss.close();
  }

  #accept(ws: PeerSocket, socket: Duplex | undefined, docName: string, upgrade: ConnectionTrace, session: Session, remoteAddress: string | undefined): void {
    if (!this.#accepting) {
      upgrade.failed('SKEIN_ERR_SHUTTING_DOWN');
      ws.close(1001, 'SKEIN_ERR_SHUTTING_DOWN');
      return;
    }
    const conn = new Connection(ws, docName, this.#connectionContext, {
      upgrade,
      session,
      ...(this.#options.limits === undefined ? {} : { rate: this.#options.limits.messageRate() }),
      ...(socket === undefined ? {} : { socket }),
      ...(remoteAddress === undefined ? {} : { remoteAddress }),
    });
    this.#connections.add(conn);
    conn.start();
  }

  /** A connection's socket closed: it is no longer one of this node's. */
  readonly #forget = (conn: Connection): void => {
    this.#connections.delete(conn);
  };

  /**
   * Ask the edge limits; a refusal answers the HTTP error (with Retry-After) and returns
   * undefined. Admitted: the lease is released when the socket closes, and the socket is
   * destroyed when the upgrade does not complete within the handshake timeout.
   */
  #admitEdge(req: IncomingMessage, socket: Duplex, docName: string | undefined): EdgeAdmission | undefined {
    const limits = this.#options.limits;
    let lease: UpgradeLease | undefined;
    if (limits !== undefined) {
      const decision = limits.admitUpgrade({
        origin: req.headers.origin,
        socketAddress: req.socket.remoteAddress,
        forwardedFor: req.headers['x-forwarded-for'],
        docName,
      });
      if (!decision.ok) {
        this.#telemetry.upgradeRefused(decision.error.code);
        this.#logger.debug({ code: decision.error.code, doc: docName }, 'upgrade refused by a limit');
        refuseUpgrade(socket, decision.error, decision.retryAfterS);
        return undefined;
      }
      lease = decision;
    }
    const timer = this.#clock.setTimeout(() => {
      limits?.refused('handshake-timeout');
      this.#logger.debug({ code: 'SKEIN_ERR_HANDSHAKE_TIMEOUT', doc: docName }, 'upgrade did not complete in time');
      socket.destroy();
    }, this.#options.handshakeTimeoutMs ?? 10_000);
    const admission = new EdgeAdmission(this.#clock, timer, lease);
    // One listener for everything the socket's close ends; `on`, not `once` (the socket closes
    // once; `once` wraps a listener in two more objects, kept for the connection's life).
    (socket as AdmittedSocket)[ADMISSION] = admission;
    socket.on('close', closeAdmission);
    return admission;
  }

  /**
   * One tick of the heartbeat: the connections of this slice (and, once per interval, the
   * multiplexed sockets without channels). A peer that has not answered the previous ping is
   * dead: terminated within 2 intervals.
   */
  #beat(): void {
    const slice = this.#beatSlice;
    this.#beatSlice = (slice + 1) % this.#beatSlices;
    // A multiplexed socket without a channel has no connection to be beaten with.
    if (slice === 0) {
      for (const mux of this.#muxes) {
        if (mux.beatIdle()) continue;
        this.#logger.warn({ code: 'SKEIN_ERR_HEARTBEAT_TIMEOUT' }, 'multiplexed peer without channels timed out');
      }
    }
    for (const conn of this.#connections) {
      if (conn.id % this.#beatSlices !== slice) continue;
      if (conn.awaitingPong) {
        this.#logger.warn({ code: 'SKEIN_ERR_HEARTBEAT_TIMEOUT', conn: conn.id, doc: conn.docName }, 'peer timed out');
        conn.terminate();
        continue;
      }
      conn.awaitingPong = true;
      conn.ping();
    }
  }
}

/** What `principal` may do on `docName` (SKEIN_ERR_FORBIDDEN: nothing). */
function sessionFor(principal: Principal, docName: string): Session {
  const access = principal.access(docName);
  if (access === 'none') throw new SkeinError('SKEIN_ERR_FORBIDDEN', 'the access token grants no access to this document');
  return {
    user: principal.user,
    readOnly: access === 'read',
    ...(principal.expiresAt === undefined ? {} : { expiresAt: principal.expiresAt }),
  };
}

/** The upgrade asks for the multiplexed sub-protocol (`Sec-WebSocket-Protocol: skein-mux.v1`). */
function asksForMux(req: IncomingMessage): boolean {
  const header = req.headers['sec-websocket-protocol'];
  return header !== undefined && header.split(',').some((p) => p.trim() === MUX_PROTOCOL);
}

function refuseUpgrade(socket: Duplex, err: SkeinError, retryAfterS?: number): void {
  const status = err.spec.httpStatus ?? 500;
  const body = JSON.stringify(err.toJSON());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Content-Type: application/json\r\n' +
      (retryAfterS === undefined ? '' : `Retry-After: ${retryAfterS}\r\n`) +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}


