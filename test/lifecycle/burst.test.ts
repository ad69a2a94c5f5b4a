import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  decodeAwarenessUpdate,
  encodeAwareness,
  encodeAwarenessUpdate,
  encodeHello,
  encodeSyncStep1,
  encodeSyncUpdate,
  SkeinFeature,
  type Message,
} from '@skein/protocol';
import { MAX_RUN_ELEMENTS, type SkeinServer } from '@skein/server';
import { arrayRuns } from '../helpers/docs.js';
import { RawClient } from '../helpers/raw-client.js';
import { startTestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const BURST = 20_000;
const EMPTY_STATE_VECTOR = Y.encodeStateVector(new Y.Doc());

function acks(client: RawClient): number[] {
  return client.decoded().flatMap((m: Message) => (m.type === 'skein-ack' ? [m.seq] : []));
}

/** The cursor states of awareness client 4242 a client received, in order. */
function cursorsSeen(c: RawClient): { clock: number; x: number }[] {
  return c.decoded().flatMap((m: Message) =>
    m.type === 'awareness'
      ? decodeAwarenessUpdate(m.update).filter((e) => e.clientId === 4242).map((e) => ({ clock: e.clock, x: (e.state as { x: number }).x }))
      : [],
  );
}

/**
 * A client that sends too much: one socket bursts updates while a bystander on another
 * document keeps asking for sync; one spams its cursor past `--presence-rate`.
 */
describe('a client that sends too much does not stall the others', () => {
  let server: SkeinServer | undefined;
  const clients: RawClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    await server?.close();
    server = undefined;
  });

  it(`${BURST} one-item updates: the bystander is answered while the burst is applied; everything arrives; acks exact`, async () => {
    const srv = (server = await startTestServer({ turnMaxMessages: 256 }));
    const burster = await RawClient.connect(srv.url, 'burst');
    const bystander = await RawClient.connect(srv.url, 'quiet');
    clients.push(burster, bystander);
    burster.send(encodeHello(SkeinFeature.DurableAcks));
    await waitFor(() => burster.decoded().some((m) => m.type === 'skein-welcome'), { what: 'welcome' });
    await bystander.roundTrip();

    // A real document makes the updates (each one item, each depending on the one before).
    const author = new Y.Doc();
    const frames: Uint8Array[] = [];
    author.on('update', (u: Uint8Array) => frames.push(encodeSyncUpdate(u)));
    const items = author.getArray<number>('a');
    for (let i = 0; i < BURST; i++) items.push([i]);
    expect(frames).toHaveLength(BURST);

    const applied = (): number => srv.registry.get('burst')?.doc.getArray('a').length ?? 0;
    // The bystander asks for sync again as soon as each answer arrives; each answer notes how
    // much of the burst the server had applied at that moment.
    const seenAtAnswer: number[] = [];
    let asking = true;
    const replies = (): number => bystander.decoded().filter((m) => m.type === 'sync-step2').length;
    bystander.ws.on('message', () => {
      if (!asking || replies() === seenAtAnswer.length) return;
      seenAtAnswer.push(applied());
      bystander.send(encodeSyncStep1(EMPTY_STATE_VECTOR));
    });

    burster.sendAll(frames);
    await waitFor(() => applied() > 0, { what: 'burst started', intervalMs: 1 });
    bystander.send(encodeSyncStep1(EMPTY_STATE_VECTOR));
    await waitFor(() => applied() === BURST, { what: 'burst applied', timeoutMs: 60_000, intervalMs: 5 });
    asking = false;
    // Each batch appended to a run of at most 1,024 items, not to one run of everything
    // (crdt/runs.ts: Yjs copies the run it merges into).
    const serverRuns = arrayRuns(srv.registry.get('burst')?.doc ?? new Y.Doc());
    expect(Math.max(...serverRuns)).toBeLessThanOrEqual(MAX_RUN_ELEMENTS);
    expect(serverRuns.reduce((a, b) => a + b, 0)).toBe(BURST);

    // Order of events: answers came while the burst was still being applied, not only after it.
    const during = seenAtAnswer.filter((n) => n > 0 && n < BURST);
    expect(during.length).toBeGreaterThanOrEqual(2);
    // Everything arrived, in order: a new reader gets all of it.
    const reader = new Y.Doc();
    const late = await RawClient.connect(srv.url, 'burst');
    clients.push(late);
    late.send(encodeSyncStep1(EMPTY_STATE_VECTOR));
    await waitFor(() => late.decoded().some((m) => m.type === 'sync-step2'), { what: 'reader synced' });
    for (const m of late.decoded()) if (m.type === 'sync-step2' || m.type === 'sync-update') Y.applyUpdate(reader, m.update);
    expect(reader.getArray<number>('a').toArray()).toEqual(items.toArray());
    // Acks are cumulative and exact: the last one covers every update, none goes beyond.
    await waitFor(() => acks(burster).at(-1) === BURST, { what: 'final ack', timeoutMs: 30_000 });
    const seqs = acks(burster);
    expect(seqs.every((s, i) => i === 0 || s > (seqs[i - 1] ?? 0))).toBe(true);
    expect(Math.max(...seqs)).toBe(BURST);
    expect(burster.isOpen).toBe(true);
  });
  it('updates that arrive in one socket read are applied as one transaction; each is still acked', async () => {
    const srv = (server = await startTestServer());
    const writer = await RawClient.connect(srv.url, 'one-read');
    clients.push(writer);
    writer.send(encodeHello(SkeinFeature.DurableAcks));
    await waitFor(() => writer.decoded().some((m) => m.type === 'skein-welcome'), { what: 'welcome' });
    await writer.roundTrip();
    const doc = srv.registry.get('one-read')?.doc;
    if (doc === undefined) throw new Error('document not loaded');
    let transactions = 0;
    doc.on('update', () => transactions++);
    const author = new Y.Doc();
    const frames: Uint8Array[] = [];
    author.on('update', (u: Uint8Array) => frames.push(encodeSyncUpdate(u)));
    for (let i = 0; i < 5; i++) author.getMap('m').set(`k${i}`, i);
    // Five frames in one TCP write (corked): the server parses them from one read.
    const socket = (writer.ws as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
    socket.cork();
    writer.sendAll(frames);
    socket.uncork();
    await waitFor(() => acks(writer).at(-1) === 5, { what: 'five acks' });
    expect(doc.getMap('m').toJSON()).toEqual({ k0: 0, k1: 1, k2: 2, k3: 3, k4: 4 });
    expect(transactions).toBe(1);
    expect(acks(writer).at(-1)).toBe(5);
  });

  it('a burst followed at once by a close: every update sent before the close frame is applied (reads are sliced, none dropped)', async () => {
    const srv = (server = await startTestServer());
    const burster = await RawClient.connect(srv.url, 'burst-then-close');
    clients.push(burster);
    const author = new Y.Doc();
    const frames: Uint8Array[] = [];
    author.on('update', (u: Uint8Array) => frames.push(encodeSyncUpdate(u)));
    const items = author.getArray<number>('a');
    for (let i = 0; i < 5_000; i++) items.push([i]);
    // Many 64 KB reads, each parsed over several turns; the close frame comes after the last update.
    burster.sendAll(frames);
    burster.ws.close(1000);
    await new Promise<void>((resolve) => burster.ws.once('close', () => resolve()));
    // A new reader gets everything (the document may have been unloaded and loaded again).
    const late = await RawClient.connect(srv.url, 'burst-then-close');
    clients.push(late);
    late.send(encodeSyncStep1(EMPTY_STATE_VECTOR));
    await waitFor(() => late.decoded().some((m) => m.type === 'sync-step2'), { what: 'reader synced' });
    const reader = new Y.Doc();
    for (const m of late.decoded()) if (m.type === 'sync-step2' || m.type === 'sync-update') Y.applyUpdate(reader, m.update);
    expect(reader.getArray<number>('a').toArray()).toEqual(items.toArray());
  });

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
