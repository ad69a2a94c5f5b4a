/**
 * Document-name globs and the access rule of access tokens' `docs` claim, shared by the
 * server (which enforces it), the persistence rules (same glob syntax) and clients (which
 * may read their own token to set up their UI before the server's Welcome). Pure.
 *
 * Glob: `*` matches any run of characters, including `/` and the empty run; every other
 * character is literal.
 */
export interface Glob {
  readonly pattern: string;
  /** Characters that must match literally (the pattern's length minus its `*`s). */
  readonly literalLength: number;
  readonly wildcards: number;
  matches(name: string): boolean;
}

export function compileGlob(pattern: string): Glob {
  const segments = pattern.split('*');
  return Object.freeze({
    pattern,
    literalLength: pattern.length - (segments.length - 1),
    wildcards: segments.length - 1,
    matches: (name: string) => matchSegments(segments, name),
  });
}

/** Glob match where `*` matches any (possibly empty) run of characters. */
export function matchGlob(pattern: string, name: string): boolean {
  return matchSegments(pattern.split('*'), name);
}

/** What a session may do with one document. */
export type DocAccess = 'none' | 'read' | 'write';

export interface DocGrant {
  readonly glob: Glob;
  readonly access: 'read' | 'write';
}

/**
 * The access `grants` give to document `name`: the most specific matching pattern wins —
 * the one with the most literal characters; on a tie the one with fewer `*`; on a full tie
 * `read` (least privilege). No match: `none`.
 */
export function accessFor(grants: readonly DocGrant[], name: string): DocAccess {
  let best: DocGrant | undefined;
  for (const grant of grants) {
    if (!grant.glob.matches(name)) continue;
    if (best === undefined || moreSpecific(grant, best)) best = grant;
  }
  return best?.access ?? 'none';
}

function moreSpecific(a: DocGrant, b: DocGrant): boolean {
  if (a.glob.literalLength !== b.glob.literalLength) return a.glob.literalLength > b.glob.literalLength;
  if (a.glob.wildcards !== b.glob.wildcards) return a.glob.wildcards < b.glob.wildcards;
  return a.access === 'read' && b.access === 'write';
}

function matchSegments(segments: readonly string[], name: string): boolean {
  const first = segments[0] ?? '';
  if (segments.length === 1) return name === first;
  const last = segments[segments.length - 1] ?? '';
  if (name.length < first.length + last.length) return false;
  if (!name.startsWith(first) || !name.endsWith(last)) return false;
  let pos = first.length;
  const end = name.length - last.length;
  for (let i = 1; i < segments.length - 1; i++) {
    const segment = segments[i] ?? '';
    const found = name.indexOf(segment, pos);
    if (found < 0 || found + segment.length > end) return false;
    pos = found + segment.length;
  }
  return true;
}
