import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  Lifecycle, transitionTable, type DocumentState, type LifecycleEvent,
} from '../../server/src/documents/lifecycle.js';

const STATES: readonly DocumentState[] = ['loading', 'active', 'idle', 'unloading', 'closed'];
const EVENTS: readonly LifecycleEvent[] = ['loaded', 'load-failed', 'peer-joined', 'last-peer-left', 'unload', 'flushed', 'flush-failed', 'shutdown', 'delete'];

/** A lifecycle driven into `state` through allowed events only. */
function at(state: DocumentState, hasPeers = false): Lifecycle {
  const life = new Lifecycle();
  const path: Record<DocumentState, readonly [LifecycleEvent, boolean][]> = {
    loading: [],
    active: [['loaded', true]],
    idle: [['loaded', false]],
    unloading: [['loaded', false], ['unload', false]],
    closed: [['load-failed', false]],
  };
  for (const [event, peers] of path[state]) life.apply(event, peers || hasPeers);
  expect(life.state).toBe(state);
  return life;
}

describe('document lifecycle transition table', () => {
  it('allows exactly the table, and refuses everything else with SKEIN_ERR_INTERNAL', () => {
    const rows = transitionTable();
    for (const state of STATES) {
      for (const event of EVENTS) {
        const allowed = rows.some((r) => r.from === state && r.event === event);
        const life = at(state);
        expect(life.allows(event), `${state} × ${event}`).toBe(allowed);
        if (allowed) expect(() => life.apply(event, false)).not.toThrow();
        else expect(() => life.apply(event, false)).toThrow(expect.objectContaining({ code: 'SKEIN_ERR_INTERNAL' }) as Error);
      }
    }
  });

  it('a load that nobody waits for any more schedules the unload', () => {
    expect(new Lifecycle().apply('loaded', false)).toEqual(['schedule-unload']);
    const withPeers = new Lifecycle();
    expect(withPeers.apply('loaded', true)).toEqual([]);
    expect(withPeers.state).toBe('active');
  });

  it('unload flushes; a failed flush keeps the document and retries; a flushed one is released', () => {
    const life = at('idle');
    expect(life.apply('unload', false)).toEqual(['flush']);
    expect(life.apply('flush-failed', false)).toEqual(['schedule-unload']);
    expect(life.state).toBe('idle');
    life.apply('unload', false);
    expect(life.apply('flushed', false)).toEqual(['release']);
    expect(life.state).toBe('closed');
  });

  it('a failed flush with peers that arrived meanwhile returns to active', () => {
    const life = at('unloading');
    life.apply('flush-failed', true);
    expect(life.state).toBe('active');
  });

  it('peers come and go: last-peer-left schedules the unload, peer-joined cancels it', () => {
    const life = at('active');
    expect(life.apply('last-peer-left', false)).toEqual(['schedule-unload']);
    expect(life.state).toBe('idle');
    expect(life.apply('peer-joined', true)).toEqual(['cancel-unload']);
    expect(life.state).toBe('active');
  });

  it('delete closes the peers and releases without a flush, from active or idle only', () => {
    expect(at('active').apply('delete', true)).toEqual(['cancel-unload', 'close-peers', 'release']);
    expect(at('idle').apply('delete', false)).toEqual(['cancel-unload', 'close-peers', 'release']);
    for (const state of ['loading', 'unloading', 'closed'] as const) expect(at(state).allows('delete'), state).toBe(false);
  });

  it('closed is final', () => {
    const life = at('closed');
    for (const event of EVENTS) expect(life.allows(event)).toBe(false);
  });

  it('docs/architecture.md shows every row of the table', () => {
    const doc = readFileSync(new URL('../../docs/architecture.md', import.meta.url), 'utf8');
    for (const row of transitionTable()) {
      const effects = row.effects.length === 0 ? '—' : row.effects.join(', ');
      expect(doc, `${row.from} × ${row.event}`).toContain(`| ${row.from} | ${row.event} | ${row.to} | ${effects} |`);
    }
  });
});
