import { describe, expect, it } from 'vitest';
import { atTime } from '../src/clock/clock.js';
import { ManualClock } from '../../test/helpers/manual-clock.js';

describe('atTime: a deadline beyond what one timer holds', () => {
  it('fires once at the deadline, 40 days away (re-armed past the ~24.8-day timer limit), not before', () => {
    const clock = new ManualClock(0);
    const day = 24 * 3600 * 1000;
    let fired = 0;
    atTime(clock, 40 * day, () => fired++);
    clock.advance(2 ** 31 - 1); // the first timer fires early: it re-arms
    expect(fired).toBe(0);
    clock.advance(40 * day - (2 ** 31 - 1) - 1);
    expect(fired).toBe(0);
    clock.advance(1);
    expect(fired).toBe(1);
    clock.advance(100 * day);
    expect(fired).toBe(1);
  });

  it('a deadline already past fires on the next timer; cancel stops it', () => {
    const clock = new ManualClock(1_000);
    let fired = 0;
    atTime(clock, 500, () => fired++);
    clock.advance(0);
    expect(fired).toBe(1);
    const cancel = atTime(clock, 2_000, () => fired++);
    cancel();
    clock.advance(5_000);
    expect(fired).toBe(1);
  });
});
