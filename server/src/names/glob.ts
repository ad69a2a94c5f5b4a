/**
 * Document-name globs, one syntax for every rule that matches names (persistence rules, the
 * `docs` claim of access tokens): `*` matches any run of characters, including `/` and the
 * empty run; every other character is literal.
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
