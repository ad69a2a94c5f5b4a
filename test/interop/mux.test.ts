import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';
import { SkeinConnection, type SkeinProvider } from '@skein/client';
import {
  CloseCode,
  MUX_PROTOCOL,
  decodeMessage,
  decodeMuxControl,
  decodeMuxFrame,
  encodeMuxControl,
  encodeMuxFrame,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  type MuxControl,
} from '@skein/protocol';
import type { SkeinServer } from '@skein/server';
import { startTestServer } from '../helpers/server.js';
import { connectProvider, destroyAll, synced } from '../helpers/clients.js';
import { isSaved, openClient, waitStatus } from '../helpers/skein-client.js';
import { waitFor } from '../helpers/wait.js';
import { startCliServer, stopCliServer, type CliServer } from '../helpers/cli-server.js';
import { JWT_SECRET, token } from '../helpers/api.js';

let server: SkeinServer | undefined;
let cli: CliServer | undefined;
const providers: WebsocketProvider[] = [];
const clients: SkeinProvider[] = [];
const connections: SkeinConnection[] = [];
const raws: RawMux[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.destroy();
  for (const c of connections.splice(0)) c.destroy();
  for (const r of raws.splice(0)) r.ws.terminate();
  destroyAll(providers.splice(0));
  await server?.close();
  server = undefined;
  if (cli !== undefined) {
    cli.child.kill('SIGCONT');
    await stopCliServer(cli, 'SIGKILL');
    cli = undefined;
  }
});

/** `ws` that counts the sockets it opens (the point of multiplexing: one for many documents). */
function countingWebSocket(): { WebSocket: new (url: string, protocols?: string | string[]) => WebSocket; opened: () => number } {
  let opened = 0;
  class Counting extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      opened++;
    }
  }
  return { WebSocket: Counting, opened: () => opened };
}

/**
 * A server whose sync replies go out in 1 KiB fragments, holding document `name`: `lines` lines
 * of `lineBytes` written by a plain y-websocket client (its text is returned to compare).
 */
async function serverWithLargeDoc(name: string, lines: number, lineBytes: number): Promise<{ srv: SkeinServer; text: Y.Text }> {
  const srv = (server = await startTestServer({ syncChunkBytes: 1024 }));
  const writer = connectProvider(srv.url, name);
  providers.push(writer);
  await synced(writer);
  const text = writer.doc.getText('t');
  for (let i = 0; i < lines; i++) text.insert(text.length, `${i}:${'x'.repeat(lineBytes)}\n`);
  const bytes = lines * lineBytes;
  await waitFor(() => (srv.registry.get(name)?.encodedState().byteLength ?? 0) > bytes, { what: `the server holds the ${bytes}-byte doc` });
  return { srv, text };
}

/** A mux client on a raw `ws` socket: what arrives, per channel and as control messages. */
class RawMux {
  readonly control: MuxControl[] = [];
  readonly payloads = new Map<number, Uint8Array[]>();
  closeCode: number | undefined;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const frame = decodeMuxFrame(new Uint8Array(data));
      if (frame.channel === 0) this.control.push(decodeMuxControl(frame.payload));
      else this.payloads.set(frame.channel, [...(this.payloads.get(frame.channel) ?? []), frame.payload]);
    });
    ws.on('close', (code) => (this.closeCode = code));
  }

  static async open(url: string, query = ''): Promise<RawMux> {
    const ws = new WebSocket(`${url}/${query}`, MUX_PROTOCOL);
    await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
    expect(ws.protocol).toBe(MUX_PROTOCOL);
    const raw = new RawMux(ws);
    raws.push(raw);
    return raw;
  }

  open(channel: number, name: string): void {
    this.ws.send(encodeMuxControl({ op: 'open', channel, name }));
  }

  send(channel: number, message: Uint8Array): void {
    this.ws.send(encodeMuxFrame(channel, message));
  }

  /** The types of the messages that arrived on `channel`. */
  types(channel: number): string[] {
    return (this.payloads.get(channel) ?? []).map((p) => decodeMessage(p).type);
  }

  closedWith(channel: number): number | undefined {
    const c = this.control.find((m) => m.op === 'closed' && m.channel === channel);
    return c?.op === 'closed' ? c.code : undefined;
  }
}

