import type { Clock } from '../clock/clock.js';
import type { Config } from '../config/schema.js';
import { SkeinError } from '../errors/skein-error.js';
import { ClientIpResolver, ipLimitKey, parseTrustedProxies } from './client-ip.js';
import { TokenBucket } from './token-bucket.js';

/**
 * Limits at the edge (docs/security.md, "Limits at the edge"): the policy the transport asks
 * before an upgrade completes and for every message a connection receives. Pure: no sockets,
 * time from the injected clock, refusals as `SkeinError`s with stable codes and a report
 * callback per refusal (the transport counts them in telemetry). `0` switches a limit off.
 */
export interface EdgeLimitOptions {
  /** Exact origins (`scheme://host[:port]`) a browser may connect from; empty: any. */
  readonly allowedOrigins: readonly string[];
  /** IPs and CIDR ranges of trusted reverse proxies (X-Forwarded-For is read behind them); empty: none. */
  readonly trustedProxies: readonly string[];
  /** Open (or opening) WebSocket connections per client IP. */
  readonly maxConnectionsPerIp: number;
  /** Upgrade attempts per second per client IP (token bucket refill). */
  readonly upgradeRatePerIp: number;
  /** Upgrade attempts one client IP may make at once (token bucket capacity). */
  readonly upgradeBurstPerIp: number;
  /** Open (or opening) WebSocket connections per document. */
  readonly maxConnectionsPerDoc: number;
  /** Messages per second per connection (capacity: two seconds' worth). */
  readonly maxMessagesPerSecond: number;
  /** Bytes per second per connection (capacity: two seconds' worth, at least one `maxMessageBytes` message). */
  readonly maxBytesPerSecond: number;
  readonly maxMessageBytes: number;
}

/** What a refusal was about: the `skein.limit.kind` attribute of `skein.limit.refusals`. */
export type LimitKind =
  | 'origin'
  | 'ip-connections'
  | 'ip-upgrade-rate'
  | 'doc-connections'
  | 'message-rate'
  | 'byte-rate'
  | 'doc-bytes'
  | 'handshake-timeout'
  | 'header-size';

/** An upgrade refused before it completed: answer `error` with its HTTP status (and Retry-After). */
export interface UpgradeRefusal {
  readonly ok: false;
  readonly kind: LimitKind;
  readonly error: SkeinError;
  /** Seconds, for the Retry-After header. */
  readonly retryAfterS?: number;
}

/** An upgrade admitted: `release` when its socket closes (idempotent). */
export interface UpgradeLease {
  readonly ok: true;
  /** The client address the per-IP limits counted (see client-ip.ts). */
  readonly ip: string;
  release(): void;
}

/**
 * A lease as an object with a method, not a closure: one is held per open connection, so
 * thousands of idle sockets pay for two small objects each, not for closures and contexts.
 */
class Lease implements UpgradeLease {
  readonly ok = true;
  readonly ip: string;
  #key: string | undefined;
  readonly #free: (key: string) => void;
  readonly #inner: UpgradeLease | undefined;

  constructor(ip: string, key: string, free: (key: string) => void, inner?: UpgradeLease) {
    this.ip = ip;
    this.#key = key;
    this.#free = free;
    this.#inner = inner;
  }

  release(): void {
    const key = this.#key;
    if (key === undefined) return;
    this.#key = undefined;
    this.#free(key);
    this.#inner?.release();
  }
}

export interface UpgradeRequest {
  readonly origin: string | undefined;
  readonly socketAddress: string | undefined;
  readonly forwardedFor: string | string[] | undefined;
  /** Absent for a multiplexed socket: its channels are counted by `admitChannel`. */
  readonly docName: string | undefined;
}

/** The rate limit of one connection's incoming messages. */
export interface MessageRate {
  /** Count one received message of `bytes`; a SkeinError (SKEIN_ERR_RATE_LIMITED) past the limit. */
  admit(bytes: number): SkeinError | undefined;
}

interface IpState {
  connections: number;
  bucket: TokenBucket | undefined;
}

/** Idle per-IP entries are dropped at most this often (and whenever more than MAX_IDLE_IPS are tracked). */
const SWEEP_INTERVAL_MS = 10_000;
const MAX_IDLE_IPS = 10_000;
const UNLIMITED: MessageRate = Object.freeze({ admit: () => undefined });

