import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Clock } from '../clock/clock.js';
import { SkeinError } from '../errors/skein-error.js';
import type { Access } from './access.js';
import { ANONYMOUS, requestToken, type Authenticate, type Principal } from './authenticator.js';
import { TokenBucket } from './token-bucket.js';

/**
 * What a route of the HTTP API needs: to read a document, to write it, or admin rights.
 * `inspect`: the inspector's read routes (connections, presence) — admin rights, or with
 * `--inspector open` what `read` needs.
 */
export type ApiLevel = 'public' | 'read' | 'write' | 'admin' | 'inspect';

export interface ApiAccessOptions {
  /** The authenticate hook (`--auth jwt` or an embedder's); undefined: `--auth none`. */
  readonly authenticate: Authenticate | undefined;
  /** `--admin-token` ('' = none). */
  readonly adminToken: string;
  /** `--http-api`. */
  readonly mode: 'auto' | 'open' | 'read-only' | 'off';
  /** The server listens on loopback only. */
  readonly loopback: boolean;
  /** Requests per second per token / per IP (0: no bound) and the burst. */
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly clock: Clock;
  /** `--inspector` (default `admin`): whether `inspect` routes are open to readers. */
  readonly inspector?: 'off' | 'admin' | 'open';
}

/** Who an API request is: a principal, plus whether it holds admin rights. */
export interface ApiCaller {
  readonly principal: Principal;
  readonly admin: boolean;
}

const ADMIN: Principal = Object.freeze({ user: 'admin', access: (): Access => 'write' });
const MAX_BUCKETS = 10_000;

/**
 * The access policy of the HTTP API (docs/http-api.md, "Auth"): the same token rules as the
 * WebSocket (read/write per document name), the admin token for admin routes, and the
 * `--auth none` rule — beyond loopback, write and admin routes are off unless `--http-api open`.
 * Also the per-token request rate (a token bucket per token, or per client IP without one).
 */
export class ApiAccess {
  readonly #opts: ApiAccessOptions;
  readonly #admin: Buffer | undefined;
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(options: ApiAccessOptions) {
    this.#opts = options;
    this.#admin = options.adminToken === '' ? undefined : digest(options.adminToken);
  }

  /** Refuse with SKEIN_ERR_API_RATE_LIMITED (and the wait in ms) past the rate. Call before authenticating. */
  admit(request: IncomingMessage): void {
    const { ratePerSecond, burst, clock } = this.#opts;
    if (ratePerSecond === 0) return;
    const token = requestToken(request);
    const key = token === undefined ? `ip:${request.socket.remoteAddress ?? ''}` : `t:${digest(token).toString('base64')}`;
    const now = clock.now();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= MAX_BUCKETS) this.#prune(now);
      bucket = new TokenBucket(ratePerSecond, burst, now);
      this.#buckets.set(key, bucket);
    }
    if (!bucket.take(now)) {
      throw new RateLimited(Math.max(1, Math.ceil(bucket.waitMs(now) / 1000)));
    }
  }

  /** Who the request is (rejects with the authenticate hook's SKEIN_ERR_AUTH_* codes). */
  async identify(request: IncomingMessage): Promise<ApiCaller> {
    const token = requestToken(request);
    if (token !== undefined && this.#admin !== undefined && timingSafeEqual(digest(token), this.#admin)) {
      return { principal: ADMIN, admin: true };
    }
    if (this.#opts.authenticate === undefined) {
      // `--auth none`: everyone may write; admin rights only where writes are on for everyone.
      return { principal: ANONYMOUS, admin: this.#admin === undefined && this.#writesOpen() };
    }
    return { principal: await this.#opts.authenticate(request), admin: false };
  }

  /** Whether write and admin routes are on at all. */
  writesEnabled(): boolean {
    if (this.#opts.mode === 'read-only') return false;
    return this.#opts.authenticate !== undefined || this.#writesOpen();
  }

  /** Refuse `caller` a route of `level` on document `name` (undefined for routes over no one document). */
  check(caller: ApiCaller, level: ApiLevel, name: string | undefined): void {
    if (level === 'public') return;
    if ((level === 'write' || level === 'admin') && !this.writesEnabled()) {
      throw new SkeinError('SKEIN_ERR_API_WRITE_DISABLED', 'write and admin routes are off (--auth none beyond loopback needs --http-api open)');
    }
    if (level === 'inspect') {
      if (caller.admin) return;
      if (this.#opts.inspector !== 'open') throw new SkeinError('SKEIN_ERR_ADMIN_REQUIRED', 'this route needs the admin token (or --inspector open)');
    }
    if (level === 'admin') {
      if (!caller.admin) throw new SkeinError('SKEIN_ERR_ADMIN_REQUIRED', 'this route needs the admin token');
      return;
    }
    if (name === undefined) return;
    const access = caller.principal.access(name);
    if (access === 'none') throw new SkeinError('SKEIN_ERR_FORBIDDEN', 'the token grants no access to this document');
    if (level === 'write' && access !== 'write') throw new SkeinError('SKEIN_ERR_FORBIDDEN', 'the token grants read access only to this document');
  }

  #writesOpen(): boolean {
    return this.#opts.mode === 'open' || (this.#opts.mode === 'auto' && this.#opts.loopback);
  }

  #prune(now: number): void {
    for (const [key, bucket] of this.#buckets) if (bucket.isFull(now)) this.#buckets.delete(key);
    // Still full of active keys: forget the oldest (a fresh bucket is full: lenient, never stuck).
    for (const key of this.#buckets.keys()) {
      if (this.#buckets.size < MAX_BUCKETS) break;
      this.#buckets.delete(key);
    }
  }
}

/** SKEIN_ERR_API_RATE_LIMITED with the seconds to wait (the Retry-After header). */
export class RateLimited extends SkeinError {
  readonly retryAfterS: number;
  constructor(retryAfterS: number) {
    super('SKEIN_ERR_API_RATE_LIMITED', `too many requests; retry in ${retryAfterS} s`);
    this.retryAfterS = retryAfterS;
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