describe('many documents over one socket (skein-mux.v1)', () => {
  it('@skein/client: 20 documents share one socket and converge with plain y-websocket clients on each; every edit is acknowledged durable', async () => {
    const srv = (server = await startTestServer());
    const counting = countingWebSocket();
    const connection = new SkeinConnection({ url: srv.url, WebSocket: counting.WebSocket });
    connections.push(connection);
    const names = Array.from({ length: 20 }, (_, i) => `mux-${i}`);
    const sdk = names.map((name) => openClient(srv.url, name, { connection }));
    clients.push(...sdk);
    const plain = names.map((name) => connectProvider(srv.url, name));
    providers.push(...plain);
    await Promise.all(plain.map(synced));
    await Promise.all(sdk.map((c) => waitStatus(c, (s) => s.synced, 'synced')));
    expect(counting.opened()).toBe(1);
    expect(connection.channelCount).toBe(20);
    expect(srv.connectionCount()).toBe(40); // 20 channels + 20 plain sockets: one connection each

    // Edits from both sides of every document.
    sdk.forEach((c, i) => c.doc.getArray<string>('a').push([`sdk-${i}`]));
    plain.forEach((p, i) => p.doc.getArray<string>('a').push([`plain-${i}`]));
    for (let i = 0; i < names.length; i++) {
      const mine = (sdk[i] as SkeinProvider).doc;
      const theirs = (plain[i] as WebsocketProvider).doc;
      await waitFor(() => mine.getArray('a').length === 2 && theirs.getArray('a').length === 2, { what: `doc ${i} converged` });
      expect(Y.encodeStateVector(mine)).toEqual(Y.encodeStateVector(theirs));
      expect(new Set(mine.getArray('a').toArray())).toEqual(new Set([`sdk-${i}`, `plain-${i}`]));
    }
    await Promise.all(sdk.map((c) => waitStatus(c, isSaved, 'saved')));
    // Still the one socket.
    expect(counting.opened()).toBe(1);
  });

  it('@skein/client: the socket drops (server restart on the same port): every provider reconnects over one new socket, offline edits arrive', async () => {
    const first = await startTestServer();
    const port = Number(new URL(first.url).port);
    server = first;
    const counting = countingWebSocket();
    const connection = new SkeinConnection({ url: first.url, WebSocket: counting.WebSocket });
    connections.push(connection);
    const sdk = ['r-0', 'r-1', 'r-2'].map((name) => openClient(first.url, name, { connection }));
    clients.push(...sdk);
    await Promise.all(sdk.map((c) => waitStatus(c, (s) => s.synced, 'synced')));
    await first.close();
    server = undefined;
    await Promise.all(sdk.map((c) => waitStatus(c, (s) => !s.synced, 'disconnected')));
    sdk.forEach((c, i) => c.doc.getArray<number>('a').push([i]));
    server = await startTestServer({ port });
    const attemptsWhileDown = counting.opened();
    await Promise.all(sdk.map((c) => waitStatus(c, (s) => s.synced && isSaved(s), 'reconnected and saved')));
    // The three providers came back over one socket (at most one attempt, to the port before
    // it listened, was still in flight when the server came back), not one each.
    expect(counting.opened() - attemptsWhileDown).toBeLessThanOrEqual(2);
    expect(connection.open).toBe(true);
    expect(connection.channelCount).toBe(3);
    expect(server.connectionCount()).toBe(3);
    const readers = ['r-0', 'r-1', 'r-2'].map((name) => connectProvider(server!.url, name));
    providers.push(...readers);
    await Promise.all(readers.map(synced));
    readers.forEach((r, i) => expect(r.doc.getArray('a').toArray()).toEqual([i]));
  });

  it('a large reply goes out in fragments while other channels wait for its end: no channel sees another one\'s bytes', async () => {
    const { srv, text } = await serverWithLargeDoc('big', 50, 2_000);
    const connection = new SkeinConnection({ url: srv.url, WebSocket });
    connections.push(connection);
    const small = openClient(srv.url, 'small', { connection });
    clients.push(small);
    await waitStatus(small, (s) => s.synced, 'small synced');
    // While "big" is answered in ~100 fragments, "small" keeps receiving edits.
    const smallPeer = connectProvider(srv.url, 'small');
    providers.push(smallPeer);
    await synced(smallPeer);
    const big = openClient(srv.url, 'big', { connection });
    clients.push(big);
    for (let i = 0; i < 20; i++) smallPeer.doc.getArray<number>('n').push([i]);
    await waitStatus(big, (s) => s.synced, 'big synced');
    expect(big.doc.getText('t').toJSON()).toBe(text.toJSON());
    await waitFor(() => small.doc.getArray('n').length === 20, { what: 'small has every edit' });
    expect(connection.open).toBe(true);
  });
});

