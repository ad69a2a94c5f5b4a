/**
 * Hostile peers beside honest ones. 20 raw sockets from 127.0.0.2 open WebSockets on the
 * documents 20 real y-websocket clients (127.0.0.1) are editing, and send frames that are
 * harmless-but-hostile (server-only message types, full-state sync requests, pings) followed by
 * one malformed or oversized frame (bad WebSocket framing, oversized and fragmented-oversized
 * messages, garbage protocol messages, invalid Yjs updates). Checked: every hostile connection
 * is closed with the close code its last frame deserves, no honest client is ever
 * disconnected, the honest clients converge with the server, and nothing crashes. The honest
 * p99 edit latency (edit on one client → seen on another) is printed, without and with attack.
 *
 * CI: up to 100k hostile frames within 20 s. EXTENSIVE=1: up to 1M frames within 5 min, and
 * 1M random inputs through the in-process decoder (fast-check).
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';
import {
  decodeMessage,
  encodeAck,
  encodeQueryAwareness,
  encodeSyncStep1,
  encodeSyncUpdate,
  encodeWelcome,
  isProtocolError,
} from '@skein/protocol';
import type { SkeinServer } from '@skein/server';
import { startTestServer } from '../helpers/server.js';
import { connectProvider, destroyAll, synced } from '../helpers/clients.js';
import { EXTENSIVE } from '../helpers/random-edits.js';
import { waitFor } from '../helpers/wait.js';
import { OP, frame, openRawPeer } from '../helpers/frames.js';
import { percentile } from './edge.js';

const HOSTILE = 20;
const HONEST = 20;
const DOCS = 4;
const TARGET_FRAMES = EXTENSIVE ? 1_000_000 : 100_000;
const MAX_ATTACK_MS = EXTENSIVE ? 300_000 : 20_000;
const BASELINE_MS = EXTENSIVE ? 10_000 : 2_000;
const EDIT_EVERY_MS = 50;
const MAX_MESSAGE_BYTES = 64 * 1024;
const DECODER_RUNS = EXTENSIVE ? 1_000_000 : 20_000;

type Closer = { readonly kind: string; readonly bytes: () => Buffer; readonly codes: readonly number[] };

const EMPTY = (): Buffer => frame(OP.binary, new Uint8Array(0));
const CLOSERS: readonly Closer[] = [
  { kind: 'empty message', bytes: EMPTY, codes: [4400] },
  { kind: 'unknown message type', bytes: () => frame(OP.binary, Uint8Array.of(0x7f, 1, 2, 3)), codes: [4400] },
  { kind: 'truncated varint', bytes: () => frame(OP.binary, Uint8Array.of(0x80)), codes: [4400] },
  { kind: 'trailing bytes', bytes: () => frame(OP.binary, Uint8Array.of(...encodeQueryAwareness(), 9)), codes: [4400] },
  // Random bytes may happen to be valid; the empty message after them always closes.
  { kind: 'invalid Yjs update', bytes: () => Buffer.concat([frame(OP.binary, encodeSyncUpdate(randomBytes(1 + (randomBytes(1)[0]! % 64)))), EMPTY()]), codes: [4400, 4422] },
  { kind: 'random bytes', bytes: () => Buffer.concat([frame(OP.binary, randomBytes(1 + (randomBytes(1)[0]! % 64))), EMPTY()]), codes: [4400, 4422] },
  { kind: 'text message', bytes: () => frame(OP.text, Buffer.from('hello')), codes: [4400] },
  { kind: 'invalid UTF-8 text', bytes: () => frame(OP.text, Uint8Array.of(0xff, 0xfe, 0xfd)), codes: [1007] },
  { kind: 'oversized (1 GiB announced)', bytes: () => frame(OP.binary, Uint8Array.of(0), { claimLength: 2 ** 30 }), codes: [1009] },
  {
    kind: 'fragmented, oversized in total',
    bytes: () =>
      Buffer.concat([
        frame(OP.binary, new Uint8Array(40 * 1024), { fin: false }),
        frame(OP.continuation, new Uint8Array(40 * 1024), { fin: false }),
      ]),
    codes: [1009],
  },
  { kind: 'reserved opcode', bytes: () => frame(3, Uint8Array.of(1)), codes: [1002] },
  { kind: 'unmasked client frame', bytes: () => frame(OP.binary, Uint8Array.of(3), { mask: false }), codes: [1002] },
  { kind: 'RSV1 without extension', bytes: () => frame(OP.binary, Uint8Array.of(3), { rsv: 4 }), codes: [1002] },
  { kind: 'control frame > 125 bytes', bytes: () => frame(OP.ping, new Uint8Array(200)), codes: [1002] },
  { kind: 'fragmented control frame', bytes: () => frame(OP.ping, Uint8Array.of(1), { fin: false }), codes: [1002] },
];

/** Decodable frames that change nothing but cost the server work. */
const HARMLESS: ReadonlyArray<() => Buffer> = [
  () => frame(OP.binary, encodeQueryAwareness()),
  () => frame(OP.binary, encodeSyncStep1(Uint8Array.of(0))), // "send me everything"
  () => frame(OP.binary, encodeWelcome(0)), // server-only types: no effect
  () => frame(OP.binary, encodeAck(1)),
  () => frame(OP.ping, Uint8Array.of(1, 2, 3)),
];

