import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import fc from 'fast-check';
import { exactStateVector, storedStateVector } from '../src/health/integrity.js';

/** `n` updates of one client: one-item array pushes (the pattern that makes applying them quadratic). */
function pushes(n: number, doc = new Y.Doc()): Uint8Array[] {
  const out: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => out.push(u));
  for (let i = 0; i < n; i++) doc.getArray('a').push([i]);
  return out;
}

describe('integrity scan: the stored state vector without applying the records', () => {
  it('equals the applied state vector, also when a record is missing (what follows a gap does not count)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.option(fc.nat()), async (a, b, drop) => {
        const docA = new Y.Doc();
        const docB = new Y.Doc();
        const records = [...pushes(a, docA), ...pushes(b, docB)];
        if (drop !== null) records.splice(drop % records.length, 1);
        expect(Y.decodeStateVector(await storedStateVector(records))).toEqual(Y.decodeStateVector(exactStateVector(records)));
      }),
      { numRuns: 60 },
    );
  });

  it('lets the event loop run between slices of a long log', async () => {
    const records = pushes(2_000);
    let turns = 0;
    let ticking = true;
    const tick = (): void => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const vector = await storedStateVector(records);
    ticking = false;
    expect(Y.decodeStateVector(vector).values().next().value).toBe(2_000);
    // 2,000 records in slices of 500: the loop turned between them.
    expect(turns).toBeGreaterThanOrEqual(3);
  });
});