describe('@skein/client SkeinConnection: tokens, refusals and a frozen server', () => {
  it('the token function is asked once per socket, not per provider; a document the token does not grant stops only its provider (4406)', async () => {
    const srv = (server = await startTestServer({ auth: 'jwt', authJwtSecret: JWT_SECRET }));
    let asked = 0;
    const connection = new SkeinConnection({ url: srv.url, WebSocket, token: () => (asked++, token({ 'ok-*': 'write' })) });
    connections.push(connection);
    const granted = ['ok-1', 'ok-2', 'ok-3'].map((name) => openClient(srv.url, name, { connection }));
    const refused = openClient(srv.url, 'secret', { connection });
    clients.push(...granted, refused);
    await Promise.all(granted.map((c) => waitStatus(c, (s) => s.synced, 'synced')));
    const stopped = await waitStatus(refused, (s) => s.lastError !== null && s.connection === 'disconnected', 'refused');
    expect(stopped.lastError?.closeCode).toBe(CloseCode.Forbidden);
    expect(stopped.lastError?.permanent).toBe(true);
    expect(asked).toBe(1);
    granted[0]?.doc.getMap('m').set('k', 1);
    await waitStatus(granted[0] as SkeinProvider, isSaved, 'saved');
    expect(connection.channelCount).toBe(3);
  });

  it('a token function that throws (or rejects) is retried: SKEIN_ERR_CLIENT_TOKEN_FAILED for a provider, a failed socket for a connection\'s channels', async () => {
    const srv = (server = await startTestServer({ auth: 'jwt', authJwtSecret: JWT_SECRET }));
    let own = 0;
    const alone = openClient(srv.url, 'tok-1', {
      token: () => {
        if (own++ === 0) throw new Error('token service down');
        return token({ 'tok-*': 'write' });
      },
    });
    let shared = 0;
    const connection = new SkeinConnection({
      url: srv.url,
      WebSocket,
      token: () => (shared++ === 0 ? Promise.reject(new Error('token service down')) : token({ 'tok-*': 'write' })),
    });
    connections.push(connection);
    const channel = openClient(srv.url, 'tok-2', { connection });
    clients.push(alone, channel);
    const failed = await waitStatus(alone, (s) => s.lastError !== null, 'token failure reported');
    expect(failed.lastError?.code).toBe('SKEIN_ERR_CLIENT_TOKEN_FAILED');
    await Promise.all([alone, channel].map((c) => waitStatus(c, (s) => s.synced, 'synced after the retry')));
    expect(own).toBe(2);
    expect(shared).toBe(2);
  });

  it('a frozen server (SIGSTOP) is detected by the liveness check of the providers: the socket goes for all, and all come back and save once it thaws', async () => {
    cli = await startCliServer(['--port', '0', '--storage', 'memory']);
    const counting = countingWebSocket();
    const connection = new SkeinConnection({ url: cli.url, WebSocket: counting.WebSocket });
    connections.push(connection);
    const sdk = ['f-0', 'f-1', 'f-2'].map((name) =>
      openClient(cli!.url, name, { connection, liveness: { idleMs: 400, timeoutMs: 400 }, connectTimeoutMs: 1_000 }));
    clients.push(...sdk);
    await Promise.all(sdk.map((c) => waitStatus(c, (s) => s.synced, 'synced')));
    cli.child.kill('SIGSTOP');
    sdk.forEach((c, i) => c.doc.getMap('m').set('during', i));
    const dropped = await Promise.all(sdk.map((c) => waitStatus(c, (s) => s.connection !== 'connected', 'dropped')));
    // One provider's probe timed out and dropped the socket; the others lost it with it.
    expect(dropped.some((s) => s.lastError?.code === 'SKEIN_ERR_CLIENT_LIVENESS_TIMEOUT')).toBe(true);
    cli.child.kill('SIGCONT');
    await Promise.all(sdk.map((c) => waitStatus(c, isSaved, 'saved after the thaw')));
    expect(connection.open).toBe(true);
    expect(connection.channelCount).toBe(3);
  });
});

describe('skein-mux.v1: a channel that ends in the middle of a fragmented reply', () => {
  it('the client closes it mid-reply: the message is ended at once and the other channels go on', async () => {
    const { srv } = await serverWithLargeDoc('huge', 100, 10_000);
    const raw = await RawMux.open(srv.url);
    raw.open(1, 'huge');
    raw.open(2, 'small');
    // Both documents open (the server's sync step 1 arrived on each): the reply starts at once.
    await waitFor(() => raw.types(1).includes('sync-step1') && raw.types(2).includes('sync-step1'), { what: 'both channels open' });
    // ~1,000 fragments of 1 KiB, one per write callback; the Close arrives long before the last.
    raw.send(1, encodeSyncStep1(Uint8Array.of(0)));
    raw.ws.send(encodeMuxControl({ op: 'close', channel: 1 }));
    raw.send(2, encodeSyncStep1(Uint8Array.of(0)));
    await waitFor(() => raw.types(2).includes('sync-step2'), { what: 'channel 2 answered after channel 1 closed mid-reply' });
    // Channel 1's message was cut short: what arrived on it is less than the document.
    const got = (raw.payloads.get(1) ?? []).reduce((n, p) => n + p.byteLength, 0);
    expect(got).toBeLessThan(1_000_000);
    expect(raw.closeCode).toBeUndefined();
  });
});

