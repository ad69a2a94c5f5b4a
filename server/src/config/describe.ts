import { z } from 'zod';

/**
 * What kind of value an option takes, read from its zod schema. The loader uses it to turn
 * text (flags, environment variables) into the right JS type *strictly* before zod validates
 * it, and to word error messages and `--help` ("an integer between 0 and 65535").
 *
 * Why not rely on `z.coerce` alone: it accepts `""`, `null`, `true` and `[]` as numbers
 * (0, 0, 1, 0) and turns the string `"false"` into `true`.
 */
export type ValueKind = 'integer' | 'number' | 'boolean' | 'enum' | 'string' | 'other';

export interface ValueShape {
  readonly kind: ValueKind;
  /** The accepted values as a phrase, e.g. `an integer between 0 and 65535`; `undefined` when unknown. */
  readonly expected: string | undefined;
  /** Placeholder shown after the flag in `--help`, e.g. `<int>`. */
  readonly placeholder: string;
}

export function describeSchema(schema: z.ZodType): ValueShape {
  if (schema instanceof z.ZodNumber) return describeNumber(schema);
  if (schema instanceof z.ZodEnum) {
    const choices = schema.options.map(String);
    return {
      kind: 'enum',
      expected: choices.length === 1 ? `"${choices.join('')}"` : `one of ${choices.join(', ')}`,
      placeholder: '<choice>',
    };
  }
  if (schema instanceof z.ZodBoolean) {
    return { kind: 'boolean', expected: 'true or false', placeholder: '<true|false>' };
  }
  if (schema.def.type === 'string') {
    const min = 'minLength' in schema && typeof schema.minLength === 'number' ? schema.minLength : 0;
    const expected = min === 0 ? 'a string' : min === 1 ? 'a non-empty string' : `a string of at least ${min} characters`;
    return { kind: 'string', expected, placeholder: '<string>' };
  }
  return { kind: 'other', expected: undefined, placeholder: '<value>' };
}

function describeNumber(schema: z.ZodNumber): ValueShape {
  const kind = schema.isInt ? 'integer' : 'number';
  const noun = schema.isInt ? 'an integer' : 'a number';
  // `.int()` implies the safe-integer range; only user-set bounds are worth naming.
  const min = bound(schema.minValue, -Number.MAX_SAFE_INTEGER);
  const max = bound(schema.maxValue, Number.MAX_SAFE_INTEGER);
  let expected = noun;
  if (min !== undefined && max !== undefined) expected = `${noun} between ${min} and ${max}`;
  else if (min !== undefined) expected = `${noun} of at least ${min}`;
  else if (max !== undefined) expected = `${noun} of at most ${max}`;
  return { kind, expected, placeholder: schema.isInt ? '<int>' : '<number>' };
}

function bound(value: number | null, implicit: number): number | undefined {
  if (value === null || !Number.isFinite(value) || Math.abs(value) >= Math.abs(implicit)) return undefined;
  return value;
}

const INTEGER_TEXT = /^[+-]?\d+$/;
const NUMBER_TEXT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const TRUE_TEXT = new Set(['true', '1']);
const FALSE_TEXT = new Set(['false', '0']);

/** Sentinel: the raw value cannot be of the option's kind (report `expected ...`). */
export const WRONG_TYPE: unique symbol = Symbol('wrong type');

/**
 * Convert a text value (CLI flag or environment variable) to the option's JS type, or
 * `WRONG_TYPE`. Integers must be plain decimal digits, numbers decimal literals (never an
 * empty string, `0x`, `_`); surrounding whitespace is ignored. Booleans are
 * `true`/`false`/`1`/`0`. Strings and unknown kinds pass through unchanged.
 */
export function fromText(kind: ValueKind, text: string): unknown {
  switch (kind) {
    case 'integer':
    case 'number': {
      const trimmed = text.trim();
      return (kind === 'integer' ? INTEGER_TEXT : NUMBER_TEXT).test(trimmed) ? Number(trimmed) : WRONG_TYPE;
    }
    case 'boolean': {
      const lower = text.trim().toLowerCase();
      if (TRUE_TEXT.has(lower)) return true;
      return FALSE_TEXT.has(lower) ? false : WRONG_TYPE;
    }
    case 'enum':
    case 'string':
    case 'other':
      return text;
  }
}

/**
 * Check a JSON value (config file) is of the option's kind. A string is also accepted for
 * numbers and booleans and converted like text, so `"port": "8080"` works as `--port 8080` does.
 */
export function fromJson(kind: ValueKind, value: unknown): unknown {
  switch (kind) {
    case 'integer':
    case 'number':
      if (typeof value === 'number') return value;
      return typeof value === 'string' ? fromText(kind, value) : WRONG_TYPE;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      return typeof value === 'string' ? fromText(kind, value) : WRONG_TYPE;
    case 'enum':
    case 'string':
      return typeof value === 'string' ? value : WRONG_TYPE;
    case 'other':
      return value;
  }
}
