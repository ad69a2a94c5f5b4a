import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** WebSocket opcodes (RFC 6455). */
export const OP = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9 } as const;

export interface FrameOptions {
  readonly fin?: boolean;
  /** Clients must mask; false builds an illegal unmasked client frame. */
  readonly mask?: boolean;
  readonly rsv?: number;
  /** Announce this payload length instead of the real one (only the header and `payload` are written). */
  readonly claimLength?: number;
}

/** One client → server WebSocket frame, hand-built so that it can break the rules on purpose. */
export function frame(opcode: number, payload: Uint8Array, o: FrameOptions = {}): Buffer {
  const length = o.claimLength ?? payload.byteLength;
  const mask = o.mask ?? true;
  const head: number[] = [((o.fin ?? true) ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | opcode];
  const m = mask ? 0x80 : 0;
  if (length < 126) head.push(m | length);
  else if (length < 65536) head.push(m | 126, length >> 8, length & 255);
  else {
    head.push(m | 127);
    const big = Buffer.alloc(8);
    big.writeBigUInt64BE(BigInt(length));
    head.push(...big);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] = body[i]! ^ key[i & 3]!;
  return Buffer.concat([Buffer.from(head), key, body]);
}

/** The HTTP request that opens a WebSocket on `path` (RFC 6455 §4.1). */
export function upgradeRequest(path: string, host = '127.0.0.1'): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`
  );
}

/** One frame as it came off the wire. */
export interface WireFrame {
  readonly fin: boolean;
  readonly opcode: number;
  readonly masked: boolean;
  /** A view into the buffer it was read from. */
  readonly payload: Buffer;
  /** Header and payload bytes: where the next frame starts. */
  readonly size: number;
}

/** The frame at the start of `buf` (RFC 6455 §5.2; the payload as on the wire, still masked if it was), or undefined while incomplete. */
export function readFrame(buf: Buffer): WireFrame | undefined {
  if (buf.length < 2) return undefined;
  const masked = (buf[1]! & 0x80) !== 0;
  let length = buf[1]! & 0x7f;
  let at = 2;
  if (length === 126) {
    if (buf.length < 4) return undefined;
    length = buf.readUInt16BE(2);
    at = 4;
  } else if (length === 127) {
    if (buf.length < 10) return undefined;
    length = Number(buf.readBigUInt64BE(2));
    at = 10;
  }
  if (masked) at += 4;
  if (buf.length < at + length) return undefined;
  return { fin: (buf[0]! & 0x80) !== 0, opcode: buf[0]! & 0x0f, masked, payload: buf.subarray(at, at + length), size: at + length };
}

/** A raw WebSocket peer over TCP: it speaks the handshake, then writes whatever frames it is given. */
export interface RawPeer {
  readonly socket: Socket;
  /** Resolves with the close code of the server's close frame (0: the socket closed without one). */
  readonly closeCode: Promise<number>;
}

/**
 * Open a raw peer on `path` (from `localAddress`), resolved after the 101. The peer never
 * answers the close handshake: it destroys its socket as soon as the server's close frame
 * (or the end of the socket) arrives.
 */
export function openRawPeer(port: number, path: string, localAddress: string): Promise<RawPeer | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    let buf = Buffer.alloc(0);
    let upgraded = false;
    let settleClose!: (code: number) => void;
    const closeCode = new Promise<number>((r) => (settleClose = r));
    socket.on('error', () => undefined);
    socket.on('connect', () => socket.write(upgradeRequest(path)));
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!buf.subarray(0, 12).toString('latin1').startsWith('HTTP/1.1 101')) {
          socket.destroy();
          resolve(undefined);
          return;
        }
        upgraded = true;
        buf = buf.subarray(end + 4);
        resolve({ socket, closeCode });
      }
      // Server frames are unmasked: skip them until the close frame.
      for (let frame = readFrame(buf); frame !== undefined; frame = readFrame(buf)) {
        if (frame.opcode === OP.close) {
          settleClose(frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 0);
          socket.destroy();
          return;
        }
        buf = buf.subarray(frame.size);
      }
    });
    socket.on('close', () => {
      settleClose(0);
      if (!upgraded) resolve(undefined);
    });
  });
}
