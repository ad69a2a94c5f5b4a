import { createConnection, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';
import {
  CloseCode,
  ProtocolErrorCode,
  decodeMessage,
  encodeAwareness,
  encodeQueryAwareness,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  isProtocolError,
} from '@skein/protocol';
import { ERRORS, type Config, type ErrorCode, type ErrorSpec, type SkeinServer } from '@skein/server';
import { startTestServer } from '../helpers/server.js';
import { connectProvider, destroyAll, synced } from '../helpers/clients.js';
import { waitFor } from '../helpers/wait.js';
import { canonicalJson, sameState, stateVectorHex } from '../helpers/docs.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { GatedStore } from '../helpers/stores.js';
import { RawClient } from '../helpers/raw-client.js';

const EMPTY_SV = Y.encodeStateVector(new Y.Doc());

/** The close code the error registry documents for `code`. */
function closeCodeOf(code: ErrorCode): number | undefined {
  const spec: ErrorSpec = ERRORS[code];
  return spec.closeCode;
}

/**
 * Equal state vectors and equal `m` / `t` content. (Cheaper than comparing whole documents,
 * some of which hold megabytes of binary content here.)
 */
function converged(x: Y.Doc, y: Y.Doc): boolean {
  return (
    stateVectorHex(x) === stateVectorHex(y) &&
    canonicalJson(x.getMap('m').toJSON()) === canonicalJson(y.getMap('m').toJSON()) &&
    x.getText('t').toJSON() === y.getText('t').toJSON()
  );
}

/** mulberry32: a small seeded PRNG, so a failing random case can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Encode an awareness update by hand: count, then (clientID, clock, raw state bytes). */
function rawAwarenessUpdate(clientId: number, clock: number, state: Uint8Array): Uint8Array {
  return Uint8Array.from([1, clientId, clock, state.length, ...state]);
}

/** A refused upgrade: the HTTP status and the parsed JSON body. */
function refusedUpgrade(url: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('open', () => {
      ws.terminate();
      reject(new Error(`upgrade to ${url} was accepted`));
    });
    ws.on('error', () => undefined);
    ws.on('unexpected-response', (req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        req.destroy();
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown });
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    });
  });
}

/** Send raw HTTP bytes on an open TCP socket and collect the response head and body. */
function httpExchange(socket: Socket, rest: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return;
      const head = text.slice(0, split);
      const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? NaN);
      const body = text.slice(split + 4);
      if (Buffer.byteLength(body) < length) return;
      resolve({ status: Number(head.split(' ')[1]), body: JSON.parse(body) as unknown });
    });
    socket.on('error', reject);
    socket.write(rest);
  });
}

