import { describe, expect, it } from 'vitest';
import { Outbox } from '../../src/cluster/outbox.js';
import { MemoryKv } from '../../src/persistence/memory-kv.js';
import { ascii, bytes, u64 } from './helpers.js';

/** key = seq:u64be; value = name:varString update:varUint8Array. */
const GOLDEN: ReadonlyArray<readonly [string, Uint8Array, number[]]> = [
  ['doc', bytes(1, 2, 3), [3, ...ascii('doc'), 3, 1, 2, 3]],
  ['é', bytes(), [2, 0xc3, 0xa9, 0]],
];

describe('outbox records: golden bytes', () => {
  it('the outbox stores seq:u64be → name:varString update:varUint8Array', async () => {
    const kv = new MemoryKv();
    const outbox = await Outbox.open(kv);
    for (const [name, update] of GOLDEN) await outbox.append(name, update);
    const stored: [number[], number[]][] = [];
    for await (const { key, value } of kv.iterate({})) stored.push([Array.from(key), Array.from(value)]);
    expect(stored).toEqual(GOLDEN.map(([, , value], i) => [u64(i + 1), value]));
    expect(await outbox.peek(10)).toEqual(GOLDEN.map(([name, update], i) => ({ seq: i + 1, name, update })));
  });
});