describe('@skein/client SkeinConnection: a reply the server cut short', () => {
  it('is dropped, not decoded: the Closed that follows ends the provider with its real close code (permanent 4403), the socket stays', async () => {
    // A scripted socket in place of the server: it records what the client sends and delivers
    // what the test gives it.
    const sockets: Scripted[] = [];
    class Scripted {
      binaryType = 'arraybuffer';
      readyState = 0;
      protocol = MUX_PROTOCOL;
      onopen: ((e: object) => void) | null = null;
      onmessage: ((e: { data: Uint8Array }) => void) | null = null;
      onclose: ((e: { code: number }) => void) | null = null;
      onerror: ((e: object) => void) | null = null;
      readonly sent: Uint8Array[] = [];
      closedWith: number | undefined;
      constructor() {
        sockets.push(this);
        queueMicrotask(() => {
          this.readyState = 1;
          this.onopen?.({});
        });
      }
      send(data: Uint8Array): void {
        this.sent.push(data);
      }
      close(code?: number): void {
        this.closedWith = code;
        this.readyState = 3;
      }
      deliver(data: Uint8Array): void {
        this.onmessage?.({ data });
      }
    }
    const connection = new SkeinConnection({ url: 'ws://127.0.0.1:9', WebSocket: Scripted });
    connections.push(connection);
    const provider = openClient('ws://127.0.0.1:9', 'cut', { connection });
    const other = openClient('ws://127.0.0.1:9', 'other', { connection });
    clients.push(provider, other);
    const opened = (): MuxControl[] => (sockets[0]?.sent ?? []).map((b) => decodeMuxFrame(b)).filter((f) => f.channel === 0).map((f) => decodeMuxControl(f.payload));
    await waitFor(() => opened().length === 2, { what: 'two channels opened' });
    const channelOf = (name: string): number => {
      const open = opened().find((m) => m.op === 'open' && m.name === name);
      return open?.channel ?? -1;
    };
    const socket = sockets[0] as Scripted;
    // The first fragments of a 300-byte sync step 2, then the empty last fragment; then Closed.
    const step2 = encodeSyncStep2(new Uint8Array(300).fill(1));
    socket.deliver(encodeMuxFrame(channelOf('cut'), step2.subarray(0, 100)));
    socket.deliver(encodeMuxFrame(channelOf('cut'), new Uint8Array(0)));
    socket.deliver(encodeMuxControl({ op: 'closed', channel: channelOf('cut'), code: CloseCode.ClosedByAdmin, reason: 'SKEIN_ERR_CONNECTION_CLOSED_BY_ADMIN' }));
    const ended = await waitStatus(provider, (s) => s.lastError !== null, 'the provider ended');
    expect(ended.lastError?.closeCode).toBe(CloseCode.ClosedByAdmin);
    expect(ended.lastError?.permanent).toBe(true);
    expect(socket.closedWith).toBeUndefined(); // the other channel keeps the socket
    expect(connection.channelCount).toBe(1);
    expect(sockets).toHaveLength(1);
  });
});

