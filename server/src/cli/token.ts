import { CONFIG_FILE_FLAG, loadConfig } from '../config/load.js';
import { SkeinError } from '../errors/skein-error.js';
import { parseDocsClaim } from '../auth/access.js';
import type { CliCommand } from './command.js';
import { toTextValues } from './config-flags.js';

const MAX_TTL_S = 366 * 24 * 60 * 60;

/**
 * `skein token`: sign a development access token (HS256) with the configured secret, so a
 * local setup with `--auth jwt` can be tried without an identity provider. Production tokens
 * come from your own backend (docs/security.md shows how).
 */
export const tokenCommand: CliCommand = {
  name: 'token',
  summary: 'Sign a development access token (HS256) with --auth-jwt-secret.',
  usage: '--sub <user> --docs <pattern=read|write,...> [options]',
  options: {
    sub: { type: 'string' },
    docs: { type: 'string' },
    ttl: { type: 'string' },
    url: { type: 'string' },
    'auth-jwt-secret': { type: 'string' },
    'auth-jwt-issuer': { type: 'string' },
    'auth-jwt-audience': { type: 'string' },
    [CONFIG_FILE_FLAG]: { type: 'string' },
  },
  helpBody: () =>
    [
      'Options:',
      '  --sub <user>          The user id ("sub" claim). Required.',
      '  --docs <grants>       Document access, comma-separated pattern=read|write (the glob syntax',
      '                        of persistence rules: * matches any run of characters). Required.',
      '                        Example: boards/*=write,public/*=read',
      '  --ttl <seconds>       Lifetime ("exp" = now + ttl). Default 3600, at most one year.',
      '  --url <page>          Print a link instead: <page> with ?token=<token> added (keeps its',
      '                        #fragment), e.g. a read-only viewer link to a canvas board:',
      '                        --docs canvas/demo=read --url "http://localhost:1234/#demo"',
      '  --auth-jwt-secret, --auth-jwt-issuer, --auth-jwt-audience, --config',
      '                        As for skein serve (also from SKEIN_AUTH_JWT_SECRET etc. or the config',
      '                        file); the issuer and audience, when set, go into "iss" and "aud".',
      '',
      'Prints the token on stdout (and nothing else there), a summary on stderr. Use it as',
      'ws://host:port/<document>?token=<token> or Authorization: Bearer <token>.',
    ].join('\n'),
  async run(args, io) {
    const sub = required(args.values['sub'], '--sub');
    const grants = parseGrants(required(args.values['docs'], '--docs'));
    const ttl = parseTtl(args.values['ttl']);
    const link = args.values['url'];
    const { sub: _s, docs: _d, ttl: _t, url: _u, ...configFlags } = args.values;
    const config = loadConfig({ argv: toTextValues(configFlags), env: io.env });
    if (config.authJwtSecret === '') {
      throw new SkeinError('SKEIN_ERR_CONFIG_INVALID', 'skein token signs with --auth-jwt-secret (or SKEIN_AUTH_JWT_SECRET): none is set');
    }
    const { SignJWT } = await import('jose');
    const now = Math.floor(Date.now() / 1000);
    let jwt = new SignJWT({ docs: grants }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(sub).setIssuedAt(now).setExpirationTime(now + ttl);
    if (config.authJwtIssuer !== '') jwt = jwt.setIssuer(config.authJwtIssuer);
    if (config.authJwtAudience !== '') jwt = jwt.setAudience(config.authJwtAudience);
    const token = await jwt.sign(new TextEncoder().encode(config.authJwtSecret));
    io.stdout.write(`${typeof link === 'string' ? withToken(link, token) : token}\n`);
    io.stderr.write(`token for ${JSON.stringify(sub)}: ${JSON.stringify(grants)}, expires ${new Date((now + ttl) * 1000).toISOString()}\n`);
    return 0;
  },
};

/** `page` with `token=<token>` in its query string (before any #fragment). */
function withToken(page: string, token: string): string {
  let url: URL;
  try {
    url = new URL(page);
  } catch {
    throw new SkeinError('SKEIN_ERR_USAGE', `--url ${JSON.stringify(page)} is not an absolute URL`);
  }
  url.searchParams.set('token', token);
  return url.toString();
}

function required(value: unknown, flag: string): string {
  if (typeof value !== 'string' || value === '') throw new SkeinError('SKEIN_ERR_USAGE', `${flag} is required (see skein token --help)`);
  return value;
}

/** `a/*=write,b=read` → `{ "a/*": "write", "b": "read" }`, validated like the server validates the claim. */
function parseGrants(text: string): Record<string, 'read' | 'write'> {
  const grants: Record<string, 'read' | 'write'> = {};
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    const eq = entry.lastIndexOf('=');
    const access = entry.slice(eq + 1).trim();
    if (eq <= 0 || (access !== 'read' && access !== 'write')) {
      throw new SkeinError('SKEIN_ERR_USAGE', `--docs entry ${JSON.stringify(entry)}: expected pattern=read or pattern=write`);
    }
    grants[entry.slice(0, eq).trim()] = access;
  }
  parseDocsClaim(grants);
  return grants;
}

function parseTtl(value: unknown): number {
  if (value === undefined) return 3600;
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value) || Number(value) < 1 || Number(value) > MAX_TTL_S) {
    throw new SkeinError('SKEIN_ERR_USAGE', `--ttl must be a whole number of seconds from 1 to ${MAX_TTL_S}`);
  }
  return Number(value);
}
