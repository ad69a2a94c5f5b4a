import { describe, expect, it } from 'vitest';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { ReadSlicer, sliceSocketReads } from '../../server/src/transport/read-slicer.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { waitFor } from '../helpers/wait.js';

/** A slicer on a manual event loop; every slice fed and every hold/release is logged. */
function slicer(maxBytes: number, room?: () => number): { clock: ManualClock; s: ReadSlicer; fed: Buffer[]; events: string[] } {
  const clock = new ManualClock(undefined, { manualTurns: true });
  const fed: Buffer[] = [];
  const events: string[] = [];
  const s = new ReadSlicer({
    maxBytes,
    clock,
    feed: (chunk) => {
      fed.push(chunk);
      events.push(`feed ${chunk.byteLength}`);
    },
    hold: () => events.push('hold'),
    release: () => events.push('release'),
    ...(room === undefined ? {} : { budget: { readRoom: room, parsed: () => undefined } }),
  });
  return { clock, s, fed, events };
}

const bytes = (n: number, seed = 0): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i + seed) % 251));

describe('read slicer: a bounded number of a read\'s bytes parsed per event-loop turn', () => {
  it('a read within the bound is fed at once, whole, without holding the socket', () => {
    const { s, fed, events, clock } = slicer(16_384);
    const read = bytes(4_000);
    s.push(read);
    expect(fed).toEqual([read]);
    expect(fed[0]).toBe(read); // the same buffer: nothing copied
    expect(events).toEqual(['feed 4000']);
    expect(clock.deferred).toBe(0);
  });

  it('a 64 KB read is fed 16 KB per turn, in order, with the socket held until the last slice', () => {
    const { s, fed, events, clock } = slicer(16_384);
    const read = bytes(65_536);
    s.push(read);
    expect(events).toEqual(['feed 16384', 'hold']);
    expect(s.pendingBytes).toBe(65_536 - 16_384);
    let turns = 0;
    while (s.holding) {
      clock.turn();
      turns++;
      expect(fed.at(-1)?.byteLength).toBeLessThanOrEqual(16_384);
    }
    expect(turns).toBe(3);
    expect(events.at(-1)).toBe('release');
    expect(events.filter((e) => e === 'hold')).toHaveLength(1);
    expect(Buffer.concat(fed).equals(read)).toBe(true);
  });

  it('reads that arrive while slices wait go after them; bytes are never reordered', () => {
    const { s, fed, clock } = slicer(1_000);
    const reads = [bytes(2_500, 1), bytes(700, 2), bytes(3_100, 3)];
    s.push(reads[0] as Buffer);
    s.push(reads[1] as Buffer); // the socket was resumed by someone else: a read arrives meanwhile
    clock.turn();
    s.push(reads[2] as Buffer);
    while (s.holding) clock.turn();
    expect(Buffer.concat(fed).equals(Buffer.concat(reads))).toBe(true);
    expect(fed.every((f) => f.byteLength <= 1_000)).toBe(true);
  });

  it('the node-wide room limits a slice (at least one byte goes every turn)', () => {
    let room = 300;
    const { s, fed, clock } = slicer(16_384, () => room);
    s.push(bytes(1_000));
    expect(fed.map((f) => f.byteLength)).toEqual([300]);
    room = 0;
    clock.turn();
    expect(fed.map((f) => f.byteLength)).toEqual([300, 1]);
    room = 10_000;
    clock.turn();
    expect(fed.map((f) => f.byteLength)).toEqual([300, 1, 699]);
    expect(s.holding).toBe(false);
  });

  it('flush feeds everything now; passThrough then feeds reads whole; close drops and leaves nothing scheduled', () => {
    const a = slicer(1_000);
    a.s.push(bytes(5_000));
    a.s.flush();
    expect(a.fed.reduce((n, f) => n + f.byteLength, 0)).toBe(5_000);
    expect(a.events.at(-1)).toBe('release');
    expect(a.clock.deferred).toBe(0);

    const b = slicer(1_000);
    b.s.push(bytes(3_000));
    b.s.passThrough();
    b.s.push(bytes(8_000));
    expect(b.fed.map((f) => f.byteLength)).toEqual([1_000, 2_000, 8_000]);

    const c = slicer(1_000);
    c.s.push(bytes(3_000));
    c.s.close();
    c.s.push(bytes(10));
    expect(c.fed.map((f) => f.byteLength)).toEqual([1_000]);
    expect(c.clock.deferred).toBe(0);
  });
});

