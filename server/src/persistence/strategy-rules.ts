import { SkeinError } from '../errors/skein-error.js';
import { compileGlob, type Glob } from '@skein/protocol';

export { matchGlob } from '@skein/protocol';

/**
 * How an append becomes durable (see `docs/storage.md` for the exact guarantee of each):
 * - `immediate`: the append's batch is written with `sync: true` right away; appends that
 *   arrive while a batch is in flight share the next one (group commit).
 * - `debounced`: appends are buffered per document and written as one synced batch after
 *   `waitMs` without a new append, or `maxWaitMs` after the first buffered one.
 */
export type Strategy =
  | { readonly kind: 'immediate' }
  | { readonly kind: 'debounced'; readonly waitMs: number; readonly maxWaitMs: number };

export type StrategyKind = Strategy['kind'];

export interface StrategyRule {
  /** Document-name glob: `*` matches any run of characters (including `/`); all else literal. */
  readonly pattern: string;
  readonly strategy: Strategy;
}

export const IMMEDIATE: Strategy = Object.freeze({ kind: 'immediate' });

/** Upper bound for `waitMs` / `maxWaitMs`: one day. */
const MAX_DEBOUNCE_MS = 24 * 60 * 60 * 1000;

/**
 * Parse the compact form `pattern=strategy[,pattern=strategy…]`, where strategy is
 * `immediate` or `debounced:<waitMs>:<maxWaitMs>`, e.g.
 * `doc/*=immediate,scratch/*=debounced:5000:30000,*=debounced:1000:10000`.
 * Whitespace around entries is ignored; an empty string means no rules (all immediate).
 * Patterns cannot contain `,` in this form (use the typed array form for that).
 * Throws `SKEIN_ERR_CONFIG_INVALID` with a one-line message.
 */
export function parseStrategyRules(text: string): StrategyRule[] {
  if (text.trim() === '') return [];
  return text.split(',').map((raw, index) => {
    const entry = raw.trim();
    const where = `storage rule ${index + 1} ${JSON.stringify(entry)}`;
    const eq = entry.lastIndexOf('=');
    if (eq < 0) throw invalid(`${where}: expected pattern=strategy`);
    const pattern = entry.slice(0, eq).trim();
    const strategy = parseStrategy(entry.slice(eq + 1).trim(), where);
    return checkRule({ pattern, strategy }, where);
  });
}

function parseStrategy(text: string, where: string): Strategy {
  if (text === 'immediate') return IMMEDIATE;
  const parts = text.split(':');
  if (parts[0] !== 'debounced') {
    throw invalid(`${where}: unknown strategy ${JSON.stringify(text)} (expected immediate or debounced:<waitMs>:<maxWaitMs>)`);
  }
  if (parts.length !== 3) throw invalid(`${where}: expected debounced:<waitMs>:<maxWaitMs>`);
  return { kind: 'debounced', waitMs: parseMs(parts[1], 'waitMs', where), maxWaitMs: parseMs(parts[2], 'maxWaitMs', where) };
}

function parseMs(text: string | undefined, field: string, where: string): number {
  if (text === undefined || !/^\d{1,9}$/.test(text)) throw invalid(`${where}: ${field} must be a whole number of milliseconds`);
  return Number(text);
}

/** Validate rules given in the typed form (a config file, code). Returns a frozen copy. */
export function validateStrategyRules(rules: readonly StrategyRule[]): StrategyRule[] {
  return rules.map((rule, index) => checkRule(rule, `storage rule ${index + 1} ${JSON.stringify(rule.pattern)}`));
}

function checkRule(rule: StrategyRule, where: string): StrategyRule {
  if (typeof rule.pattern !== 'string' || rule.pattern === '') throw invalid(`${where}: empty pattern`);
  const s = rule.strategy;
  if (s.kind === 'immediate') return Object.freeze({ pattern: rule.pattern, strategy: IMMEDIATE });
  if (s.kind !== 'debounced') throw invalid(`${where}: unknown strategy kind`);
  for (const [field, value] of [['waitMs', s.waitMs], ['maxWaitMs', s.maxWaitMs]] as const) {
    if (!Number.isInteger(value) || value < 1 || value > MAX_DEBOUNCE_MS) {
      throw invalid(`${where}: ${field} must be an integer from 1 to ${MAX_DEBOUNCE_MS}`);
    }
  }
  if (s.maxWaitMs < s.waitMs) throw invalid(`${where}: maxWaitMs must be >= waitMs`);
  return Object.freeze({
    pattern: rule.pattern,
    strategy: Object.freeze({ kind: 'debounced', waitMs: s.waitMs, maxWaitMs: s.maxWaitMs }),
  });
}

/** The compact string form of `rules` (inverse of `parseStrategyRules`). */
export function formatStrategyRules(rules: readonly StrategyRule[]): string {
  return rules
    .map(({ pattern, strategy: s }) =>
      `${pattern}=${s.kind === 'immediate' ? 'immediate' : `debounced:${s.waitMs}:${s.maxWaitMs}`}`)
    .join(',');
}

/** Picks the strategy for a document name: first matching rule wins, default `immediate`. */
export class StrategyResolver {
  readonly #rules: readonly { readonly glob: Glob; readonly strategy: Strategy }[];

  constructor(rules: readonly StrategyRule[] | string = []) {
    const valid = typeof rules === 'string' ? parseStrategyRules(rules) : validateStrategyRules(rules);
    this.#rules = valid.map((r) => ({ glob: compileGlob(r.pattern), strategy: r.strategy }));
  }

  resolve(name: string): Strategy {
    for (const rule of this.#rules) {
      if (rule.glob.matches(name)) return rule.strategy;
    }
    return IMMEDIATE;
  }
}

function invalid(message: string): SkeinError {
  return new SkeinError('SKEIN_ERR_CONFIG_INVALID', message);
}
