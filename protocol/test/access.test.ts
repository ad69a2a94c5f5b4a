import { describe, expect, it } from 'vitest';
import { accessFor, compileGlob, matchGlob, type DocGrant } from '../src/index.js';

const grants = (docs: Record<string, 'read' | 'write'>): DocGrant[] =>
  Object.entries(docs).map(([pattern, access]) => ({ glob: compileGlob(pattern), access }));

describe('document-name globs', () => {
  it('`*` matches any run of characters, including `/` and nothing; everything else is literal', () => {
    expect(matchGlob('boards/*', 'boards/1')).toBe(true);
    expect(matchGlob('boards/*', 'boards/a/b')).toBe(true);
    expect(matchGlob('boards/*', 'boards/')).toBe(true);
    expect(matchGlob('boards/*', 'board')).toBe(false);
    expect(matchGlob('*/x', 'a/b/x')).toBe(true);
    expect(matchGlob('a*b*c', 'abc')).toBe(true);
    expect(matchGlob('a*b*c', 'acb')).toBe(false);
    expect(matchGlob('a.b', 'aXb')).toBe(false); // no regex semantics
    expect(matchGlob('exact', 'exact')).toBe(true);
    expect(matchGlob('exact', 'exactly')).toBe(false);
  });
});

describe('access from a docs claim: the most specific matching pattern wins', () => {
  it('more literal characters win; then fewer `*`; then read; no match is none', () => {
    const g = grants({ 'boards/*': 'write', 'boards/secret': 'read', 'public/*': 'read', '*': 'read' });
    expect(accessFor(g, 'boards/1')).toBe('write');
    expect(accessFor(g, 'boards/secret')).toBe('read');
    expect(accessFor(g, 'public/x')).toBe('read');
    expect(accessFor(g, 'other')).toBe('read');
    expect(accessFor(grants({ 'a/*': 'write' }), 'b')).toBe('none');
    // Same literal length: fewer wildcards win.
    expect(accessFor(grants({ 'ab*': 'read', 'a*b*': 'write' }), 'abx')).toBe('read');
    // A full tie: read (least privilege).
    expect(accessFor([{ glob: compileGlob('x*'), access: 'write' }, { glob: compileGlob('x*'), access: 'read' }], 'xy')).toBe('read');
  });
});
