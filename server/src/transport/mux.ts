import { EventEmitter } from 'node:events';
import type { WebSocket, RawData } from 'ws';
import { CloseCode, decodeMuxControl, decodeMuxFrame, encodeMuxControl, encodeMuxFrame, encodeMuxHeader, type MuxControl } from '@skein/protocol';
import { SkeinError, toSkeinError } from '../errors/skein-error.js';
import { type PeerSocket, type SendCallback, toBytes } from './peer-socket.js';

const OPEN = 1;
const CLOSED = 3;

/** What the transport decides for each channel a client opens. */
export interface MuxHost {
  /**
   * A client opened `channel` on document `name`: validate and authorize, then run a
   * connection over `socket` (or throw a SkeinError with a close code: the channel is refused
   * with it).
   */
  openChannel(name: string, socket: ChannelSocket): void;
  /** The whole socket is done (every channel's 'close' was emitted before). */
  closed(): void;
}

export interface MuxOptions {
  /** Channels one socket may have open at once. */
  readonly maxChannels: number;
}

/** One WebSocket frame to write: a whole message, or a fragment of `owner`'s message. */
interface Frame {
  readonly data: Uint8Array;
  readonly fin: boolean;
  readonly owner: ChannelSocket | undefined;
  readonly cb: SendCallback | undefined;
}

/**
 * One `skein-mux.v1` WebSocket (protocol/src/mux.ts): many documents, one channel each, every
 * channel a {@link ChannelSocket} under an ordinary `Connection`. Messages are routed by their
 * channel number; control messages open and close channels. Anything malformed at this level
 * (a bad frame, a message for a channel that is not open, a channel opened twice) closes the
 * whole socket with 4400: the client is broken. What concerns one document (no access, a bad
 * name, an invalid update, a slow document) closes only its channel, with the close code a
 * one-document socket would have had.
 *
 * The socket is shared: while one channel sends a large reply as fragments, the other
 * channels' messages wait here (in order) until its last fragment; reading is paused while any
 * channel asks for it (its turn budget), so the sender waits in TCP.
 */
export class MuxSocket {
  readonly #ws: WebSocket;
  readonly #host: MuxHost;
  readonly #opts: MuxOptions;
  readonly #channels = new Map<number, ChannelSocket>();
  /** The channel whose fragmented message is on the wire, and what the others queued meanwhile. */
  #fragmenting: ChannelSocket | undefined;
  #queue: Frame[] = [];
  #queuedBytes = 0;
  #pausedChannels = 0;
  /** Channels closed by the server whose Close the client may not have sent yet (bounded). */
  readonly #lately = new Set<number>();
  /** The read slicer holds the socket (reads wait for a later turn). */
  #held = false;
  #pingOutstanding = false;
  /** The outstanding ping was sent by beatIdle (not on behalf of a channel). */
  #idlePing = false;
  #closed = false;

