import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type * as Jose from 'jose';
import type { JSONWebKeySet, JWK, JWTPayload, JWTVerifyGetKey } from 'jose';
import { SkeinError } from '../errors/skein-error.js';
import { accessFor, parseDocsClaim } from './access.js';
import { requestToken, type Authenticate, type Principal } from './authenticator.js';

/** How tokens are verified (`--auth jwt`): exactly one key source. */
export interface JwtOptions {
  /** HS256 shared secret (`--auth-jwt-secret`), at least 32 characters. */
  readonly secret?: string;
  /** A PEM or JWK file with one public key (`--auth-jwt-public-key`): ES256, RS256 or EdDSA. */
  readonly publicKeyFile?: string;
  /** A JWKS file (`--auth-jwks-file`): public keys selected by `kid`. */
  readonly jwksFile?: string;
  readonly issuer?: string;
  readonly audience?: string;
  /** Leeway for `exp` / `nbf` / `iat`, in seconds. */
  readonly clockToleranceS: number;
}

/** The claims Skein reads from a verified token. */
export interface VerifiedToken {
  readonly sub: string;
  /** Seconds since the epoch. */
  readonly exp: number;
  readonly principal: Principal;
}

type Key = Uint8Array | KeyObject | JWTVerifyGetKey;

const ASYMMETRIC = ['ES256', 'RS256', 'EdDSA'] as const;
const MIN_SECRET_LENGTH = 32;

/**
 * Verifies access tokens with `jose`. Only the algorithms of the configured key are
 * accepted: HS256 for a secret; the one algorithm of a public key; ES256 / RS256 / EdDSA from
 * a JWKS. So `alg: none` and HS/RS confusion (an HS256 token "signed" with the public key)
 * are refused by construction. `exp` and `sub` are required, `docs` must be well formed.
 */
export class JwtVerifier {
  readonly #jose: typeof Jose;
  readonly #key: Key;
  readonly #algorithms: readonly string[];
  readonly #opts: JwtOptions;

  private constructor(jose: typeof Jose, key: Key, algorithms: readonly string[], options: JwtOptions) {
    this.#jose = jose;
    this.#key = key;
    this.#algorithms = algorithms;
    this.#opts = options;
  }

  /** Build from the configuration; SKEIN_ERR_CONFIG_INVALID for a missing, ambiguous or unusable key. */
  static async open(options: JwtOptions): Promise<JwtVerifier> {
    const sources = [options.secret, options.publicKeyFile, options.jwksFile].filter((s) => s !== undefined && s !== '');
    if (sources.length !== 1) {
      throw configError('--auth jwt needs exactly one of --auth-jwt-secret, --auth-jwt-public-key, --auth-jwks-file');
    }
    // Loaded here, not at start: a node without `--auth jwt` never loads it.
    const jose = await import('jose');
    if (options.secret !== undefined && options.secret !== '') {
      if (options.secret.length < MIN_SECRET_LENGTH) throw configError(`--auth-jwt-secret must be at least ${MIN_SECRET_LENGTH} characters`);
      return new JwtVerifier(jose, new TextEncoder().encode(options.secret), ['HS256'], options);
    }
    if (options.publicKeyFile !== undefined && options.publicKeyFile !== '') {
      const { key, alg } = await readPublicKey(options.publicKeyFile);
      return new JwtVerifier(jose, key, [alg], options);
    }
    const jwks = await readJson(options.jwksFile ?? '', '--auth-jwks-file');
    const keys = (jwks as Partial<JSONWebKeySet>).keys;
    if (!Array.isArray(keys) || keys.length === 0) throw configError('--auth-jwks-file: expected {"keys": [...]} with at least one key');
    if (keys.some((k) => k.kty === 'oct' || 'd' in k)) throw configError('--auth-jwks-file: only public keys (no secret or private keys)');
    return new JwtVerifier(jose, jose.createLocalJWKSet(jwks as JSONWebKeySet), ASYMMETRIC, options);
  }

