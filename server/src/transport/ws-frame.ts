/**
 * WebSocket framing of what the server sends (RFC 6455 §5.2), as a pure codec: one binary
 * data message in one frame, FIN set, no mask (a server never masks), no extension bits
 * (Skein negotiates no extension: `perMessageDeflate` is off). The fan-out sends the same
 * message to many sockets; framed once here, each socket gets the same bytes in one write
 * instead of `ws` building a header and writing header and payload per socket.
 */

/** FIN + opcode 2 (binary). */
const FIN_BINARY = 0x82;

/** The largest payload framed here; larger messages go through `ws` (no copy of the payload). */
export const PREFRAME_MAX_BYTES = 64 * 1024;

/** Bytes of the header for a payload of `length` bytes: 2, 4 (126…65535) or 10. */
export function frameHeaderLength(length: number): number {
  return length <= 125 ? 2 : length <= 0xffff ? 4 : 10;
}

/** One unmasked binary frame holding `payload` whole: header then payload, in one buffer. */
export function encodeBinaryFrame(payload: Uint8Array): Uint8Array {
  const length = payload.byteLength;
  const header = frameHeaderLength(length);
  const frame = new Uint8Array(header + length);
  frame[0] = FIN_BINARY;
  if (header === 2) {
    frame[1] = length;
  } else if (header === 4) {
    frame[1] = 126;
    frame[2] = length >>> 8;
    frame[3] = length & 0xff;
  } else {
    frame[1] = 127;
    const view = new DataView(frame.buffer, frame.byteOffset, header);
    view.setUint32(2, Math.floor(length / 2 ** 32));
    view.setUint32(6, length >>> 0);
  }
  frame.set(payload, header);
  return frame;
}

/** What `encodeBinaryFrame` wrote: the payload of one unmasked, final binary frame (for tests and tools). */
export function decodeBinaryFrame(frame: Uint8Array): Uint8Array {
  if (frame.byteLength < 2) throw new RangeError('truncated frame header');
  if (frame[0] !== FIN_BINARY) throw new RangeError(`not a final binary frame: first byte 0x${(frame[0] ?? 0).toString(16)}`);
  const second = frame[1] ?? 0;
  if ((second & 0x80) !== 0) throw new RangeError('masked frame');
  const code = second & 0x7f;
  const header = code <= 125 ? 2 : code === 126 ? 4 : 10;
  if (frame.byteLength < header) throw new RangeError('truncated frame header');
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const length = code <= 125 ? code : code === 126 ? view.getUint16(2) : view.getUint32(2) * 2 ** 32 + view.getUint32(6);
  if (frame.byteLength !== header + length) throw new RangeError(`frame of ${frame.byteLength} bytes declares ${length} bytes of payload`);
  return frame.subarray(header);
}
