import { afterEach, describe, expect, it, vi } from 'vitest';
import { Duplex } from 'node:stream';
import { connect, type Socket } from 'node:net';
import * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';
import type { SkeinProvider } from '@skein/client';
import { decodeMessage, encodeQueryAwareness, encodeSyncStep1 } from '@skein/protocol';
import type { SkeinServer } from '@skein/server';
import { startTestServer } from '../helpers/server.js';
import { connectProvider, destroyAll, synced } from '../helpers/clients.js';
import { openClient, waitStatus } from '../helpers/skein-client.js';
import { waitFor } from '../helpers/wait.js';
import { OP, frame, readFrame, upgradeRequest } from '../helpers/frames.js';

const CHUNK = 1024;
/** `--sync-chunk-bytes` by default (256 KiB). */
const DEFAULT_SYNC_CHUNK = 256 * 1024;

interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/**
 * A WebSocket client on a plain TCP socket that keeps every frame as it came off the wire
 * (RFC 6455 §5.2), so a test can see how a message was fragmented — which `ws` and browsers
 * hide by reassembling.
 */
class FrameClient {
  readonly frames: Frame[] = [];
  #buffer = Buffer.alloc(0);
  #upgraded = false;
  private constructor(readonly socket: Socket) {
    socket.on('data', (data: Buffer) => this.#read(data));
  }

  static async open(url: string, doc: string): Promise<FrameClient> {
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const client = new FrameClient(socket);
    socket.write(upgradeRequest(`/${doc}`, `${hostname}:${port}`));
    await waitFor(() => client.#upgraded, { what: '101 Switching Protocols' });
    return client;
  }

  /** Several messages in one TCP write (the server reads them in one go). */
  sendAll(messages: readonly Uint8Array[]): void {
    this.socket.write(Buffer.concat(messages.map((m) => frame(OP.binary, m))));
  }

  /** Data messages reassembled from the frames so far (control frames skipped). */
  messages(): Buffer[] {
    const out: Buffer[] = [];
    let parts: Buffer[] | undefined;
    for (const f of this.frames) {
      if (f.opcode >= 8) continue;
      if (f.opcode !== 0) {
        // A new data message may only start once the previous one ended (no interleaving).
        expect(parts, 'a data frame started inside a fragmented message').toBeUndefined();
        parts = [];
      }
      expect(parts, 'a continuation frame without a message').toBeDefined();
      parts!.push(f.payload);
      if (f.fin) {
        out.push(Buffer.concat(parts!));
        parts = undefined;
      }
    }
    return out;
  }

  close(): void {
    this.socket.destroy();
  }

  #read(data: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, data]);
    if (!this.#upgraded) {
      const end = this.#buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      expect(this.#buffer.subarray(0, 12).toString()).toBe('HTTP/1.1 101');
      this.#buffer = this.#buffer.subarray(end + 4);
      this.#upgraded = true;
    }
    for (let frame = readFrame(this.#buffer); frame !== undefined; frame = readFrame(this.#buffer)) {
      expect(frame.masked, 'server frames are never masked').toBe(false);
      this.frames.push({ fin: frame.fin, opcode: frame.opcode, payload: Buffer.from(frame.payload) });
      this.#buffer = this.#buffer.subarray(frame.size);
    }
  }
}

describe('chunked initial sync: a large reply goes out as bounded WebSocket fragments', () => {
  let server: SkeinServer | undefined;
  const providers: WebsocketProvider[] = [];
  const clients: SkeinProvider[] = [];
  const raw: FrameClient[] = [];
  afterEach(async () => {
    destroyAll(providers.splice(0));
    for (const c of clients.splice(0)) await c.destroy();
    for (const r of raw.splice(0)) r.close();
    await server?.close();
    server = undefined;
  });

  /** A server with --sync-chunk-bytes 1024 and a ~100 KB document written by a y-websocket client. */
  async function largeDocument(): Promise<{ srv: SkeinServer; writer: WebsocketProvider; bytes: number }> {
    const srv = (server = await startTestServer({ syncChunkBytes: CHUNK }));
    const writer = connectProvider(srv.url, 'big');
    providers.push(writer);
    await synced(writer);
    writer.doc.transact(() => {
      for (let i = 0; i < 2_000; i++) writer.doc.getMap('m').set(`shape-${i}`, { x: i, y: 2 * i, label: `shape number ${i}` });
    });
    writer.awareness.setLocalStateField('user', 'writer');
    const bytes = Y.encodeStateAsUpdate(writer.doc).byteLength;
    await waitFor(() => (srv.registry.get('big')?.encodedState().byteLength ?? 0) >= bytes, { what: 'the document on the server' });
    await waitFor(() => srv.registry.get('big')?.awareness.getStates().size === 1, { what: 'the writer\'s presence on the server' });
    return { srv, writer, bytes };
  }

  it('the reply is one message in fragments of at most --sync-chunk-bytes, and what is sent meanwhile follows it', async () => {
    const { srv, writer, bytes } = await largeDocument();
    expect(bytes).toBeGreaterThan(50 * CHUNK);
    const client = await FrameClient.open(srv.url, 'big');
    raw.push(client);
    // Sync step 1 with nothing, then a query for presence, in one TCP write: the presence answer
    // is produced while the reply's fragments are still going out, and must wait for them.
    client.sendAll([encodeSyncStep1(Y.encodeStateVector(new Y.Doc())), encodeQueryAwareness()]);
    // Presence comes twice: with the server's sync step 1 on open, and as the query's answer.
    await waitFor(() => client.messages().filter((m) => m[0] === 1).length === 2, { what: 'the awareness answer' });

    const messages = client.messages().map((m) => decodeMessage(m));
    const stepTwo = messages.findIndex((m) => m.type === 'sync-step2');
    const presence = messages.findLastIndex((m) => m.type === 'awareness');
    expect(stepTwo).toBeGreaterThanOrEqual(0);
    expect(presence).toBeGreaterThan(stepTwo);
    const data = client.frames.filter((f) => f.opcode < 8);
    const fragments = data.filter((f, i) => !(f.fin && (i === 0 || data[i - 1]!.fin)));
    expect(fragments.length).toBeGreaterThan(bytes / CHUNK);
    expect(Math.max(...fragments.map((f) => f.payload.byteLength))).toBeLessThanOrEqual(CHUNK);
    const reply = messages[stepTwo] as { update: Uint8Array };
    const joined = new Y.Doc();
    Y.applyUpdate(joined, reply.update);
    expect(joined.getMap('m').toJSON()).toEqual(writer.doc.getMap('m').toJSON());
  });

  it('a joiner after edits gets the cached state in fragments, then the edits made since as whole messages after it (no new encoding)', async () => {
    const { srv, writer, bytes } = await largeDocument();
    const handle = srv.registry.get('big')!;
    const empty = encodeSyncStep1(Y.encodeStateVector(new Y.Doc()));
    const replied = (c: FrameClient): boolean => c.messages().some((m) => decodeMessage(m).type === 'sync-step2');
    // A first joiner: the state is encoded for it.
    const first = await FrameClient.open(srv.url, 'big');
    raw.push(first);
    first.sendAll([empty]);
    await waitFor(() => replied(first), { what: 'the first reply' });
    const encodes = handle.fullStateEncodes;
    // Three edits, each applied by the server.
    for (let i = 0; i < 3; i++) {
      writer.doc.getText('t').insert(0, `e${i} `);
      await waitFor(() => handle.doc.getText('t').length === 3 * (i + 1), { what: `edit ${i} on the server` });
    }
    const client = await FrameClient.open(srv.url, 'big');
    raw.push(client);
    client.sendAll([empty]);
    const decoded = (): ReturnType<typeof decodeMessage>[] => client.messages().map((m) => decodeMessage(m));
    await waitFor(() => decoded().filter((m) => m.type === 'sync-update').length === 3, { what: 'the edits after the reply' });
    const messages = decoded();
    const stepTwo = messages.findIndex((m) => m.type === 'sync-step2');
    expect(stepTwo).toBeGreaterThanOrEqual(0);
    expect(messages.findIndex((m) => m.type === 'sync-update')).toBeGreaterThan(stepTwo);
    // The cached state went out in fragments; nothing was encoded for this joiner.
    const data = client.frames.filter((f) => f.opcode < 8);
    expect(data.filter((f) => !f.fin).length).toBeGreaterThan(bytes / CHUNK - 1);
    expect(handle.fullStateEncodes).toBe(encodes);
    const joined = new Y.Doc();
    for (const m of messages) if (m.type === 'sync-step2' || m.type === 'sync-update') Y.applyUpdate(joined, m.update);
    expect(joined.getText('t').toJSON()).toBe(writer.doc.getText('t').toJSON());
    expect(joined.getMap('m').toJSON()).toEqual(writer.doc.getMap('m').toJSON());
  });

  it('a document over 4 MiB after a change of over 1 MiB: plain y-websocket joiners get the cached state and the change after it, not a new encoding, and converge', async () => {
    const srv = (server = await startTestServer({}));
    const writer = connectProvider(srv.url, 'huge');
    providers.push(writer);
    await synced(writer);
    const MiB = 1024 * 1024;
    writer.doc.getText('state').insert(0, 's'.repeat(5 * MiB));
    await waitFor(() => (srv.registry.get('huge')?.encodedState().byteLength ?? 0) > 5 * MiB, { what: 'the 5 MiB state on the server' });
    const handle = srv.registry.get('huge')!;
    const encodes = handle.fullStateEncodes;
    // One change of 1.1 MiB: kept after the cached state (a quarter of it fits), not a reason to encode 6 MiB again.
    const change = Math.round(1.1 * MiB);
    writer.doc.getText('change').insert(0, 'c'.repeat(change));
    await waitFor(() => handle.doc.getText('change').length === change, { what: 'the change on the server' });
    const joiners = [connectProvider(srv.url, 'huge'), connectProvider(srv.url, 'huge')];
    providers.push(...joiners);
    await Promise.all(joiners.map(synced));
    await waitFor(() => joiners.every((j) => j.doc.getText('change').length === change), { what: 'the change at every joiner' });
    for (const j of joiners) expect([j.doc.getText('state').length, j.doc.getText('change').length]).toEqual([5 * MiB, change]);
    expect(handle.fullStateEncodes).toBe(encodes);
  });

  it('a reply up to --sync-chunk-bytes is one whole frame that writes the document\'s cached state itself, not a copy', async () => {
    const srv = (server = await startTestServer());
    const writer = connectProvider(srv.url, 'shared');
    providers.push(writer);
    await synced(writer);
    writer.doc.transact(() => {
      for (let i = 0; i < 500; i++) writer.doc.getMap('m').set(`shape-${i}`, { x: i, label: `shape number ${i}` });
    });
    const bytes = Y.encodeStateAsUpdate(writer.doc).byteLength;
    await waitFor(() => (srv.registry.get('shared')?.encodedState().byteLength ?? 0) >= bytes, { what: 'the document on the server' });
    const state = srv.registry.get('shared')!.encodedState();
    expect(state.byteLength).toBeLessThan(DEFAULT_SYNC_CHUNK);
    // Every socket write of the process, recorded and passed through (the server's TCP sockets are Duplex streams).
    const write = vi.spyOn(Duplex.prototype, 'write');
    let written: unknown[] = [];
    try {
      for (let j = 0; j < 2; j++) {
        const client = await FrameClient.open(srv.url, 'shared');
        raw.push(client);
        client.sendAll([encodeSyncStep1(Y.encodeStateVector(new Y.Doc()))]);
        await waitFor(() => client.messages().some((m) => decodeMessage(m).type === 'sync-step2'), { what: `joiner ${j}'s reply` });
        // One whole frame holding one sync step 2 with exactly the cached state.
        const reply = client.frames.find((f) => f.opcode === OP.binary && decodeMessage(f.payload).type === 'sync-step2')!;
        expect(reply.fin).toBe(true);
        expect(Buffer.from((decodeMessage(reply.payload) as { update: Uint8Array }).update).equals(Buffer.from(state))).toBe(true);
      }
      written = write.mock.calls.map((call): unknown => call[0]);
    } finally {
      write.mockRestore();
    }
    // Both joiners' sockets were handed the state's own bytes (the same memory), not a copy.
    const shared = written.filter((c): c is Uint8Array => c instanceof Uint8Array && c.buffer === state.buffer && c.byteOffset === state.byteOffset && c.byteLength === state.byteLength);
    expect(shared.length).toBe(2);
  });

  it('plain y-websocket clients and @skein/client join the large document and converge, edits included', async () => {
    const { srv, writer } = await largeDocument();
    const joiners = Array.from({ length: 5 }, () => connectProvider(srv.url, 'big'));
    providers.push(...joiners);
    const sdk = openClient(srv.url, 'big');
    clients.push(sdk);
    // An edit while they join: it reaches every joiner, after (or inside) its initial state.
    writer.doc.getText('t').insert(0, 'during the joins');
    await Promise.all(joiners.map(synced));
    await waitStatus(sdk, (s) => s.synced, 'sdk synced');
    const expected = { m: writer.doc.getMap('m').toJSON(), t: 'during the joins' };
    const docs = [...joiners.map((j) => j.doc), sdk.doc];
    await waitFor(() => docs.every((d) => d.getText('t').toJSON() === expected.t), { what: 'the edit at every joiner' });
    for (const d of docs) expect({ m: d.getMap('m').toJSON(), t: d.getText('t').toJSON() }).toEqual(expected);
    // And back: a joiner's edit reaches the writer.
    joiners[0]!.doc.getMap('m').set('from-joiner', 1);
    await waitFor(() => writer.doc.getMap('m').get('from-joiner') === 1, { what: 'the joiner\'s edit at the writer' });
  });
});