  /** Verify `token`; throws a SkeinError with one of the SKEIN_ERR_AUTH_* codes. */
  async verify(token: string, nowMs?: number): Promise<VerifiedToken> {
    let payload: JWTPayload;
    try {
      const result = await this.#jose.jwtVerify(token, this.#key as Uint8Array, {
        algorithms: [...this.#algorithms],
        requiredClaims: ['exp', 'sub'],
        clockTolerance: this.#opts.clockToleranceS,
        ...(this.#opts.issuer === undefined || this.#opts.issuer === '' ? {} : { issuer: this.#opts.issuer }),
        ...(this.#opts.audience === undefined || this.#opts.audience === '' ? {} : { audience: this.#opts.audience }),
        ...(nowMs === undefined ? {} : { currentDate: new Date(nowMs) }),
      });
      payload = result.payload;
    } catch (err) {
      throw tokenError(err, this.#jose.errors);
    }
    if (typeof payload.sub !== 'string' || payload.sub === '' || typeof payload.exp !== 'number') {
      throw new SkeinError('SKEIN_ERR_AUTH_CLAIMS', 'the token needs a string "sub" and a numeric "exp"');
    }
    const grants = parseDocsClaim((payload as Record<string, unknown>).docs);
    const sub = payload.sub;
    const exp = payload.exp;
    return {
      sub,
      exp,
      principal: Object.freeze({ user: sub, access: (name: string) => accessFor(grants, name), expiresAt: exp * 1000 }),
    };
  }

  /** The `authenticate` hook of `--auth jwt`: the request's token, verified. */
  authenticator(now: () => number): Authenticate {
    return async (request: IncomingMessage): Promise<Principal> => {
      const token = requestToken(request);
      if (token === undefined) throw new SkeinError('SKEIN_ERR_AUTH_MISSING', 'an access token is required (?token= or Authorization: Bearer)');
      return (await this.verify(token, now())).principal;
    };
  }
}

/** jose's error → our code. Never echoes the token. */
function tokenError(err: unknown, errors: typeof Jose.errors): SkeinError {
  if (err instanceof SkeinError) return err;
  if (err instanceof errors.JWTExpired) return new SkeinError('SKEIN_ERR_AUTH_EXPIRED', 'the access token has expired', { cause: err });
  if (err instanceof errors.JWTClaimValidationFailed) {
    return new SkeinError('SKEIN_ERR_AUTH_CLAIMS', `the access token's "${err.claim}" claim is not acceptable (${err.reason})`, { cause: err });
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) {
    return new SkeinError('SKEIN_ERR_AUTH_MALFORMED', 'the access token is not a well-formed signed JWT', { cause: err });
  }
  // Bad signature, an algorithm not allowed for this key (incl. `none`, HS/RS confusion),
  // no matching key in the JWKS, or anything else jose refuses.
  return new SkeinError('SKEIN_ERR_AUTH_SIGNATURE', 'the access token was not signed by a trusted key', { cause: err });
}

async function readPublicKey(file: string): Promise<{ key: KeyObject; alg: string }> {
  const text = await readText(file, '--auth-jwt-public-key');
  let key: KeyObject;
  try {
    if (text.trimStart().startsWith('{')) {
      const jwk = JSON.parse(text) as JWK;
      if (jwk.kty === 'oct' || 'd' in jwk) throw configError('--auth-jwt-public-key: a public key is required (no secret or private key)');
      algOfJwk(jwk);
      key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    } else {
      key = createPublicKey(text);
    }
  } catch (err) {
    if (err instanceof SkeinError) throw err;
    throw configError(`--auth-jwt-public-key: not a PEM or JWK public key (${err instanceof Error ? err.message : String(err)})`);
  }
  return { key, alg: algOfKey(key) };
}

function algOfJwk(jwk: JWK): string {
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'RSA') return 'RS256';
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  throw configError('--auth-jwt-public-key: supported keys are EC P-256 (ES256), RSA (RS256) and Ed25519 (EdDSA)');
}

function algOfKey(key: KeyObject): string {
  const type = key.asymmetricKeyType;
  if (type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  if (type === 'rsa') return 'RS256';
  if (type === 'ed25519') return 'EdDSA';
  throw configError('--auth-jwt-public-key: supported keys are EC P-256 (ES256), RSA (RS256) and Ed25519 (EdDSA)');
}

async function readText(file: string, option: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw configError(`${option}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

async function readJson(file: string, option: string): Promise<unknown> {
  const text = await readText(file, option);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw configError(`${option}: ${file} is not JSON`);
  }
}

function configError(message: string): SkeinError {
  return new SkeinError('SKEIN_ERR_CONFIG_INVALID', message);
}
