import { afterEach, describe, expect, it } from 'vitest';
import { decodeAwarenessUpdate, encodeAwareness, encodeAwarenessUpdate, type Message } from '@skein/protocol';
import type { SkeinServer } from '@skein/server';
import { RawClient } from '../helpers/raw-client.js';
import { startTestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

/** `--presence-rate` with real sockets: a client spamming its cursor stays connected; others get its latest state. */
describe('presence rate', () => {
  let server: SkeinServer | undefined;
  const clients: RawClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    await server?.close();
    server = undefined;
  });

  const cursorsSeen = (c: RawClient): { clock: number; x: number }[] =>
    c.decoded().flatMap((m: Message) =>
      m.type === 'awareness'
        ? decodeAwarenessUpdate(m.update).filter((e) => e.clientId === 4242).map((e) => ({ clock: e.clock, x: (e.state as { x: number }).x }))
        : [],
    );

  it('40 awareness updates in quick succession at --presence-rate 5: the sender stays, the watcher gets a handful and then the last state', async () => {
    const srv = (server = await startTestServer({ presenceRate: 5 }));
    const spammer = await RawClient.connect(srv.url, 'presence');
    const watcher = await RawClient.connect(srv.url, 'presence');
    clients.push(spammer, watcher);
    await watcher.roundTrip();
    // Each update in its own event-loop turn (a sync round trip after each), so the per-turn
    // presence merge alone cannot fold them: without the budget the watcher gets all 40.
    for (let i = 1; i <= 40; i++) {
      spammer.send(encodeAwareness(encodeAwarenessUpdate([{ clientId: 4242, clock: i, state: { x: i } }])));
      await spammer.roundTrip();
    }
    await waitFor(() => cursorsSeen(watcher).some((c) => c.clock === 40), { what: 'the last cursor state', timeoutMs: 10_000 });
    const seen = cursorsSeen(watcher);
    // With it: the burst (5), one every 200 ms while the sends last, and the last state.
    expect(seen.length).toBeLessThanOrEqual(20);
    expect(seen.at(-1)).toEqual({ clock: 40, x: 40 });
    // Clocks only go forward: no stale state overtook a newer one.
    expect(seen.every((c, i) => i === 0 || c.clock > (seen[i - 1]?.clock ?? 0))).toBe(true);
    expect(spammer.isOpen).toBe(true);
  });
});
