import { accessFor, compileGlob, type DocAccess, type DocGrant } from '@skein/protocol';
import { SkeinError } from '../errors/skein-error.js';

/** What a session may do with one document. */
export type Access = DocAccess;
export type Grant = DocGrant;
export { accessFor };

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

