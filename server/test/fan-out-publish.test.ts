import { afterEach, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { decodeMessage } from '@skein/protocol';
import type { Peer } from '../src/documents/origins.js';
import type * as Concat from '../src/crdt/concat.js';
import type { FanOutOptions } from '../src/documents/fan-out.js';

// The fan-out's merges, counted: the real function, observed.
const merges = vi.hoisted(() => ({ calls: 0 }));
vi.mock('../src/crdt/concat.js', async (importOriginal) => {
  const actual = await importOriginal<typeof Concat>();
  return {
    ...actual,
    mergeSequentialUpdates: (updates: readonly Uint8Array[]): Uint8Array => {
      merges.calls++;
      return actual.mergeSequentialUpdates(updates);
    },
  };
});
const { FanOut } = await import('../src/documents/fan-out.js');
const { mergeSequentialUpdates } = await vi.importActual<typeof Concat>('../src/crdt/concat.js');

/** `defer`red callbacks run when the test ends the turn. */
function turnClock(): { clock: FanOutOptions['clock']; endTurn: () => void } {
  let deferred: (() => void)[] = [];
  return {
    clock: {
      now: () => 0,
      defer: (cb: () => void) => (deferred.push(cb), cb),
      cancelDefer: (h: unknown) => void (deferred = deferred.filter((cb) => cb !== h)),
      setTimeout: () => { throw new Error('no timers in this test'); },
      clearTimeout: () => undefined,
    },
    endTurn() {
      const run = deferred;
      deferred = [];
      for (const cb of run) cb();
    },
  };
}

let nextId = 1;
function peer(): Peer & { updates: Uint8Array[] } {
  const updates: Uint8Array[] = [];
  return {
    id: nextId++,
    updates,
    send(message: Uint8Array) {
      const m = decodeMessage(message);
      if (m.type === 'sync-update') updates.push(m.update.slice());
    },
  };
}

/** One writer's changes, one small update each. */
function changes(n: number): Uint8Array[] {
  const doc = new Y.Doc();
  doc.clientID = 7;
  const out: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => out.push(u));
  for (let i = 0; i < n; i++) doc.getMap('m').set(`k${i}`, i);
  return out;
}

afterEach(() => {
  merges.calls = 0;
});

describe('fan-out and cluster publish share one merge per group', () => {
  it('a group of this node’s own changes is merged once for the peers and the other nodes', () => {
    const { clock, endTurn } = turnClock();
    const writer = peer();
    const reader = peer();
    const published: Uint8Array[] = [];
    const fanOut = new FanOut({ clock, peers: () => [writer, reader], windowMs: 0, publish: (u) => published.push(u) });
    const u = changes(5);
    const accept = (update: Uint8Array): void => {
      fanOut.add(update, writer);
      fanOut.toCluster(update);
    };
    // Turn 1: the first change goes at once (leading edge); the group then holds u1, u2 for
    // the peers and u0–u2 for the other nodes — different lists, two merges.
    for (const x of u.slice(0, 3)) accept(x);
    endTurn();
    expect(merges.calls).toBe(2);
    // Turn 2: the group open since turn 1 holds u3, u4 for both — one merge.
    for (const x of u.slice(3)) accept(x);
    endTurn();
    expect(merges.calls).toBe(3);

    const expected = (xs: Uint8Array[]): Uint8Array => mergeSequentialUpdates(xs);
    expect(published).toEqual([expected(u.slice(0, 3)), expected(u.slice(3))]);
    expect(reader.updates).toEqual([u[0], expected(u.slice(1, 3)), expected(u.slice(3))]);
    expect(writer.updates).toEqual([]);
  });
});
