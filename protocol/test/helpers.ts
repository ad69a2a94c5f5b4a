import fc from 'fast-check';
import { expect } from 'vitest';
import { type AwarenessEntry, type Message, ProtocolError } from '../src/index.js';

/** Number of runs for fast-check properties: a few thousand, each one cheap. */
export const RUNS = 3000;

/** Copy `bytes` into the middle of a larger buffer filled with `fill` and return the view. */
export function viewInto(bytes: Uint8Array, before: number, after: number, fill = 0xff): Uint8Array {
  const backing = new Uint8Array(before + bytes.length + after).fill(fill);
  backing.set(bytes, before);
  return backing.subarray(before, before + bytes.length);
}

/** Arbitrary bytes, often as a view at a non-zero offset into a larger, junk-filled buffer. */
export const arbBytes = (maxLength = 300): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    fc.uint8Array({ maxLength }),
    fc
      .tuple(
        fc.uint8Array({ maxLength }),
        fc.nat({ max: 32 }),
        fc.integer({ min: 1, max: 32 }),
        fc.integer({ min: 0, max: 255 }),
      )
      .map(([bytes, before, after, fill]) => viewInto(bytes, before, after, fill)),
  );

export const arbMessage: fc.Arbitrary<Message> = fc.oneof(
  arbBytes().map((stateVector): Message => ({ type: 'sync-step1', stateVector })),
  arbBytes().map((update): Message => ({ type: 'sync-step2', update })),
  arbBytes().map((update): Message => ({ type: 'sync-update', update })),
  arbBytes().map((update): Message => ({ type: 'awareness', update })),
  fc.string({ unit: 'binary', maxLength: 60 }).map((reason): Message => ({ type: 'auth-denied', reason })),
  fc.constant<Message>({ type: 'query-awareness' }),
);

export const arbAwarenessEntry: fc.Arbitrary<AwarenessEntry> = fc.record({
  clientId: fc.oneof(fc.nat({ max: 300 }), fc.integer({ min: 0, max: 0xffff_ffff })),
  clock: fc.oneof(fc.nat({ max: 300 }), fc.maxSafeNat()),
  state: fc.oneof(fc.constant(null), fc.jsonValue({ maxDepth: 3 })),
});

/** The byte-array fields of a decoded message. */
export function viewsOf(message: Message): Uint8Array[] {
  switch (message.type) {
    case 'sync-step1':
      return [message.stateVector];
    case 'sync-step2':
    case 'sync-update':
    case 'awareness':
      return [message.update];
    case 'auth-denied':
    case 'query-awareness':
    case 'skein-hello':
    case 'skein-welcome':
    case 'skein-ack':
      return [];
  }
}

/** Assert that `view` shares `input`'s memory and lies entirely inside `input`'s view. */
export function expectWithin(view: Uint8Array, input: Uint8Array): void {
  expect(view.buffer).toBe(input.buffer);
  expect(view.byteOffset).toBeGreaterThanOrEqual(input.byteOffset);
  expect(view.byteOffset + view.byteLength).toBeLessThanOrEqual(input.byteOffset + input.byteLength);
}

/** Run `fn`; return the ProtocolError code it threw, undefined if it returned. Rethrow anything else. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolError) {
      return err.code;
    }
    throw err;
  }
  return undefined;
}

export function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

export function ascii(text: string): number[] {
  return Array.from(text, (c) => c.charCodeAt(0));
}
