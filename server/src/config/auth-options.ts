import { z } from 'zod';
import type { OptionSpec } from './schema.js';

// A path is a file name (read at start); empty means unset. A NUL can never be part of a path.
const filePath = z.string().refine((text) => !text.includes('\0'), { message: 'a file path must not contain NUL' });

/** Access control (docs/security.md). */
export const AUTH_OPTIONS = [
  { key: 'auth', flag: 'auth', env: 'SKEIN_AUTH', schema: z.enum(['none', 'jwt']), default: 'none',
    description:
      'Access control: none (anyone who reaches the server reads and writes every document; a warning is logged when ' +
      'listening beyond loopback) or jwt (a signed token with a "docs" claim is required for every document).' },
  { key: 'authJwtSecret', flag: 'auth-jwt-secret', env: 'SKEIN_AUTH_JWT_SECRET',
    schema: z.string().refine((s) => s === '' || s.length >= 32, { message: 'must be empty or at least 32 characters' }),
    default: '', sensitive: true,
    description: 'HS256 secret that signs access tokens (at least 32 characters). Also what `skein token` signs with.' },
  { key: 'authJwtPublicKey', flag: 'auth-jwt-public-key', env: 'SKEIN_AUTH_JWT_PUBLIC_KEY', schema: filePath, default: '',
    description: 'File with the public key that verifies access tokens: PEM or JWK; ES256 (P-256), RS256 or EdDSA (Ed25519).' },
  { key: 'authJwksFile', flag: 'auth-jwks-file', env: 'SKEIN_AUTH_JWKS_FILE', schema: filePath, default: '',
    description: 'File with a JWKS ({"keys": [...]}, public keys chosen by kid) that verifies access tokens (key rotation).' },
  { key: 'authJwtIssuer', flag: 'auth-jwt-issuer', env: 'SKEIN_AUTH_JWT_ISSUER', schema: z.string(), default: '',
    description: 'Required "iss" of access tokens. Empty: not checked.' },
  { key: 'authJwtAudience', flag: 'auth-jwt-audience', env: 'SKEIN_AUTH_JWT_AUDIENCE', schema: z.string(), default: '',
    description: 'Required "aud" of access tokens. Empty: not checked.' },
  { key: 'authClockToleranceS', flag: 'auth-clock-tolerance-s', env: 'SKEIN_AUTH_CLOCK_TOLERANCE_S',
    schema: z.coerce.number().int().min(0).max(300), default: 5,
    description: 'Seconds of clock skew tolerated when checking "exp" and "nbf".' },
  { key: 'readonlyAwareness', flag: 'readonly-awareness', env: 'SKEIN_READONLY_AWARENESS',
    schema: z.enum(['allow', 'deny']), default: 'allow',
    description: 'Whether read-only sessions may publish awareness (cursors, presence): allow, or deny (dropped).' },
] as const satisfies readonly OptionSpec[];