interface Honest {
  readonly index: number;
  readonly docName: string;
  readonly provider: WebsocketProvider;
  disconnects: number;
  sent: number;
}

let server: SkeinServer | undefined;
const providers: WebsocketProvider[] = [];

// Every y-websocket provider adds a process 'exit' listener.
const maxListeners = process.getMaxListeners();
process.setMaxListeners(HONEST + 20);

afterAll(async () => {
  process.setMaxListeners(maxListeners);
  destroyAll(providers);
  await server?.close();
});

describe('hostile peers beside honest clients', () => {
  it(`closes every hostile connection with its code while ${HONEST} honest clients keep editing undisturbed`, async () => {
    server = await startTestServer({ maxMessageBytes: MAX_MESSAGE_BYTES });
    const s = server;

    // --- honest clients: edits timestamped in a per-doc map, observed by the others ------------
    const latencies = { baseline: [] as number[], attack: [] as number[] };
    let phase: keyof typeof latencies = 'baseline';
    const honest: Honest[] = [];
    for (let i = 0; i < HONEST; i++) {
      const docName = `shared-${i % DOCS}`;
      const provider = connectProvider(s.url, docName);
      providers.push(provider);
      const h: Honest = { index: i, docName, provider, disconnects: 0, sent: 0 };
      honest.push(h);
      const lat = provider.doc.getMap<number>('lat');
      lat.observe((event) => {
        const now = performance.now();
        for (const key of event.keysChanged as Set<string>) {
          if (key === String(i)) continue;
          const at = lat.get(key);
          if (typeof at === 'number') latencies[phase].push(now - at);
        }
      });
    }
    await Promise.all(honest.map((h) => synced(h.provider)));
    for (const h of honest) {
      h.provider.on('status', ({ status }: { status: string }) => {
        if (status === 'disconnected') h.disconnects++;
      });
    }
    const edit = (h: Honest): void => {
      h.provider.doc.transact(() => {
        h.provider.doc.getMap<number>('lat').set(String(h.index), performance.now());
        h.provider.doc.getArray<string>('log').push([`${h.index}:${h.sent}`]);
      });
      h.sent++;
    };
    const editing = setInterval(() => honest.forEach(edit), EDIT_EVERY_MS);

    try {
      // --- baseline: a short run without attack ------------------------------------------------
      await waitFor(() => latencies.baseline.length >= (BASELINE_MS / EDIT_EVERY_MS) * HONEST, {
        timeoutMs: BASELINE_MS * 10,
        what: 'baseline edits',
      });
      phase = 'attack';

      // --- the attack ---------------------------------------------------------------------------
      let frames = 0;
      let connections = 0;
      let refusedUpgrades = 0;
      const unexpected: string[] = [];
      const byKind = new Map<string, number>();
      const started = performance.now();
      const attacking = (): boolean => frames < TARGET_FRAMES && performance.now() - started < MAX_ATTACK_MS;
      const hostile = async (k: number): Promise<void> => {
        let n = k;
        while (attacking()) {
          const peer = await openRawPeer(s.port, `/shared-${n++ % DOCS}`, '127.0.0.2');
          if (peer === undefined) {
            refusedUpgrades++;
            continue;
          }
          connections++;
          const harmless = randomBytes(1)[0]! % 60;
          const batch: Buffer[] = [];
          for (let i = 0; i < harmless; i++) batch.push(HARMLESS[i % HARMLESS.length]!());
          const closer = CLOSERS[(k + connections) % CLOSERS.length]!;
          batch.push(closer.bytes());
          frames += harmless + 1;
          peer.socket.write(Buffer.concat(batch));
          const code = await Promise.race([
            peer.closeCode,
            new Promise<number>((resolve) => setTimeout(() => resolve(-1), 10_000).unref()),
          ]);
          peer.socket.destroy();
          byKind.set(closer.kind, (byKind.get(closer.kind) ?? 0) + 1);
          if (!closer.codes.includes(code)) unexpected.push(`${closer.kind}: ${code}`);
        }
      };
      await Promise.all(Array.from({ length: HOSTILE }, (_, k) => hostile(k)));
      const attackMs = performance.now() - started;
      phase = 'baseline'; // stop counting attack latencies

      const p = (xs: number[], q: number): string => percentile(xs, q).toFixed(1);
      console.log(
        `hostile peers: ${frames} frames over ${connections} connections in ${(attackMs / 1000).toFixed(1)} s ` +
          `(${Math.round(frames / (attackMs / 1000))} frames/s, ${refusedUpgrades} upgrades refused); ` +
          `honest edit latency p50/p99/max: baseline ${p(latencies.baseline, 50)}/${p(latencies.baseline, 99)}/${p(latencies.baseline, 100)} ms ` +
          `(${latencies.baseline.length} samples), under attack ${p(latencies.attack, 50)}/${p(latencies.attack, 99)}/${p(latencies.attack, 100)} ms ` +
          `(${latencies.attack.length} samples)`,
      );
      expect(unexpected).toEqual([]);
      expect(byKind.size).toBe(CLOSERS.length);
      expect(frames).toBeGreaterThanOrEqual(Math.min(TARGET_FRAMES, 2_000)); // a floor, not a rate: the machine may be busy
      expect(latencies.attack.length).toBeGreaterThan(0);
    } finally {
      clearInterval(editing);
    }

    // --- honest clients: never disconnected, converged with the server -------------------------
    expect(honest.map((h) => h.disconnects)).toEqual(honest.map(() => 0));
    for (let d = 0; d < DOCS; d++) {
      const name = `shared-${d}`;
      const group = honest.filter((h) => h.docName === name);
      const expected = group.reduce((sum, h) => sum + h.sent, 0);
      await waitFor(
        () => {
          const live = s.registry.get(name)?.doc;
          if (live === undefined || live.getArray('log').length !== expected) return false;
          const sv = Buffer.from(Y.encodeStateVector(live)).toString('hex');
          return group.every((h) => Buffer.from(Y.encodeStateVector(h.provider.doc)).toString('hex') === sv);
        },
        { timeoutMs: 30_000, what: `convergence of ${name}` },
      );
      const live = s.registry.get(name)!.doc;
      for (const h of group) expect(h.provider.doc.getArray('log').toJSON()).toEqual(live.getArray('log').toJSON());
    }
    await waitFor(() => s.connectionCount() === HONEST, { what: 'hostile connections gone' });
    expect((await fetch(`http://127.0.0.1:${s.port}/healthz`)).status).toBe(200);
  }, MAX_ATTACK_MS + BASELINE_MS * 10 + 60_000);

  it(`the in-process decoder answers ${DECODER_RUNS} random inputs with a value or a ProtocolError`, () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          // Plausible prefixes reach deeper into the decoder.
          fc.tuple(fc.constantFrom(0, 1, 2, 3, 100, 101, 102), fc.constantFrom(0, 1, 2), fc.uint8Array({ maxLength: 64 })).map(
            ([t, sub, rest]) => Uint8Array.of(t, sub, ...rest),
          ),
        ),
        (bytes) => {
          try {
            decodeMessage(bytes, { maxBytesLength: MAX_MESSAGE_BYTES });
          } catch (err) {
            if (!isProtocolError(err)) throw err;
          }
        },
      ),
      { numRuns: DECODER_RUNS },
    );
  });
});
