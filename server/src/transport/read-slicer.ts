import type { Duplex } from 'node:stream';
import type { Clock, TimerHandle } from '../clock/clock.js';

/** Bytes of its reads a socket may parse per turn even when the node's read budget is spent. */
export const MIN_READ_SLICE = 1024;

/** The node-wide read budget a socket's slices draw on (the transport's `TurnGovernor`). */
export interface NodeReadBudget {
  /** Bytes this socket may parse now, at least `floor`. */
  readRoom(floor: number): number;
  /** `bytes` were handed to the parser. */
  parsed(bytes: number): void;
  /**
   * A read is being parsed (until `endRead`): the messages in it that are handled at once go
   * together, one batch per connection, when it ends (transport/inbound-queue.ts).
   */
  beginRead?(): void;
  endRead?(): void;
}

/** Parse `chunk` as one read of the node's budget (its messages batched per connection). */
function parseRead(budget: NodeReadBudget | undefined, parse: Parse, socket: Duplex, chunk: Buffer): void {
  budget?.beginRead?.();
  try {
    parse.call(socket, chunk);
  } finally {
    budget?.endRead?.();
  }
}

/** Bytes a socket may hand to the parser now: its own per-turn slice, within the node's read budget. */
function readRoom(options: { readonly maxBytes: number; readonly budget?: NodeReadBudget | undefined }): number {
  return Math.min(options.maxBytes, options.budget?.readRoom(MIN_READ_SLICE) ?? Number.POSITIVE_INFINITY);
}

export interface ReadSlicerOptions {
  /** Bytes handed to the WebSocket parser per event-loop turn (the first slice goes at once). */
  readonly maxBytes: number;
  readonly clock: Pick<Clock, 'defer' | 'cancelDefer'>;
  /** Hand bytes to the WebSocket parser (ws's own 'data' listener). */
  feed(chunk: Buffer): void;
  /** The node-wide read budget the slices draw on (at least MIN_READ_SLICE a turn); absent: maxBytes alone. */
  readonly budget?: NodeReadBudget;
  /** Stop reading the socket while bytes wait here; called once per hold. */
  hold(): void;
  /** Everything held was fed: the socket may be read again. */
  release(): void;
}

/**
 * Fairness below the message level: one TCP read can bring 64 KB — about 2,300 one-item
 * updates — and the WebSocket parser emits every message in it synchronously, however the
 * messages are handled afterwards. The slicer hands the parser at most `maxBytes` of a read
 * per event-loop turn: the first slice at once (an ordinary read is one slice: no added
 * latency), the rest on later turns (`clock.defer`, i.e. `setImmediate`), in order, with the
 * socket held meanwhile (the sender waits in TCP). Bytes are never reordered, dropped or
 * copied (slices are views of the read's buffer); `close()` drops what waits (the socket is
 * closing and will not be read again).
 */
export class ReadSlicer {
  readonly #opts: ReadSlicerOptions;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #next: TimerHandle | undefined;
  #holding = false;
  #closed = false;
  /** Slicing stopped: every read goes to the parser whole, at once. */
  #passThrough = false;

  constructor(options: ReadSlicerOptions) {
    if (!Number.isInteger(options.maxBytes) || options.maxBytes < 1) throw new RangeError('ReadSlicer: maxBytes must be a positive integer');
    this.#opts = options;
  }

  /** Whether bytes wait here (the socket is held). */
  get holding(): boolean {
    return this.#holding;
  }