describe('bad input from clients', () => {
  let server: SkeinServer | undefined;
  let store: GatedStore;
  const providers: WebsocketProvider[] = [];
  const raws: RawClient[] = [];
  const sockets: Socket[] = [];

  const start = async (overrides: Partial<Config> = {}): Promise<SkeinServer> => {
    store = new GatedStore();
    server = await startTestServer({ shutdownTimeoutMs: 1_000, unloadDelayMs: 60_000, ...overrides }, { store });
    return server;
  };
  const srvUrl = (): string => (server as SkeinServer).url;
  const open = (doc: string): WebsocketProvider => {
    const p = connectProvider(srvUrl(), doc);
    providers.push(p);
    return p;
  };
  const raw = (doc: string, options: WebSocket.ClientOptions = {}): RawClient => {
    const r = new RawClient(`${srvUrl()}/${encodeURIComponent(doc)}`, options);
    raws.push(r);
    return r;
  };
  /** A raw client on `doc` whose document is loaded (the server's step 1 arrived). */
  const rawReady = async (doc: string): Promise<RawClient> => {
    const r = raw(doc);
    await r.opened;
    await waitFor(() => r.messages.length > 0, { what: "server's step 1" });
    return r;
  };
  /** Two synced providers on `doc` (a writes, b reads), with some content. */
  const pair = async (doc: string): Promise<[WebsocketProvider, WebsocketProvider]> => {
    const a = open(doc);
    const b = open(doc);
    await Promise.all([synced(a), synced(b)]);
    a.doc.getMap('m').set('before', 1);
    await waitFor(() => b.doc.getMap('m').get('before') === 1, { what: 'b sees a' });
    return [a, b];
  };
  /** a edits, b receives; a brand-new client connects, syncs and sees everything. */
  const stillWorks = async (a: WebsocketProvider, b: WebsocketProvider, key: string): Promise<void> => {
    expect(a.wsconnected && b.wsconnected).toBe(true);
    a.doc.getMap('m').set(key, key);
    b.doc.getText('t').insert(0, key);
    await waitFor(() => b.doc.getMap('m').get(key) === key && a.doc.getText('t').toJSON().startsWith(key), {
      what: `edit ${key} propagated`,
    });
    await waitFor(() => converged(a.doc, b.doc), { what: 'a and b converge' });
    const c = open(a.roomname);
    await synced(c);
    expect(converged(c.doc, a.doc)).toBe(true);
  };
  afterEach(async () => {
    store.releaseAll();
    destroyAll(providers.splice(0));
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(raws.splice(0).map((r) => r.dispose()));
    await server?.close();
    server = undefined;
  });

  describe('document names', () => {
    const refused: [string, string][] = [
      ['an empty path', '/'],
      ['256 bytes', `/${'a'.repeat(256)}`],
      ['256 bytes of multi-byte UTF-8', `/${encodeURIComponent(`${'€'.repeat(85)}a`)}`],
      ['NUL', '/doc%00'],
      ['a C0 control (%1F)', '/doc%1F'],
      ['DEL (%7F)', '/doc%7F'],
      ['a C1 control (%C2%85)', '/doc%C2%85'],
      ['malformed percent-encoding', '/doc%E0%A4%A'],
      ['a lone surrogate', '/doc%ED%A0%80'],
      ['invalid UTF-8', '/doc%FF'],
    ];
    it.each(refused)('refuses %s with HTTP 400 SKEIN_ERR_BAD_DOC_NAME before the upgrade', async (_what, path) => {
      const srv = await start();
      const { status, body } = await refusedUpgrade(`${srv.url}${path}`);
      expect(status).toBe(ERRORS.SKEIN_ERR_BAD_DOC_NAME.httpStatus);
      expect(status).toBe(400);
      expect(body).toMatchObject({ error: { code: 'SKEIN_ERR_BAD_DOC_NAME' } });
      expect(srv.connectionCount()).toBe(0);
      expect(srv.registry.size).toBe(0);
      expect(store.calls.load).toEqual([]);
    });

    it('accepts 255 bytes of multi-byte UTF-8 and names with spaces, slashes and emoji', async () => {
      const srv = await start();
      const names = ['€'.repeat(85), 'my document', 'team/project/doc', '📝 notes 🚀', 'ünïcødé'];
      expect(Buffer.byteLength(names[0] as string)).toBe(255);
      const clients = names.map((n) => open(n));
      await Promise.all(clients.map(synced));
      expect(srv.registry.names().sort()).toEqual([...names].sort());
      // Each name is its own document.
      clients.forEach((p, i) => p.doc.getMap('m').set('i', i));
      await waitFor(() => names.every((n, i) => srv.registry.get(n)?.doc.getMap('m').get('i') === i), {
        what: 'edits on every document',
      });
    });
  });

  describe('frames', () => {
    it('closes a client sending a message over maxMessageBytes with 1009; the others keep working', async () => {
      const srv = await start({ maxMessageBytes: 4096 });
      const [a, b] = await pair('big');
      const r = await rawReady('big');
      const doc = new Y.Doc();
      doc.getText('t').insert(0, 'x'.repeat(5_000));
      const frame = encodeSyncUpdate(Y.encodeStateAsUpdate(doc));
      expect(frame.length).toBeGreaterThan(4096);
      r.send(frame);
      const closed = await r.closed;
      expect(closed.code).toBe(CloseCode.MessageTooLarge);
      expect(closed.code).toBe(closeCodeOf('SKEIN_ERR_MESSAGE_TOO_LARGE'));
      expect(srv.registry.get('big')?.doc.getText('t').length).toBe(0);
      await stillWorks(a, b, 'after-big');
    });

    const malformed: [string, number[], string][] = [
      ['an empty message', [], ProtocolErrorCode.Empty],
      ['sync without sub-type', [0], ProtocolErrorCode.Truncated],
      ['sync step 1 without length', [0, 0], ProtocolErrorCode.Truncated],
      ['a length beyond the end', [0, 2, 5, 1, 2], ProtocolErrorCode.LengthOutOfBounds],
      ['an unknown message type', [99], ProtocolErrorCode.UnknownMessageType],
      ['an unknown sync type', [0, 9, 0], ProtocolErrorCode.UnknownMessageType],
      ['an unknown auth type', [2, 7], ProtocolErrorCode.UnknownMessageType],
      ['a trailing byte', [3, 0], ProtocolErrorCode.TrailingBytes],
      ['a 10-byte varint', Array.from({ length: 10 }, () => 0xff), ProtocolErrorCode.VarintOverflow],
      ['a state vector with a count beyond its bytes', [0, 0, 1, 5], ProtocolErrorCode.LengthOutOfBounds],
      [
        'an awareness state that is not JSON',
        [...encodeAwareness(rawAwarenessUpdate(7, 1, new TextEncoder().encode('{nope')))],
        ProtocolErrorCode.InvalidString,
      ],
      [
        'an awareness state that is not UTF-8',
        [...encodeAwareness(rawAwarenessUpdate(7, 1, Uint8Array.from([0x22, 0xff, 0x22])))],
        ProtocolErrorCode.InvalidString,
      ],
    ];
    it.each(malformed)('closes only the socket sending %s, with 4400', async (_what, bytes, reason) => {
      const srv = await start();
      const [a, b] = await pair('garbage');
      const bystander = await rawReady('garbage');
      const r = await rawReady('garbage');
      r.send(Uint8Array.from(bytes));
      const closed = await r.closed;
      expect(closed.code).toBe(CloseCode.MalformedMessage);
      expect(closed.code).toBe(closeCodeOf(reason as ErrorCode));
      expect(closed.reason).toBe(reason);
      await stillWorks(a, b, 'after-garbage');
      expect(bystander.isOpen).toBe(true);
      await waitFor(() => srv.connectionCount() === 4, { what: 'a, b, the bystander and the newcomer' });
    });

    it('closes each socket sending seeded random garbage with 4400 (seed 0x5ce1)', async () => {
      const seed = 0x5ce1;
      const rand = prng(seed);
      const srv = await start();
      const [a, b] = await pair('random');
      const cases: { bytes: Uint8Array; reason: string }[] = [];
      while (cases.length < 24) {
        const bytes = Uint8Array.from({ length: 1 + Math.floor(rand() * 48) }, () => Math.floor(rand() * 256));
        try {
          decodeMessage(bytes);
        } catch (err) {
          // The codec is the oracle: only frames it refuses (nearly all of them) are sent.
          if (isProtocolError(err)) cases.push({ bytes, reason: err.code });
        }
      }
      const clients = await Promise.all(cases.map(() => rawReady('random')));
      clients.forEach((r, i) => r.send((cases[i] as { bytes: Uint8Array }).bytes));
      const closes = await Promise.all(clients.map((r) => r.closed));
      closes.forEach((c, i) => {
        expect({ seed, i, code: c.code, reason: c.reason }).toEqual({
          seed,
          i,
          code: CloseCode.MalformedMessage,
          reason: cases[i]?.reason,
        });
      });
      await stillWorks(a, b, 'after-random');
      await waitFor(() => srv.connectionCount() === 3, { what: 'a, b and the newcomer' });
    });

    it.each([
      ['sync update', encodeSyncUpdate],
      ['sync step 2', encodeSyncStep2],
    ])('a %s whose payload is not a Yjs update closes with 4422 and changes nothing', async (_what, encode) => {
      const srv = await start();
      const [a, b] = await pair('invalid');
      const payload = Uint8Array.from([5, 1, 2]);
      expect(() => Y.decodeUpdate(payload)).toThrow();
      const live = srv.registry.get('invalid')?.doc as Y.Doc;
      const svBefore = Y.encodeStateVector(live);
      const appendsBefore = store.calls.append.length;
      const logBefore = await store.log('invalid');
      const r = await rawReady('invalid');
      r.send(encode(payload));
      const closed = await r.closed;
      expect(closed.code).toBe(CloseCode.InvalidUpdate);
      expect(closed.code).toBe(closeCodeOf('SKEIN_ERR_INVALID_UPDATE'));
      expect(closed.reason).toBe('SKEIN_ERR_INVALID_UPDATE');
      expect(Y.encodeStateVector(live)).toEqual(svBefore);
      expect(store.calls.append.length).toBe(appendsBefore);
      expect(await store.log('invalid')).toEqual(logBefore);
      await stillWorks(a, b, 'after-invalid');
    });

    it('a malformed update inside a burst closes with 4422; every update before it is kept, none after (as if each were handled alone)', async () => {
      const srv = await start();
      const [a, b] = await pair('burst-bad');
      const src = new Y.Doc();
      const updates: Uint8Array[] = [];
      src.on('update', (u: Uint8Array) => updates.push(u));
      const items = src.getArray<number>('items');
      for (let i = 0; i < 310; i++) items.push([i]);
      const r = await rawReady('burst-bad');
      // 300 good updates, a malformed one, 10 more good ones — in one go, so that past the first
      // messages of a turn the server takes them in batches (one transaction each).
      r.sendAll([...updates.slice(0, 300), Uint8Array.from([5, 1, 2]), ...updates.slice(300)].map(encodeSyncUpdate));
      const closed = await r.closed;
      expect(closed.code).toBe(CloseCode.InvalidUpdate);
      expect(closed.reason).toBe('SKEIN_ERR_INVALID_UPDATE');
      const expected = Array.from({ length: 300 }, (_, i) => i);
      await waitFor(() => b.doc.getArray('items').length === 300, { what: 'b got the 300 updates before the malformed one' });
      expect(b.doc.getArray('items').toArray()).toEqual(expected);
      expect((srv.registry.get('burst-bad')?.doc as Y.Doc).getArray('items').toArray()).toEqual(expected);
      await stillWorks(a, b, 'after-burst');
      const stored = new Y.Doc();
      await waitFor(async () => {
        for (const u of await store.log('burst-bad')) Y.applyUpdate(stored, u);
        return stored.getArray('items').length === 300;
      }, { what: 'the 300 updates stored' });
      expect(stored.getArray('items').toArray()).toEqual(expected);
    });

    it('an update Yjs rejects half-way closes with 4422, and what it integrated is stored too', async () => {
      // Golden bytes (yjs 13.6.33): a mutated update that Y.decodeUpdate accepts but that
      // throws while being integrated, after the struct "he" of client 1 was integrated.
      const bad = Uint8Array.from(
        Buffer.from(
          '0106010004010174026865810113038401040620776f726c642801016d016101760101787d01080103617272027d01770374776f831b0d01030101010203',
          'hex',
        ),
      );
      expect(() => Y.decodeUpdate(bad)).not.toThrow();
      const probe = new Y.Doc();
      let emitted = 0;
      probe.on('update', () => emitted++);
      expect(() => Y.applyUpdate(probe, bad)).toThrow();
      expect(emitted).toBe(1);

      const srv = await start({ unloadDelayMs: 50 });
      const [a, b] = await pair('half');
      const r = await rawReady('half');
      r.send(encodeSyncUpdate(bad));
      const closed = await r.closed;
      expect(closed.code).toBe(CloseCode.InvalidUpdate);
      expect(closed.reason).toBe('SKEIN_ERR_INVALID_UPDATE');
      // The integrated part reached the other clients: the store must hold it as well.
      await waitFor(() => b.doc.getText('t').toJSON() === 'he', { what: 'b got the integrated part' });
      await stillWorks(a, b, 'after-half');
      const expected = new Y.Doc();
      Y.applyUpdate(expected, Y.encodeStateAsUpdate(srv.registry.get('half')?.doc as Y.Doc));
      destroyAll(providers.splice(0));
      await r.dispose();
      await waitFor(() => srv.registry.size === 0, { what: 'unloaded' });
      const stored = new Y.Doc();
      for (const u of await store.log('half')) Y.applyUpdate(stored, u);
      expect(stored.getText('t').toJSON()).toBe(expected.getText('t').toJSON());
      expect(sameState(stored, expected)).toBe(true);
    });
  });

  describe('heartbeat', () => {
    it('terminates a peer that answers no ping within 2 intervals and keeps a live one (manual clock)', async () => {
      const interval = 30_000;
      const clock = new ManualClock();
      store = new GatedStore();
      const srv = (server = await startTestServer({ shutdownTimeoutMs: 1_000, unloadDelayMs: 60_000, heartbeatIntervalMs: interval }, { store, clock }));
      const live = raw('beat');
      const dead = raw('beat', { autoPong: false });
      await Promise.all([live.opened, dead.opened]);
      await waitFor(() => srv.connectionCount() === 2, { what: 'both connected' });
      let pings = 0;
      live.ws.on('ping', () => pings++);
      // First beat: both are pinged; the live one answers.
      clock.advance(interval);
      await waitFor(() => pings === 1, { what: 'first ping' });
      await live.roundTrip();
      expect(dead.isOpen).toBe(true);
      // Second beat: the dead one never answered the first ping, so it is terminated now.
      clock.advance(interval);
      const closed = await dead.closed;
      expect(closed.code).toBe(1006); // terminated: no close frame
      await waitFor(() => srv.connectionCount() === 1, { what: 'server dropped the dead peer' });
      await waitFor(() => pings === 2, { what: 'second ping' });
      await live.roundTrip();
      for (let beat = 3; beat <= 5; beat++) {
        clock.advance(interval);
        await waitFor(() => pings === beat, { what: `ping ${beat}` });
        await live.roundTrip();
      }
      expect(live.isOpen).toBe(true);
      expect(srv.connectionCount()).toBe(1);
    });

    it('pings one sixteenth of the connections per tick, each once per interval (manual clock)', async () => {
      const interval = 32_000;
      const clock = new ManualClock();
      const srv = (server = await startTestServer({ heartbeatIntervalMs: interval }, { clock }));
      // 32 connections get 32 consecutive ids: two in each of the 16 slices.
      const peers: RawClient[] = [];
      for (let i = 0; i < 32; i++) {
        const peer = raw('beat-slices');
        await peer.opened;
        peers.push(peer);
      }
      await waitFor(() => srv.connectionCount() === 32, { what: 'all connected' });
      const pings = peers.map(() => 0);
      peers.forEach((p, i) => p.ws.on('ping', () => (pings[i] = (pings[i] ?? 0) + 1)));
      // A round trip on every socket: any ping written before it has arrived (one TCP stream).
      const settle = (): Promise<unknown> => Promise.all(peers.map((p) => p.roundTrip()));
      const total = (): number => pings.reduce((a, b) => a + b, 0);
      clock.advance(interval / 16);
      await settle();
      expect(total()).toBe(2);
      for (let tick = 2; tick <= 16; tick++) {
        clock.advance(interval / 16);
        await settle();
        expect(total()).toBe(2 * tick);
      }
      expect(pings).toEqual(peers.map(() => 1));
      clock.advance(interval);
      await settle();
      expect(pings).toEqual(peers.map(() => 2));
      expect(srv.connectionCount()).toBe(32);
    });
  });

  describe('slow consumers', () => {
    /**
     * Two y-websocket clients a and b, a raw client `slow` that stops reading and a flooder on
     * `doc`; the flooder sends `n` updates of `chunkBytes` each, paced (each is read by a and b
     * before the next is sent, so their own buffers stay empty and only `slow` falls behind).
     * `slow` must then be closed with 4508 and the others keep working.
     */
    async function slowConsumerClosed(doc: string, chunkBytes: number, n: number): Promise<void> {
      const srv = await start({ maxBufferedBytes: 1024 });
      const [a, b] = await pair(doc);
      const slow = await rawReady(doc);
      const socket = (slow.ws as unknown as { _socket: Socket })._socket;
      socket.pause();
      const flooder = await rawReady(doc);
      const src = new Y.Doc();
      src.on('update', (u: Uint8Array) => flooder.send(encodeSyncUpdate(u)));
      const chunk = new Uint8Array(chunkBytes);
      for (let i = 0; i < n; i++) {
        src.getMap('flood').set(`k${i}`, chunk);
        await waitFor(() => a.doc.getMap('flood').size === i + 1 && b.doc.getMap('flood').size === i + 1, {
          what: `a and b got update ${i}`,
          intervalMs: 2,
        });
      }
      expect(a.wsconnected && b.wsconnected && flooder.isOpen).toBe(true);
      // `slow` has not read anything yet: the server still counts it.
      expect(srv.connectionCount()).toBe(4);
      socket.resume();
      const closed = await slow.closed;
      expect(closed.code).toBe(CloseCode.SlowConsumer);
      expect(closed.code).toBe(closeCodeOf('SKEIN_ERR_SLOW_CONSUMER'));
      expect(closed.reason).toBe('SKEIN_ERR_SLOW_CONSUMER');
      await waitFor(() => srv.connectionCount() === 3, { what: 'server dropped the slow client' });
      expect(flooder.isOpen).toBe(true);
      await stillWorks(a, b, `after-${doc}`);
    }

    it('closes a client that stops reading with 4508; the others keep working', async () => {
      // 64 × 256 KiB: more than the loopback socket buffers of `slow` can hold, so bytes pile up
      // in the server (each update larger than PREFRAME_MAX_BYTES: sent through ws).
      await slowConsumerClosed('slow', 256 * 1024, 64);
    });

    it('closes a client that stops reading with 4508 also when the updates are small (framed once and written by the server, not by ws)', async () => {
      // 280 × 60 KiB, 16 MB as above, each under PREFRAME_MAX_BYTES (64 KiB): the fan-out writes
      // the frames to the sockets itself.
      await slowConsumerClosed('slow-small', 60 * 1024, 280);
    });

    it('clients joining a document larger than maxBufferedBytes sync and stay connected', async () => {
      const srv = await start({ maxBufferedBytes: 1024 });
      // Larger than the loopback socket buffers: most of the step 2 reply waits in the server.
      const big = new Y.Doc();
      for (let i = 0; i < 32; i++) big.getMap('big').set(`k${i}`, new Uint8Array(256 * 1024));
      await store.seed('huge', Y.encodeStateAsUpdate(big));
      const [a, b] = await pair('huge');
      a.awareness.setLocalStateField('user', 'a');
      await waitFor(() => srv.registry.get('huge')?.awareness.getStates().has(a.doc.clientID) === true, {
        what: "server has a's awareness",
      });

      // A joiner asking for step 2 and then for awareness: the awareness answer is queued
      // right behind the multi-megabyte step 2; the reply must not count as falling behind.
      const r = raw('huge');
      await r.opened;
      r.sendAll([encodeSyncStep1(EMPTY_SV), encodeQueryAwareness()]);
      const answered = (): boolean => {
        const types = r.decoded().map((m) => m.type);
        return types.indexOf('awareness', types.indexOf('sync-step2')) > types.indexOf('sync-step2');
      };
      await waitFor(() => answered() || r.closeInfo !== undefined, { what: 'awareness answer after step 2' });
      expect(r.closeInfo).toBeUndefined();
      expect(answered()).toBe(true);
      await r.roundTrip();

      // A y-websocket joiner while another client keeps typing.
      const closes: number[] = [];
      const c = open('huge');
      c.on('connection-close', (event: { code: number } | null) => closes.push(event?.code ?? 0));
      let typed = 0;
      while (!c.synced && typed < 20_000) {
        a.doc.getText('t').insert(0, 'x');
        typed++;
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(c.synced).toBe(true);
      expect(c.doc.getMap('big').size).toBe(32);
      await waitFor(() => c.doc.getText('t').length === typed, { what: 'c got the typing' });
      expect(closes).toEqual([]);
      expect(c.wsconnected && b.wsconnected && r.isOpen).toBe(true);
      expect(srv.connectionCount()).toBe(4);
    });
  });

  describe('load backlog', () => {
    it('closes a client sending more than maxLoadBacklogBytes while loading with 4529', async () => {
      const srv = await start({ maxLoadBacklogBytes: 1024 });
      store.hold('load');
      const p = open('backlog');
      const polite = raw('backlog');
      const greedy = raw('backlog');
      await Promise.all([polite.opened, greedy.opened]);
      const small = new Y.Doc();
      small.getText('t').insert(0, 'polite');
      polite.sendAll([encodeSyncStep1(EMPTY_SV), encodeSyncUpdate(Y.encodeStateAsUpdate(small))]);
      const big = new Y.Doc();
      big.getText('greedy').insert(0, 'g'.repeat(2_000));
      greedy.sendAll([encodeSyncStep1(EMPTY_SV), encodeSyncUpdate(Y.encodeStateAsUpdate(big))]);

      // Refused while the load is still held.
      const closed = await greedy.closed;
      expect(closed.code).toBe(CloseCode.BacklogFull);
      expect(closed.code).toBe(closeCodeOf('SKEIN_ERR_BACKLOG_FULL'));
      expect(closed.reason).toBe('SKEIN_ERR_BACKLOG_FULL');
      expect(srv.registry.get('backlog')?.state).toBe('loading');

      await polite.roundTrip();
      store.release('load');
      await synced(p);
      await waitFor(() => p.doc.getText('t').toJSON() === 'polite', { what: 'polite edit applied' });
      expect(polite.isOpen).toBe(true);
      expect(p.doc.getText('greedy').length).toBe(0);
      const stored = new Y.Doc();
      for (const u of await store.log('backlog')) Y.applyUpdate(stored, u);
      expect(stored.getText('t').toJSON()).toBe('polite');
      expect(stored.getText('greedy').length).toBe(0);
    });
  });

  describe('shutdown', () => {
    it('closes clients with 1001, answers /readyz 503 and refuses upgrades while shutting down', async () => {
      const srv = await start();
      const [a, b] = await pair('bye');
      const r = await rawReady('bye');
      const providerCodes: number[] = [];
      for (const p of [a, b]) {
        p.on('connection-close', (event: { code: number } | null) => {
          if (event !== null) providerCodes.push(event.code);
        });
      }
      // Requests already on the wire (all but their last line) when the shutdown starts.
      const connect = async (head: string): Promise<Socket> => {
        const s = createConnection({ host: srv.host, port: srv.port });
        sockets.push(s);
        await new Promise<void>((resolve) => s.once('connect', () => resolve()));
        s.write(head);
        return s;
      };
      const readyz = await connect(`GET /readyz HTTP/1.1\r\nHost: x\r\n`);
      const upgrade = await connect(
        'GET /bye HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n',
      );
      // Hold the shutdown in its flush so it cannot finish under the requests.
      const flushGate = store.hold('flush');

      const closing = srv.close();
      const closed = await r.closed;
      expect(closed.code).toBe(CloseCode.GoingAway);
      expect(closed.code).toBe(closeCodeOf('SKEIN_ERR_SHUTTING_DOWN'));
      expect(closed.reason).toBe('SKEIN_ERR_SHUTTING_DOWN');
      await waitFor(() => providerCodes.length >= 2, { what: 'providers saw the close' });
      expect(providerCodes.slice(0, 2)).toEqual([CloseCode.GoingAway, CloseCode.GoingAway]);
      await waitFor(() => flushGate.waiting === 1, { what: 'shutdown flushing' });

      const ready = await httpExchange(readyz, '\r\n');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ status: 'not_ready', reasons: [{ code: 'SKEIN_ERR_SHUTTING_DOWN' }] });
      const refused = await httpExchange(upgrade, '\r\n');
      expect(refused.status).toBe(ERRORS.SKEIN_ERR_SHUTTING_DOWN.httpStatus);
      expect(refused.body).toMatchObject({ error: { code: 'SKEIN_ERR_SHUTTING_DOWN' } });
      // And nothing new connects at all.
      const late = new RawClient(`${srv.url}/bye`);
      raws.push(late);
      await expect(late.opened).rejects.toThrow();

      store.release('flush');
      expect(await closing).toEqual([]);
      const stored = new Y.Doc();
      for (const u of await store.log('bye')) Y.applyUpdate(stored, u);
      expect(stored.getMap('m').get('before')).toBe(1);
      for (const p of [a, b]) p.shouldConnect = false;
    });
  });
});
