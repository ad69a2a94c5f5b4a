import fc from 'fast-check';
import { isProtocolError } from '@skein/protocol';
import { SkeinError } from '../../src/errors/skein-error.js';

/** Number of runs per fast-check property: each run is cheap. */
export const RUNS = 2000;

export function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

export function ascii(text: string): number[] {
  return Array.from(text, (c) => c.charCodeAt(0));
}

/** `n` as 8 big-endian bytes (n < 2^53). */
export function u64(n: number): number[] {
  const hi = Math.floor(n / 2 ** 32);
  const lo = n >>> 0;
  return [hi >>> 24, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff];
}

/** Copy `input` into the middle of a larger buffer filled with `fill` and return the view. */
export function viewInto(input: Uint8Array, before: number, after: number, fill = 0xff): Uint8Array {
  const backing = new Uint8Array(before + input.length + after).fill(fill);
  backing.set(input, before);
  return backing.subarray(before, before + input.length);
}

/** Arbitrary bytes, often as a view at an offset into a larger, junk-filled buffer. */
export const arbBytes = (maxLength = 200): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    fc.uint8Array({ maxLength }),
    fc
      .tuple(fc.uint8Array({ maxLength }), fc.nat({ max: 32 }), fc.integer({ min: 1, max: 32 }), fc.integer({ min: 0, max: 255 }))
      .map(([b, before, after, fill]) => viewInto(b, before, after, fill)),
  );

/** A view of `input` at an offset into a larger buffer whose other bytes are all `fill`. */
export const inView = (input: Uint8Array): fc.Arbitrary<Uint8Array> =>
  fc
    .tuple(fc.nat({ max: 16 }), fc.nat({ max: 16 }), fc.integer({ min: 0, max: 255 }))
    .map(([before, after, fill]) => viewInto(input, before, after, fill));

/**
 * Run `fn`; return the code it threw (for a SkeinError wrapping a ProtocolError:
 * `outer/inner`), or undefined if it returned. Anything uncoded is rethrown, failing the test.
 */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (isProtocolError(err)) return err.code;
    if (err instanceof SkeinError) {
      return isProtocolError(err.cause) ? `${err.code}/${err.cause.code}` : err.code;
    }
    throw err;
  }
  return undefined;
}
