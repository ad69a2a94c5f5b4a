import { describe, expect, it } from 'vitest';
import { decodeAwarenessUpdate, encodeAwarenessUpdate, type AwarenessEntry } from '@skein/protocol';
import { PresenceLimiter } from '../../server/src/transport/presence-limiter.js';
import { ManualClock } from '../helpers/manual-clock.js';

/** The presence budget (`--presence-rate`) on manual time. */
describe('presence limiter', () => {
  const entry = (clientId: number, clock: number, x: number): AwarenessEntry => ({ clientId, clock, state: { cursor: x } });

  it('within the rate every update applies at once; past it only each client\'s latest state, as soon as the rate allows', () => {
    const clock = new ManualClock();
    const applied: AwarenessEntry[][] = [];
    const limiter = new PresenceLimiter({ ratePerSecond: 10, clock, apply: (u) => applied.push(decodeAwarenessUpdate(u)) });
    // 100 cursor moves of two clients in 10 ms: the first 10 (one second's burst) apply at once.
    for (let i = 1; i <= 100; i++) {
      const e = entry(i % 2 === 0 ? 7 : 8, i, i);
      limiter.offer(encodeAwarenessUpdate([e]), [e]);
      if (i % 10 === 0) clock.advance(1);
    }
    expect(applied).toHaveLength(10);
    expect(limiter.held).toBe(2);
    // Then one update per 100 ms carrying both clients' latest states; nothing more waits.
    clock.advance(100);
    expect(applied).toHaveLength(11);
    expect(applied[10]?.map((e) => [e.clientId, e.clock, e.state])).toEqual([
      [8, 99, { cursor: 99 }],
      [7, 100, { cursor: 100 }],
    ]);
    expect(limiter.held).toBe(0);
    clock.advance(10_000);
    expect(applied).toHaveLength(11);
  });

  it('a held state never goes back in time (an older clock does not replace a newer one); close drops what waits', () => {
    const clock = new ManualClock();
    const applied: AwarenessEntry[][] = [];
    const limiter = new PresenceLimiter({ ratePerSecond: 1, clock, apply: (u) => applied.push(decodeAwarenessUpdate(u)) });
    const send = (e: AwarenessEntry): void => limiter.offer(encodeAwarenessUpdate([e]), [e]);
    send(entry(5, 1, 1)); // the burst of one
    send(entry(5, 3, 3));
    send(entry(5, 2, 2)); // out of order: older than what is held
    clock.advance(1_000);
    expect(applied.map((a) => a[0]?.clock)).toEqual([1, 3]);
    send(entry(5, 4, 4)); // the bucket is empty again: held
    limiter.close();
    clock.advance(5_000);
    expect(applied.map((a) => a[0]?.clock)).toEqual([1, 3]);
  });
});