  constructor(ws: WebSocket, host: MuxHost, options: MuxOptions) {
    this.#ws = ws;
    this.#host = host;
    this.#opts = options;
    ws.on('message', (data: RawData) => this.#onMessage(toBytes(data)));
    ws.on('pong', () => {
      this.#pingOutstanding = false;
      this.#idlePing = false;
      for (const ch of this.#channels.values()) ch.emit('pong');
    });
    ws.on('error', (err: Error & { code?: string }) => {
      for (const ch of this.#channels.values()) ch.emit('error', err);
    });
    ws.once('close', (code: number) => this.#onClose(code));
  }

  /** Channels open now. */
  get channelCount(): number {
    return this.#channels.size;
  }

  /** Bytes waiting to be written: the socket's buffer and what waits here behind a fragmented reply. */
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount + this.#queuedBytes;
  }

  /** Close the whole socket (a shutdown, a broken client). */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ws.close(code, reason);
    if (this.#ws.isPaused) this.#ws.resume();
  }

  terminate(): void {
    this.#closed = true;
    this.#ws.terminate();
  }

  /**
   * The heartbeat of a socket with no channel open (its channels' connections are beaten
   * otherwise): terminate it and return false when it did not answer the previous ping.
   */
  beatIdle(): boolean {
    if (this.#channels.size > 0 || this.#closed) return true;
    if (this.#idlePing && this.#pingOutstanding) {
      this.terminate();
      return false;
    }
    this.#idlePing = true;
    this.ping();
    return true;
  }

  ping(): void {
    if (this.#pingOutstanding || this.#ws.readyState !== OPEN) return;
    this.#pingOutstanding = true;
    this.#ws.ping();
  }

  /** @internal ChannelSocket.send: a message, or a fragment of one (`fin` false but for the last). */
  send(from: ChannelSocket, data: Uint8Array, fin: boolean, cb: SendCallback | undefined): void {
    if (this.#ws.readyState !== OPEN) return;
    // The first fragment of a message carries the channel header: as a frame of its own when
    // more fragments follow (no copy of a large payload), prepended to a whole message.
    const first = !from.continuing;
    from.continuing = !fin;
    const frames: Frame[] =
      first && fin ? [{ data: encodeMuxFrame(from.channel, data), fin: true, owner: from, cb }]
      : first ? [{ data: encodeMuxHeader(from.channel), fin: false, owner: from, cb: undefined }, { data, fin, owner: from, cb }]
      : [{ data, fin, owner: from, cb }];
    const owner = this.#fragmenting;
    if (owner !== undefined && owner !== from) {
      for (const f of frames) this.#enqueue(f);
      return;
    }
    for (const f of frames) this.#write(f);
    this.#flushQueue();
  }

  /** `frame` waits for the end of another channel's fragmented message. */
  #enqueue(frame: Frame): void {
    this.#queue.push(frame);
    this.#queuedBytes += frame.data.byteLength;
  }

  #write(frame: Frame): void {
    this.#ws.send(frame.data, { binary: true, fin: frame.fin }, frame.cb);
    this.#fragmenting = frame.fin ? undefined : frame.owner;
  }

  /** No fragmented message is on the wire: what waited goes out, in order, until the next one starts. */
  #flushQueue(): void {
    while (this.#fragmenting === undefined && this.#queue.length > 0) {
      const next = this.#queue.shift() as Frame;
      this.#queuedBytes -= next.data.byteLength;
      if (this.#ws.readyState === OPEN) this.#write(next);
    }
  }

  /**
   * @internal A channel's connection closed it: tell the client, forget it, and remember its
   * number for a while, so the client's messages sent on it before our Closed arrived are dropped.
   */
  channelClosed(ch: ChannelSocket, code: number, reason: string): void {
    if (this.#channels.get(ch.channel) !== ch) return;
    this.#release(ch);
    this.#sendControl({ op: 'closed', channel: ch.channel, code, reason: reason.slice(0, 60) });
    this.#lately.add(ch.channel);
    if (this.#lately.size > 2 * this.#opts.maxChannels + 64) {
      const oldest = this.#lately.values().next().value;
      if (oldest !== undefined) this.#lately.delete(oldest);
    }
  }

  /**
   * Forget a channel that ended (either side closed it). What it had queued is dropped (the
   * channel is gone); a fragmented message of it on the wire is ended with an empty last
   * fragment (the client drops it as truncated), or every other channel would wait behind it
   * for fragments its closed connection will never send.
   */
  #release(ch: ChannelSocket): void {
    this.#channels.delete(ch.channel);
    if (this.#queue.some((f) => f.owner === ch)) {
      this.#queue = this.#queue.filter((f) => f.owner !== ch);
      this.#queuedBytes = this.#queue.reduce((n, f) => n + f.data.byteLength, 0);
    }
    ch.continuing = false;
    if (this.#fragmenting === ch) {
      this.#fragmenting = undefined;
      if (this.#ws.readyState === OPEN) this.#ws.send(new Uint8Array(0), { binary: true, fin: true });
      this.#flushQueue();
    }
  }

  /** @internal A channel paused or resumed reading (its turn budget). */
  paused(delta: number): void {
    this.#pausedChannels += delta;
    this.#updateReading();
  }

  /** The read slicer holds (true) or releases (false) the socket's reads. */
  hold(held: boolean): void {
    this.#held = held;
    this.#updateReading();
  }

  /** The socket is read unless a channel or the read slicer asked it not to be. */
  #updateReading(): void {
    if (this.#closed) return;
    const pause = this.#pausedChannels > 0 || this.#held;
    if (pause && !this.#ws.isPaused) this.#ws.pause();
    else if (!pause && this.#ws.isPaused) this.#ws.resume();
  }

  #sendControl(message: MuxControl): void {
    if (this.#ws.readyState !== OPEN) return;
    const frame: Frame = { data: encodeMuxControl(message), fin: true, owner: undefined, cb: undefined };
    // Control messages too wait for the end of a fragmented message.
    if (this.#fragmenting !== undefined) this.#enqueue(frame);
    else this.#write(frame);
  }

  #onMessage(bytes: Uint8Array): void {
    if (this.#closed) return;
    this.#pingOutstanding = false;
    this.#idlePing = false;
    try {
      const frame = decodeMuxFrame(bytes);
      if (frame.channel !== 0) {
        const ch = this.#channels.get(frame.channel);
        // A message for a channel that is not open: the client lost track (or a Close crossed
        // our Closed — then it is dropped, not an error).
        if (ch === undefined) {
          if (!this.#lately.has(frame.channel)) throw new SkeinError('SKEIN_ERR_MUX_PROTOCOL', `no open channel ${frame.channel}`);
          return;
        }
        ch.emit('message', frame.payload);
        return;
      }
      this.#onControl(decodeMuxControl(frame.payload));
    } catch (err) {
      const e = toSkeinError(err);
      this.close(e.spec.closeCode ?? CloseCode.MalformedMessage, e.code);
    }
  }

  #onControl(message: MuxControl): void {
    switch (message.op) {
      case 'open': {
        if (this.#channels.has(message.channel)) throw new SkeinError('SKEIN_ERR_MUX_PROTOCOL', `channel ${message.channel} is already open`);
        this.#lately.delete(message.channel);
        const ch = new ChannelSocket(this, message.channel);
        this.#channels.set(message.channel, ch);
        if (this.#channels.size > this.#opts.maxChannels) {
          ch.close(CloseCode.ChannelLimit, 'SKEIN_ERR_MUX_CHANNEL_LIMIT');
          return;
        }
        try {
          this.#host.openChannel(message.name, ch);
        } catch (err) {
          const e = toSkeinError(err);
          ch.close(e.spec.closeCode ?? 1011, e.code);
        }
        return;
      }
      case 'close': {
        const ch = this.#channels.get(message.channel);
        if (ch === undefined) return; // already closed by the server: the two crossed
        this.#release(ch);
        ch.peerClosed(1000);
        return;
      }
      case 'closed':
        throw new SkeinError('SKEIN_ERR_MUX_PROTOCOL', 'only the server sends Closed');
    }
  }

  #onClose(code: number): void {
    this.#closed = true;
    this.#queue = [];
    this.#queuedBytes = 0;
    const open = [...this.#channels.values()];
    this.#channels.clear();
    for (const ch of open) ch.peerClosed(code);
    this.#host.closed();
  }

}

/**
 * One channel of a {@link MuxSocket}, shaped like the `ws` WebSocket a `Connection` runs
 * over (peer-socket.ts): messages in, sends (fragments too), pause, close.
 */
export class ChannelSocket extends EventEmitter implements PeerSocket {
  readonly OPEN = OPEN;
  readonly channel: number;
  readonly #mux: MuxSocket;
  #state = OPEN;
  #paused = false;
  /** @internal A fragmented message of this channel is under way (its next fragment has no header). */
  continuing = false;
  /** Called once when the channel ends (a plain field, not a listener: one less closure per channel). */
  onEnd: (() => void) | undefined;

  constructor(mux: MuxSocket, channel: number) {
    super();
    this.#mux = mux;
    this.channel = channel;
  }

  get readyState(): number {
    return this.#state;
  }

  get bufferedAmount(): number {
    return this.#mux.bufferedAmount;
  }

  get isPaused(): boolean {
    return this.#paused;
  }

  send(data: Uint8Array, options: { binary: boolean; fin?: boolean }, cb?: SendCallback): void {
    if (this.#state !== OPEN) return;
    this.#mux.send(this, data, options.fin ?? true, cb);
  }

  ping(): void {
    this.#mux.ping();
  }

  pause(): void {
    if (this.#paused || this.#state !== OPEN) return;
    this.#paused = true;
    this.#mux.paused(1);
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#mux.paused(-1);
  }

  /** Close this channel (the client receives Closed with `code`); the socket stays open. */
  close(code: number, reason = ''): void {
    if (this.#state !== OPEN) return;
    this.#mux.channelClosed(this, code, reason);
    this.#end(code);
  }

  /** A dead peer: the whole socket goes (every channel closes). */
  terminate(): void {
    this.#mux.terminate();
  }

  /** @internal The client closed the channel, or the socket closed. */
  peerClosed(code: number): void {
    if (this.#state !== OPEN) return;
    this.#end(code);
  }

  #end(code: number): void {
    this.#state = CLOSED;
    this.resume();
    this.onEnd?.();
    this.onEnd = undefined;
    // As a socket does: 'close' comes later, never inside the call that closed it.
    process.nextTick(() => this.emit('close', code));
  }
}
