import { SkeinError } from '../errors/skein-error.js';
import { compileGlob, type Glob } from '../names/glob.js';

/** What a session may do with one document. */
export type Access = 'none' | 'read' | 'write';

export interface Grant {
  readonly glob: Glob;
  readonly access: 'read' | 'write';
}

/** The most names a `docs` claim may list (a token is no policy database). */
const MAX_GRANTS = 256;

/**
 * Parse the `docs` claim: an object from document-name pattern (the glob syntax of
 * persistence rules: `*` matches any run of characters) to `"read"` or `"write"`.
 * Throws SKEIN_ERR_AUTH_CLAIMS when it is missing or malformed.
 */
export function parseDocsClaim(value: unknown): Grant[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SkeinError('SKEIN_ERR_AUTH_CLAIMS', 'the token has no "docs" claim (an object of pattern → "read" | "write")');
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_GRANTS) throw new SkeinError('SKEIN_ERR_AUTH_CLAIMS', `the "docs" claim lists more than ${MAX_GRANTS} patterns`);
  return entries.map(([pattern, access]) => {
    if (pattern === '' || (access !== 'read' && access !== 'write')) {
      throw new SkeinError('SKEIN_ERR_AUTH_CLAIMS', 'every "docs" entry maps a non-empty pattern to "read" or "write"');
    }
    return { glob: compileGlob(pattern), access };
  });
}

/**
 * The access `grants` give to document `name`: the most specific matching pattern wins —
 * the one with the most literal characters; on a tie the one with fewer `*`; on a full tie
 * `read` (least privilege). No match: `none`.
 */
export function accessFor(grants: readonly Grant[], name: string): Access {
  let best: Grant | undefined;
  for (const grant of grants) {
    if (!grant.glob.matches(name)) continue;
    if (best === undefined || moreSpecific(grant, best)) best = grant;
  }
  return best?.access ?? 'none';
}

function moreSpecific(a: Grant, b: Grant): boolean {
  if (a.glob.literalLength !== b.glob.literalLength) return a.glob.literalLength > b.glob.literalLength;
  if (a.glob.wildcards !== b.glob.wildcards) return a.glob.wildcards < b.glob.wildcards;
  return a.access === 'read' && b.access === 'write';
}
