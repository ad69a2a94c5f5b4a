import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compareBytes } from '../../src/persistence/kv-store.js';
import type { KvEntry, KvRange, KvStore } from '../../src/persistence/kv-store.js';
import { EXTENSIVE } from '../../../test/helpers/extensive.js';

export interface KvHarness {
  readonly kv: KvStore;
  /** Close the store if still open and release what the factory created. */
  readonly dispose: () => Promise<void>;
  /** Close and open again on the same medium (for implementations that persist). */
  readonly reopen?: () => Promise<KvStore>;
}

const b = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');

async function all(kv: KvStore, range: KvRange): Promise<string[]> {
  const out: string[] = [];
  for await (const { key } of kv.iterate(range)) out.push(hex(key));
  return out;
}

async function entries(kv: KvStore, range: KvRange): Promise<KvEntry[]> {
  const out: KvEntry[] = [];
  for await (const e of kv.iterate(range)) out.push(e);
  return out;
}

/** The behaviour every `KvStore` implementation must have. */
export function runKvConformance(
  name: string,
  factory: () => Promise<KvHarness>,
  { persistent = false }: { persistent?: boolean } = {},
): void {
  describe(`KvStore conformance: ${name}`, () => {
    let h: KvHarness;
    let kv: KvStore;
    beforeEach(async () => {
      h = await factory();
      kv = h.kv;
    });
    afterEach(async () => {
      await h.dispose();
    });

    it('get returns undefined for a missing key and the value for a stored one', async () => {
      expect(await kv.get(b(1))).toBeUndefined();
      await kv.batch([{ type: 'put', key: b(1), value: b(9, 8) }], { sync: true });
      expect(await kv.get(b(1))).toEqual(b(9, 8));
    });

    it('returns plain Uint8Array copies that do not alias stored bytes', async () => {
      const value = b(1, 2, 3);
      await kv.batch([{ type: 'put', key: b(5), value }], { sync: false });
      value[0] = 99;
      const got = await kv.get(b(5));
      expect(got).toBeInstanceOf(Uint8Array);
      expect(got).toEqual(b(1, 2, 3));
    });

    it('applies a batch in order: put then del, del then put, overwrite', async () => {
      await kv.batch([
        { type: 'put', key: b(1), value: b(1) },
        { type: 'del', key: b(1) },
        { type: 'del', key: b(2) },
        { type: 'put', key: b(2), value: b(2) },
        { type: 'put', key: b(3), value: b(3) },
        { type: 'put', key: b(3), value: b(4) },
      ], { sync: true });
      expect(await kv.get(b(1))).toBeUndefined();
      expect(await kv.get(b(2))).toEqual(b(2));
      expect(await kv.get(b(3))).toEqual(b(4));
    });

    it('accepts an empty batch, empty values, 0x00 and 0xff bytes in keys', async () => {
      await kv.batch([], { sync: true });
      await kv.batch([
        { type: 'put', key: b(0), value: new Uint8Array() },
        { type: 'put', key: b(0xff, 0xff), value: b(0) },
        { type: 'put', key: b(0, 0, 0), value: b(1) },
      ], { sync: true });
      expect(await kv.get(b(0))).toEqual(new Uint8Array());
      expect(await all(kv, {})).toEqual(['00', '000000', 'ffff']);
    });

    it('orders keys bytewise: unsigned, shorter prefix first', async () => {
      const keys = [b(0x80), b(0x01), b(0x01, 0x00), b(0x7f, 0xff), b(0xff), b(0x01, 0xff, 0x00), b(0x02)];
      await kv.batch(keys.map((key) => ({ type: 'put' as const, key, value: b() })), { sync: true });
      expect(await all(kv, {})).toEqual(['01', '0100', '01ff00', '02', '7fff', '80', 'ff']);
      expect(await all(kv, { reverse: true })).toEqual(['ff', '80', '7fff', '02', '01ff00', '0100', '01']);
    });

    it('honours gt, gte, lt, lte, limit and reverse', async () => {
      await kv.batch([1, 2, 3, 4, 5].map((i) => ({ type: 'put' as const, key: b(i), value: b(i) })), { sync: true });
      expect(await all(kv, { gt: b(2) })).toEqual(['03', '04', '05']);
      expect(await all(kv, { gte: b(2) })).toEqual(['02', '03', '04', '05']);
      expect(await all(kv, { lt: b(3) })).toEqual(['01', '02']);
      expect(await all(kv, { lte: b(3) })).toEqual(['01', '02', '03']);
      expect(await all(kv, { gt: b(1), lt: b(5) })).toEqual(['02', '03', '04']);
      expect(await all(kv, { gte: b(2), lte: b(4), reverse: true })).toEqual(['04', '03', '02']);
      expect(await all(kv, { limit: 2 })).toEqual(['01', '02']);
      expect(await all(kv, { limit: 2, reverse: true })).toEqual(['05', '04']);
      expect(await all(kv, { gt: b(1), limit: 1, reverse: true })).toEqual(['05']);
      expect(await all(kv, { limit: 0 })).toEqual([]);
      expect(await all(kv, { gt: b(5) })).toEqual([]);
      expect(await all(kv, { gte: b(4), lt: b(2) })).toEqual([]);
      expect(await all(kv, { gte: b(2, 0), lt: b(3, 0) })).toEqual(['03']);
    });

    it('yields keys and values together', async () => {
      await kv.batch([{ type: 'put', key: b(7), value: b(70) }, { type: 'put', key: b(8), value: b(80) }], { sync: true });
      expect(await entries(kv, {})).toEqual([{ key: b(7), value: b(70) }, { key: b(8), value: b(80) }]);
    });

    it('iterates a snapshot: writes during iteration are not seen', async () => {
      await kv.batch([1, 2, 3].map((i) => ({ type: 'put' as const, key: b(i), value: b(i) })), { sync: true });
      const seen: string[] = [];
      for await (const { key } of kv.iterate({})) {
        seen.push(hex(key));
        if (seen.length === 1) {
          await kv.batch([{ type: 'del', key: b(3) }, { type: 'put', key: b(2, 5), value: b() }], { sync: true });
        }
      }
      expect(seen).toEqual(['01', '02', '03']);
      expect(await all(kv, {})).toEqual(['01', '02', '0205']);
    });

    it('iterates many entries across internal chunks', async () => {
      const ops = Array.from({ length: 1000 }, (_, i) => ({ type: 'put' as const, key: b(i >> 8, i & 0xff), value: b(i & 0xff) }));
      await kv.batch(ops, { sync: false });
      const keys = await all(kv, {});
      expect(keys).toHaveLength(1000);
      expect(keys[999]).toBe('03e7');
    });

    it('releases the iterator when the loop breaks early, and keeps working', async () => {
      await kv.batch([1, 2, 3].map((i) => ({ type: 'put' as const, key: b(i), value: b(i) })), { sync: true });
      for await (const { key } of kv.iterate({})) {
        if (key[0] === 1) break;
      }
      expect(await all(kv, { gte: b(2) })).toEqual(['02', '03']);
    });

    it('matches a sorted-map model over random batches and ranges (fast-check)', async () => {
      // Short keys over a tiny alphabet, so batches overwrite and delete what earlier ones put and
      // range bounds fall both on stored keys and between them.
      const key = fc.uint8Array({ minLength: 0, maxLength: 3 }).map((k) => k.map((x) => [0, 1, 0x7f, 0x80, 0xff][x % 5] ?? 0));
      const op = fc.oneof(
        // Values short and long (an implementation may keep the two kinds differently).
        fc.record({ type: fc.constant('put' as const), key, value: fc.oneof(fc.uint8Array({ maxLength: 4 }), fc.uint8Array({ minLength: 500, maxLength: 530 })) }),
        fc.record({ type: fc.constant('del' as const), key }),
      );
      const range = fc.record(
        { gt: key, gte: key, lt: key, lte: key, limit: fc.integer({ min: 0, max: 6 }), reverse: fc.boolean() },
        { requiredKeys: [] },
      );
      const model = new Map<string, Uint8Array>();
      let round = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 30 }), fc.array(range, { minLength: 1, maxLength: 4 }), async (ops, ranges) => {
          // One store across runs (the harness makes one per test): the model carries over too.
          await kv.batch(ops, { sync: (round++ & 1) === 0 });
          for (const o of ops) {
            if (o.type === 'put') model.set(hex(o.key), o.value);
            else model.delete(hex(o.key));
          }
          const sorted = [...model.keys()].map((k) => Buffer.from(k, 'hex')).sort(compareBytes);
          for (const r of ranges) {
            const lower = (k: Uint8Array): boolean =>
              r.gt !== undefined ? compareBytes(k, r.gt) > 0 : r.gte === undefined || compareBytes(k, r.gte) >= 0;
            const upper = (k: Uint8Array): boolean =>
              r.lt !== undefined ? compareBytes(k, r.lt) < 0 : r.lte === undefined || compareBytes(k, r.lte) <= 0;
            let expected = sorted.filter((k) => lower(k) && upper(k));
            if (r.reverse === true) expected.reverse();
            if (r.limit !== undefined) expected = expected.slice(0, r.limit);
            const got = await entries(kv, r);
            expect(got.map((e) => hex(e.key))).toEqual(expected.map(hex));
            expect(got.map((e) => hex(e.value))).toEqual(expected.map((k) => hex(model.get(hex(k)) ?? b())));
          }
        }),
        // CI: 150 schedules in memory, 40 on disk; EXTENSIVE=1: 10,000 and 1,000.
        { numRuns: EXTENSIVE ? (persistent ? 1_000 : 10_000) : persistent ? 40 : 150 },
      );
    }, EXTENSIVE ? 1_800_000 : undefined);

    it('rejects operations after close', async () => {
      await kv.close();
      await expect(kv.get(b(1))).rejects.toThrow();
      await expect(kv.batch([{ type: 'put', key: b(1), value: b(1) }], { sync: true })).rejects.toThrow();
      await expect(all(kv, {})).rejects.toThrow();
    });

    // Only persistent implementations promise to keep data across a reopen.
    if (!persistent) return;
    it('keeps synced data across close and reopen', async () => {
      if (h.reopen === undefined) throw new Error(`${name} is persistent but its harness cannot reopen`);
      await kv.batch([{ type: 'put', key: b(4, 2), value: b(42) }], { sync: true });
      kv = await h.reopen();
      expect(await kv.get(b(4, 2))).toEqual(b(42));
    });
  });
}
