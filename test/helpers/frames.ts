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
    socket.on('connect', () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
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
      for (;;) {
        if (buf.length < 2) return;
        const opcode = buf[0]! & 0x0f;
        let len = buf[1]! & 0x7f;
        let off = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          off = 4;
        } else if (len === 127) {
          if (buf.length < 10) return;
          len = Number(buf.readBigUInt64BE(2));
          off = 10;
        }
        if (buf.length < off + len) return;
        if (opcode === OP.close) {
          settleClose(len >= 2 ? buf.readUInt16BE(off) : 0);
          socket.destroy();
          return;
        }
        buf = buf.subarray(off + len);
      }
    });
    socket.on('close', () => {
      settleClose(0);
      if (!upgraded) resolve(undefined);
    });
  });
}