describe('skein-mux.v1: refusals close one channel, a broken client its socket', () => {
  it('per-document access: a token for a (write) and b (read): c is refused with 4406, a and b keep working, b read-only', async () => {
    const srv = (server = await startTestServer({ auth: 'jwt', authJwtSecret: JWT_SECRET }));
    const raw = await RawMux.open(srv.url, `?token=${await token({ a: 'write', b: 'read' })}`);
    raw.open(1, 'a');
    raw.open(2, 'b');
    raw.open(3, 'c');
    for (const ch of [1, 2, 3]) raw.send(ch, encodeSyncStep1(Uint8Array.of(0)));
    await waitFor(() => raw.closedWith(3) !== undefined && raw.types(1).includes('sync-step2') && raw.types(2).includes('sync-step2'), { what: 'answers' });
    expect(raw.closedWith(3)).toBe(CloseCode.Forbidden);
    expect(raw.control).toEqual([{ op: 'closed', channel: 3, code: CloseCode.Forbidden, reason: 'SKEIN_ERR_FORBIDDEN' }]);
    // a accepts an edit; b (read-only) drops it; c's number is free again and may be reused.
    const doc = new Y.Doc();
    doc.getArray('x').push([1]);
    raw.send(1, encodeSyncUpdate(Y.encodeStateAsUpdate(doc)));
    raw.send(2, encodeSyncUpdate(Y.encodeStateAsUpdate(doc)));
    raw.open(3, 'a');
    raw.send(3, encodeSyncStep1(Uint8Array.of(0)));
    await waitFor(() => raw.types(3).includes('sync-step2'), { what: 'the reused channel answered' });
    const onA = new Y.Doc();
    for (const p of raw.payloads.get(3) ?? []) {
      const m = decodeMessage(p);
      if (m.type === 'sync-step2' || m.type === 'sync-update') Y.applyUpdate(onA, m.update);
    }
    expect(onA.getArray('x').toArray()).toEqual([1]);
    expect(srv.registry.get('b')?.doc.getArray('x').length ?? 0).toBe(0);
    expect(raw.closeCode).toBeUndefined();
  });

  it('a bad document name closes its channel with 4404; past --mux-max-channels a channel gets 4429; the socket stays open', async () => {
    const srv = (server = await startTestServer({ muxMaxChannels: 2 }));
    const raw = await RawMux.open(srv.url);
    raw.open(1, 'ok-1');
    raw.open(2, 'bad\u0001name');
    raw.open(3, 'ok-3');
    raw.open(4, 'ok-4');
    await waitFor(() => raw.control.length === 2, { what: 'two refusals' });
    expect(raw.closedWith(2)).toBe(CloseCode.BadDocumentName);
    expect(raw.closedWith(4)).toBe(CloseCode.ChannelLimit);
    raw.send(1, encodeSyncStep1(Uint8Array.of(0)));
    raw.send(3, encodeSyncStep1(Uint8Array.of(0)));
    await waitFor(() => raw.types(1).includes('sync-step2') && raw.types(3).includes('sync-step2'), { what: 'the open channels answered' });
    expect(raw.closeCode).toBeUndefined();
  });

  it('a message for a channel that is not open, a channel opened twice, a malformed frame: the socket closes with 4400 and the server serves others', async () => {
    const srv = (server = await startTestServer());
    const cases: [string, (raw: RawMux) => void][] = [
      ['unknown channel', (raw) => raw.send(9, encodeSyncStep1(Uint8Array.of(0)))],
      ['opened twice', (raw) => { raw.open(1, 'd'); raw.open(1, 'e'); }],
      ['truncated varint', (raw) => raw.ws.send(Uint8Array.of(0x80))],
      ['Closed from a client', (raw) => raw.ws.send(encodeMuxControl({ op: 'closed', channel: 1, code: 1000, reason: '' }))],
    ];
    for (const [what, act] of cases) {
      const raw = await RawMux.open(srv.url);
      act(raw);
      await waitFor(() => raw.closeCode !== undefined, { what });
      expect(raw.closeCode, what).toBe(CloseCode.MalformedMessage);
    }
    const fine = connectProvider(srv.url, 'd');
    providers.push(fine);
    await synced(fine);
  });

  it('a multiplexed socket with no channel open is still heartbeaten: one that does not answer pings is dropped, one that does stays', async () => {
    const srv = (server = await startTestServer({ heartbeatIntervalMs: 100 }));
    const open = (autoPong: boolean): Promise<WebSocket> => {
      const ws = new WebSocket(`${srv.url}/`, MUX_PROTOCOL, { autoPong });
      return new Promise((resolve, reject) => ws.once('open', () => resolve(ws)).once('error', reject));
    };
    const silent = await open(false);
    const alive = await open(true);
    let pings = 0;
    alive.on('ping', () => pings++);
    const closed = await new Promise<number>((resolve) => silent.once('close', (code) => resolve(code)));
    expect(closed).toBe(1006); // terminated, no closing handshake
    await waitFor(() => pings >= 3, { what: 'the live socket pinged on' });
    expect(alive.readyState).toBe(WebSocket.OPEN);
    alive.terminate();
  });

  it('with --mux-max-channels 0 the upgrade is refused with 400 SKEIN_ERR_MUX_DISABLED; plain sockets still work', async () => {
    const srv = (server = await startTestServer({ muxMaxChannels: 0 }));
    const ws = new WebSocket(`${srv.url}/`, MUX_PROTOCOL);
    const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(400);
    const plain = connectProvider(srv.url, 'p');
    providers.push(plain);
    await synced(plain);
  });
});