describe('sliceSocketReads: behind a socket\'s own data and end listeners', () => {
  it('on a real TCP socket: moves its data listener behind the slicer and passes the FIN on only after the last slice', async () => {
    const clock = new ManualClock(undefined, { manualTurns: true });
    // Half-open like the HTTP server's sockets that WebSockets are upgraded from: the FIN does
    // not close the socket by itself (ws's 'end' listener ends it).
    const server = createServer({ allowHalfOpen: true });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    const socket = await accepted;
    const parsed: Buffer[] = [];
    const log: string[] = [];
    socket.on('data', (chunk: Buffer) => {
      parsed.push(chunk);
      log.push('data');
    });
    socket.on('end', () => log.push('end'));
    const s = sliceSocketReads(socket, { maxBytes: 1_000, clock, hold: () => socket.pause(), release: () => socket.resume() });
    expect(s).toBeDefined();
    const sent = bytes(2_500);
    client.end(sent);
    await waitFor(() => parsed.length > 0, { what: 'the first slice' });
    // One read of 2,500 bytes: 1,000 now, the rest on later turns; the FIN waits behind them.
    expect(parsed.map((c) => c.byteLength)).toEqual([1_000]);
    expect(log).not.toContain('end');
    while (s?.holding === true) clock.turn();
    await waitFor(() => log.includes('end'), { what: 'the end passed on' });
    expect(Buffer.concat(parsed).equals(sent)).toBe(true);
    expect(log.indexOf('end')).toBe(log.length - 1);
    socket.destroy();
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('reads no larger than a slice go straight to the parser: no slicer is made, the end listeners stay', () => {
    const socket = new PassThrough();
    const parsed: number[] = [];
    socket.on('data', (chunk: Buffer) => parsed.push(chunk.byteLength));
    const onEnd = (): void => undefined;
    socket.on('end', onEnd);
    const clock = new ManualClock(undefined, { manualTurns: true });
    let fed = 0;
    const reads = sliceSocketReads(socket, { maxBytes: 1_000, clock, hold: () => undefined, release: () => undefined,
      budget: { readRoom: () => Number.POSITIVE_INFINITY, parsed: (n) => (fed += n) },
    });
    socket.emit('data', bytes(600));
    socket.emit('data', bytes(1_000));
    expect(parsed).toEqual([600, 1_000]);
    expect(fed).toBe(1_600);
    expect(reads?.holding).toBe(false);
    expect(socket.listeners('end')).toEqual([onEnd]);
    expect(clock.deferred).toBe(0);
    // The first larger read makes the slicer, which then holds the socket's end listeners.
    socket.emit('data', bytes(2_500));
    expect(parsed).toEqual([600, 1_000, 1_000]);
    expect(reads?.holding).toBe(true);
    expect(socket.listeners('end')).not.toContain(onEnd);
  });

  it('changes nothing when the socket has no single data listener', () => {
    const socket = new PassThrough();
    socket.on('data', () => undefined);
    socket.on('data', () => undefined);
    const clock = new ManualClock(undefined, { manualTurns: true });
    expect(sliceSocketReads(socket, { maxBytes: 1_000, clock, hold: () => undefined, release: () => undefined })).toBeUndefined();
    expect(socket.listenerCount('data')).toBe(2);
  });
});
