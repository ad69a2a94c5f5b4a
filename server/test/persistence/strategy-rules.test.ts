import { describe, expect, it } from 'vitest';
import { SkeinError } from '../../src/errors/skein-error.js';
import {
  IMMEDIATE, StrategyResolver, formatStrategyRules, matchGlob, parseStrategyRules, validateStrategyRules,
} from '../../src/persistence/strategy-rules.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof SkeinError ? err.code : 'not-a-skein-error';
  }
  return undefined;
}

describe('parseStrategyRules', () => {
  it('parses the compact form, in order', () => {
    const rules = parseStrategyRules('doc/*=immediate, scratch/*=debounced:5000:30000 ,*=debounced:1000:10000');
    expect(rules).toEqual([
      { pattern: 'doc/*', strategy: { kind: 'immediate' } },
      { pattern: 'scratch/*', strategy: { kind: 'debounced', waitMs: 5000, maxWaitMs: 30000 } },
      { pattern: '*', strategy: { kind: 'debounced', waitMs: 1000, maxWaitMs: 10000 } },
    ]);
    expect(formatStrategyRules(rules)).toBe('doc/*=immediate,scratch/*=debounced:5000:30000,*=debounced:1000:10000');
  });

  it('treats an empty string as no rules and splits at the last "="', () => {
    expect(parseStrategyRules('  ')).toEqual([]);
    expect(parseStrategyRules('a=b*=immediate')).toEqual([{ pattern: 'a=b*', strategy: IMMEDIATE }]);
  });

  it.each([
    'doc/*',
    'doc/*=',
    '=immediate',
    'doc/*=immediate,',
    'doc/*=eventually',
    'doc/*=debounced',
    'doc/*=debounced:100',
    'doc/*=debounced:100:50',
    'doc/*=debounced:0:50',
    'doc/*=debounced:1.5:50',
    'doc/*=debounced:-1:50',
    'doc/*=debounced:100:200:300',
    'doc/*=debounced:100:999999999',
  ])('rejects %j with SKEIN_ERR_CONFIG_INVALID and a one-line message', (text) => {
    expect(codeOf(() => parseStrategyRules(text))).toBe('SKEIN_ERR_CONFIG_INVALID');
    try {
      parseStrategyRules(text);
    } catch (err) {
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('validates the typed form the same way', () => {
    expect(validateStrategyRules([{ pattern: 'a*', strategy: { kind: 'debounced', waitMs: 10, maxWaitMs: 10 } }])).toHaveLength(1);
    expect(codeOf(() => validateStrategyRules([{ pattern: '', strategy: IMMEDIATE }]))).toBe('SKEIN_ERR_CONFIG_INVALID');
    expect(codeOf(() => validateStrategyRules([{ pattern: 'a', strategy: { kind: 'debounced', waitMs: 10, maxWaitMs: 5 } }])))
      .toBe('SKEIN_ERR_CONFIG_INVALID');
  });
});

describe('StrategyResolver', () => {
  it('picks the first matching rule, default immediate', () => {
    const r = new StrategyResolver('doc/special=debounced:1:1,doc/*=immediate,*/tmp=debounced:7:70,scratch/*=debounced:5000:30000');
    expect(r.resolve('doc/special')).toEqual({ kind: 'debounced', waitMs: 1, maxWaitMs: 1 });
    expect(r.resolve('doc/tmp')).toEqual(IMMEDIATE); // doc/* comes before */tmp
    expect(r.resolve('x/tmp')).toEqual({ kind: 'debounced', waitMs: 7, maxWaitMs: 70 });
    expect(r.resolve('scratch/a/b')).toEqual({ kind: 'debounced', waitMs: 5000, maxWaitMs: 30000 });
    expect(r.resolve('other')).toEqual(IMMEDIATE);
    expect(new StrategyResolver([]).resolve('anything')).toEqual(IMMEDIATE);
  });

  it('matches globs: * spans any characters including /, everything else literal', () => {
    expect(matchGlob('*', '')).toBe(true);
    expect(matchGlob('doc/*', 'doc/')).toBe(true);
    expect(matchGlob('doc/*', 'doc/a/b')).toBe(true);
    expect(matchGlob('doc/*', 'docs/a')).toBe(false);
    expect(matchGlob('a*b*c', 'abc')).toBe(true);
    expect(matchGlob('a*b*c', 'aXbYc')).toBe(true);
    expect(matchGlob('a*b*c', 'acb')).toBe(false);
    expect(matchGlob('ab*ba', 'aba')).toBe(false); // prefix and suffix may not overlap
    expect(matchGlob('a.b', 'aXb')).toBe(false); // no regex semantics
    expect(matchGlob('exact', 'exact')).toBe(true);
    expect(matchGlob('exact', 'exact2')).toBe(false);
  });
});
