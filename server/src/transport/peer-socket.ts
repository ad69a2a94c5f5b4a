import type { RawData } from 'ws';

/** Called once the data was written to the socket (or with the error that stopped it). */
export type SendCallback = (err?: Error | null) => void;

/**
 * What a `Connection` needs of its socket: the `ws` WebSocket of a one-document connection,
 * or one channel of a multiplexed socket (mux.ts).
 */
export interface PeerSocket {
  readonly readyState: number;
  readonly OPEN: number;
  /** Bytes queued for writing and not yet written. */
  readonly bufferedAmount: number;
  readonly isPaused: boolean;
  on(event: 'message', listener: (data: RawData) => void): this;
  on(event: 'pong', listener: () => void): this;
  on(event: 'error', listener: (err: Error & { code?: string }) => void): this;
  /** Emitted once, when the socket has closed. */
  on(event: 'close', listener: (code: number) => void): this;
  /** A message, or (`fin` false) a fragment of one: the next sends continue it until `fin`. */
  send(data: Uint8Array, options: { binary: boolean; fin?: boolean }, cb?: SendCallback): void;
  ping(): void;
  /** Stop reading (backpressure reaches the sender through TCP) / read again. */
  pause(): void;
  resume(): void;
  close(code: number, reason: string): void;
  terminate(): void;
}

/** A received message as one byte view (`ws` hands over a Buffer, an ArrayBuffer or fragments). */
export function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}