  /** Bytes read from the socket and not yet handed to the parser. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** A read from the socket. */
  push(chunk: Buffer): void {
    if (this.#closed || chunk.byteLength === 0) return;
    if (this.#passThrough) {
      this.#opts.feed(chunk);
      return;
    }
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.byteLength;
    // Slices already wait for a later turn: this read goes after them.
    if (this.#next === undefined) this.#feedSlice();
  }

  /** Hand everything that waits to the parser now (the socket closed: nothing more will be read). */
  flush(): void {
    if (this.#closed || this.#pending.length === 0) return;
    if (this.#next !== undefined) this.#opts.clock.cancelDefer(this.#next);
    this.#next = undefined;
    const pending = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    for (const chunk of pending) {
      if (this.#closed) return;
      this.#opts.feed(chunk);
    }
    if (this.#holding) {
      this.#holding = false;
      this.#opts.release();
    }
  }

  /**
   * Stop slicing (this side is closing the socket): what waits is parsed now and later reads
   * go to the parser whole — the peer's close frame must still reach it.
   */
  passThrough(): void {
    this.flush();
    this.#passThrough = true;
  }

  /** Drop what waits and never feed the parser again (the socket closed). */
  close(): void {
    this.#closed = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    if (this.#next !== undefined) this.#opts.clock.cancelDefer(this.#next);
    this.#next = undefined;
  }

  #feedSlice(): void {
    this.#next = undefined;
    const allowed = Math.max(1, readRoom(this.#opts));
    let budget = allowed;
    while (budget > 0 && this.#pending.length > 0 && !this.#closed) {
      const head = this.#pending[0] as Buffer;
      const slice = head.byteLength <= budget ? head : head.subarray(0, budget);
      if (slice === head) this.#pending.shift();
      else this.#pending[0] = head.subarray(budget);
      this.#pendingBytes -= slice.byteLength;
      budget -= slice.byteLength;
      this.#opts.feed(slice);
    }
    this.#opts.budget?.parsed(allowed - budget);
    if (this.#closed) return;
    if (this.#pending.length > 0) {
      if (!this.#holding) {
        this.#holding = true;
        this.#opts.hold();
      }
      this.#next = this.#opts.clock.defer(() => this.#feedSlice());
      return;
    }
    if (this.#holding) {
      this.#holding = false;
      this.#opts.release();
    }
  }
}

/** A socket's reads as the connection sees them (`sliceSocketReads`). */
export interface SocketReads {
  /** Bytes wait to be parsed (the socket is held). */
  readonly holding: boolean;
  /** Stop slicing: what waits is parsed now, later reads whole (this side is closing). */
  passThrough(): void;
}

type Parse = (this: Duplex, chunk: Buffer) => void;
type SocketReadsOptions = Omit<ReadSlicerOptions, 'feed'>;

/**
 * Holds and releases a socket's reads for its slicer: methods of the connection itself, so a
 * connection pays for no closures here (thousands of idle connections per node).
 */
export interface ReadControl {
  /** Stop reading the socket while bytes wait in the slicer; called once per hold. */
  holdReads(): void;
  /** Everything held was fed: the socket may be read again. */
  releaseReads(): void;
}

/** What a socket's slicer is configured with (the per-turn slice, the node's budget, the clock). */
export interface TurnReadSettings {
  readonly maxBytes: number;
  readonly budget: NodeReadBudget | undefined;
  readonly clock: ReadSlicerOptions['clock'];
}

/**
 * Put a ReadSlicer between `socket` and the WebSocket library's parser: the socket's one
 * 'data' listener (ws's, attached by `handleUpgrade`) is moved behind it. Reads no larger than
 * a slice go straight to the parser; the slicer is made on the first larger read (an idle or
 * quiet connection never pays for one), and then also takes the socket's 'end' listeners —
 * the peer's FIN is passed on only after every byte read before it was parsed (ws ends its
 * parser on 'end'). When the socket closes, what still waits is parsed at once, before ws's
 * own 'close' listener reads the socket's last bytes and ends its parser, so nothing the peer
 * sent is lost or reordered. Returns undefined — and changes nothing — when the socket does not
 * have exactly one 'data' listener (a ws version that reads differently: reads are then parsed
 * whole, as before).
 */
export function sliceSocketReads(socket: Duplex, options: SocketReadsOptions): SocketReads | undefined {
  const { hold, release } = options;
  return attachSlicer(socket, { maxBytes: options.maxBytes, budget: options.budget, clock: options.clock }, { holdReads: hold, releaseReads: release });
}

/** A sliced socket's reads, on the socket itself (for the one shared 'data' listener). */
const READS = Symbol('skein.reads');
type SlicedSocket = Duplex & { [READS]?: SlicedReads };

/** The 'data' listener of every sliced socket (one function, not a closure per socket). */
function onSlicedData(this: SlicedSocket, chunk: Buffer): void {
  this[READS]?.push(chunk);
}

function attachSlicer(socket: Duplex, settings: TurnReadSettings, control: ReadControl): SocketReads | undefined {
  const dataListeners = socket.listeners('data');
  if (dataListeners.length !== 1) return undefined;
  const reads = new SlicedReads(socket, dataListeners[0] as Parse, settings, control);
  socket.removeListener('data', reads.parse);
  (socket as SlicedSocket)[READS] = reads;
  socket.on('data', onSlicedData);
  return reads;
}

/**
 * `sliceSocketReads` with the turn budget's settings (one object per server, `turnReadSettings`):
 * at most `maxBytes` of the socket's reads parsed per turn, within what the node's `budget` has
 * left (at least MIN_READ_SLICE). Used by one-document connections and by multiplexed sockets
 * alike. Undefined when reads are not sliced (no settings).
 */
export function sliceTurnReads(socket: Duplex, settings: TurnReadSettings | undefined, control: ReadControl): SocketReads | undefined {
  return settings === undefined ? undefined : attachSlicer(socket, settings, control);
}

/** The settings of every socket's slicer on a server, or undefined when reads are not sliced (`maxBytes` absent). */
export function turnReadSettings(maxBytes: number | undefined, budget: NodeReadBudget | undefined, clock: ReadSlicerOptions['clock']): TurnReadSettings | undefined {
  return maxBytes === undefined ? undefined : { maxBytes, budget, clock };
}

class SlicedReads implements SocketReads {
  #slicer: ReadSlicer | undefined;
  #direct = false;

  constructor(
    readonly socket: Duplex,
    readonly parse: Parse,
    readonly settings: TurnReadSettings,
    readonly control: ReadControl,
  ) {}

  get holding(): boolean {
    return this.#slicer?.holding ?? false;
  }

  passThrough(): void {
    if (this.#slicer === undefined) this.#direct = true;
    else this.#slicer.passThrough();
  }

  push(chunk: Buffer): void {
    if (this.#slicer === undefined) {
      const room = readRoom(this.settings);
      if (this.#direct || chunk.byteLength <= room) {
        this.settings.budget?.parsed(chunk.byteLength);
        parseRead(this.settings.budget, this.parse, this.socket, chunk);
        return;
      }
      this.#slicer = this.#install();
    }
    this.#slicer.push(chunk);
  }

  #install(): ReadSlicer {
    const { socket, parse, settings, control } = this;
    const endListeners = socket.listeners('end') as ((this: Duplex) => void)[];
    let parserEnded = false;
    let endWaits = false;
    const passEnd = (): void => {
      parserEnded = true;
      for (const listener of endListeners) listener.call(socket);
    };
    const slicer = new ReadSlicer({
      maxBytes: settings.maxBytes,
      clock: settings.clock,
      ...(settings.budget === undefined ? {} : { budget: settings.budget }),
      feed: (chunk) => {
        if (!parserEnded) parseRead(settings.budget, parse, socket, chunk);
      },
      hold: () => control.holdReads(),
      release: () => {
        control.releaseReads();
        if (endWaits) passEnd();
      },
    });
    for (const listener of endListeners) socket.removeListener('end', listener);
    socket.on('end', () => {
      if (slicer.holding) endWaits = true;
      else passEnd();
    });
    socket.prependOnceListener('close', () => {
      slicer.flush();
      slicer.close();
    });
    return slicer;
  }
}