export class EdgeLimits {
  readonly #o: EdgeLimitOptions;
  readonly #clock: Clock;
  readonly #report: (kind: LimitKind) => void;
  readonly #origins: ReadonlySet<string> | undefined;
  readonly #ips: ClientIpResolver;
  readonly #perIp = new Map<string, IpState>();
  readonly #perDoc = new Map<string, number>();
  #lastSweep: number;
  #sweepAbove = MAX_IDLE_IPS;

  constructor(options: EdgeLimitOptions, clock: Clock, report: (kind: LimitKind) => void = () => undefined) {
    this.#o = options;
    this.#clock = clock;
    this.#report = report;
    this.#origins = options.allowedOrigins.length === 0 ? undefined : new Set(options.allowedOrigins.map(normalizeOrigin));
    this.#ips = new ClientIpResolver(options.trustedProxies);
    this.#lastSweep = clock.now();
  }

  /** Client IPs (per-IP keys) currently tracked: bounded, idle ones are dropped. */
  get trackedIps(): number {
    return this.#perIp.size;
  }

  /** Connections counted against `docName` now. */
  docConnections(docName: string): number {
    return this.#perDoc.get(docName) ?? 0;
  }

  /**
   * Decide an upgrade, in order: origin, per-IP upgrade rate, per-IP connections, per-document
   * connections. Every attempt takes a token from its IP's bucket, refused or not (except one
   * refused for its origin, which costs nothing to refuse). Admitted: the connection counts
   * against its IP and document until `release`.
   */
  admitUpgrade(req: UpgradeRequest): UpgradeLease | UpgradeRefusal {
    const now = this.#clock.now();
    if (this.#origins !== undefined && req.origin !== undefined && !this.#origins.has(normalizeOrigin(req.origin))) {
      return this.#refuse('origin', new SkeinError('SKEIN_ERR_ORIGIN_FORBIDDEN', 'this origin may not connect'));
    }
    const ip = this.#ips.resolve(req.socketAddress, req.forwardedFor);
    const key = ipLimitKey(ip);
    this.#maybeSweep(now);
    const state = this.#ipState(key, now);
    if (state.bucket !== undefined && !state.bucket.take(now)) {
      const retryAfterS = Math.max(1, Math.ceil(state.bucket.waitMs(now) / 1000));
      return this.#refuse('ip-upgrade-rate', new SkeinError('SKEIN_ERR_IP_RATE_LIMITED', 'too many connection attempts from this address'), retryAfterS);
    }
    const maxIp = this.#o.maxConnectionsPerIp;
    if (maxIp > 0 && state.connections >= maxIp) {
      return this.#refuse('ip-connections', new SkeinError('SKEIN_ERR_IP_CONNECTION_LIMIT', `more than ${maxIp} connections from this address`), 1);
    }
    const doc = req.docName === undefined ? undefined : this.admitChannel(req.docName);
    if (doc !== undefined && !doc.ok) return doc;
    state.connections++;
    return new Lease(ip, key, this.#releaseConnection, doc);
  }

  /**
   * The per-document part of `admitUpgrade`, alone: a channel of a multiplexed socket (whose
   * upgrade was admitted without a document) counts against its document until `release`.
   */
  admitChannel(docName: string): UpgradeLease | UpgradeRefusal {
    const docCount = this.#perDoc.get(docName) ?? 0;
    const maxDoc = this.#o.maxConnectionsPerDoc;
    if (maxDoc > 0 && docCount >= maxDoc) {
      return this.#refuse('doc-connections', new SkeinError('SKEIN_ERR_DOC_CONNECTION_LIMIT', `the document has ${maxDoc} connections`), 5);
    }
    this.#perDoc.set(docName, docCount + 1);
    return new Lease('', docName, this.#releaseDoc);
  }

  readonly #releaseDoc = (docName: string): void => {
    const n = (this.#perDoc.get(docName) ?? 1) - 1;
    if (n <= 0) this.#perDoc.delete(docName);
    else this.#perDoc.set(docName, n);
  };

  /** A message rate for a new connection (no-op when both rates are off). */
  messageRate(): MessageRate {
    const { maxMessagesPerSecond: mps, maxBytesPerSecond: bps } = this.#o;
    if (mps === 0 && bps === 0) return UNLIMITED;
    const now = this.#clock.now();
    const messages = mps === 0 ? undefined : new TokenBucket(mps, 2 * mps, now);
    // A message up to maxMessageBytes must always be able to pass on a full bucket: otherwise a
    // legitimate large sync would be refused on every reconnect, forever.
    const bytes = bps === 0 ? undefined : new TokenBucket(bps, Math.max(2 * bps, this.#o.maxMessageBytes), now);
    return {
      admit: (size: number): SkeinError | undefined => {
        const at = this.#clock.now();
        if (messages !== undefined && !messages.take(at)) {
          this.#report('message-rate');
          return new SkeinError('SKEIN_ERR_RATE_LIMITED', `more than ${mps} messages per second`);
        }
        if (bytes !== undefined && !bytes.take(at, size)) {
          this.#report('byte-rate');
          return new SkeinError('SKEIN_ERR_RATE_LIMITED', `more than ${bps} bytes per second`);
        }
        return undefined;
      },
    };
  }

  /** Count a refusal made elsewhere (a handshake timeout, an oversized header block, a document quota). */
  refused(kind: LimitKind): void {
    this.#report(kind);
  }

  #refuse(kind: LimitKind, error: SkeinError, retryAfterS?: number): UpgradeRefusal {
    this.#report(kind);
    return retryAfterS === undefined ? { ok: false, kind, error } : { ok: false, kind, error, retryAfterS };
  }

  #ipState(key: string, now: number): IpState {
    let state = this.#perIp.get(key);
    if (state === undefined) {
      const rate = this.#o.upgradeRatePerIp;
      const bucket = rate === 0 ? undefined : new TokenBucket(rate, Math.max(1, this.#o.upgradeBurstPerIp), now);
      state = { connections: 0, bucket };
      this.#perIp.set(key, state);
    }
    return state;
  }

  readonly #releaseConnection = (key: string): void => {
    const state = this.#perIp.get(key);
    if (state !== undefined) {
      state.connections--;
      if (state.connections <= 0 && (state.bucket === undefined || state.bucket.isFull(this.#clock.now()))) this.#perIp.delete(key);
    }
  };

  /**
   * Forget IPs with no connection and a full bucket: such an entry behaves exactly like a new
   * one, so dropping it changes no decision. Memory is bounded by the open connections plus
   * the IPs seen within the time a bucket takes to refill.
   */
  #maybeSweep(now: number): void {
    if (now - this.#lastSweep < SWEEP_INTERVAL_MS && this.#perIp.size <= this.#sweepAbove) return;
    this.#lastSweep = now;
    for (const [key, state] of this.#perIp) {
      if (state.connections <= 0 && (state.bucket === undefined || state.bucket.isFull(now))) this.#perIp.delete(key);
    }
    // Many busy IPs: sweep again only after as many more arrived (amortized O(1) per upgrade).
    this.#sweepAbove = Math.max(MAX_IDLE_IPS, 2 * this.#perIp.size);
  }
}

/** The edge limits a configuration asks for. */
export function edgeLimitOptions(config: Config): EdgeLimitOptions {
  return {
    allowedOrigins: parseOriginList(config.allowedOrigins),
    trustedProxies: parseTrustedProxies(config.trustProxy),
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    upgradeRatePerIp: config.upgradeRatePerIp,
    upgradeBurstPerIp: config.upgradeBurstPerIp,
    maxConnectionsPerDoc: config.maxConnectionsPerDoc,
    maxMessagesPerSecond: config.maxMessagesPerSecond,
    maxBytesPerSecond: config.maxBytesPerSecond,
    maxMessageBytes: config.maxMessageBytes,
  };
}

/** Origins compare as the browser sends them, ASCII case-insensitively, without a trailing slash. */
function normalizeOrigin(origin: string): string {
  return origin.trim().toLowerCase().replace(/\/+$/, '');
}

/** Parse a comma-separated origin list (`--allowed-origins`). */
export function parseOriginList(text: string): string[] {
  return text.split(',').map((o) => o.trim()).filter((o) => o !== '');
}
