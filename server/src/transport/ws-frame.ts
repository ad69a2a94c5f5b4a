/**
 * WebSocket framing of what the server sends (RFC 6455 §5.2), as a pure codec: one binary
 * data message in one frame, FIN set, no mask (a server never masks), no extension bits
 * (Skein negotiates no extension: `perMessageDeflate` is off). The fan-out sends the same
 * message to many sockets; framed once here, each socket gets the same bytes in one write
 * instead of `ws` building a header and writing header and payload per socket. A message made of
 * a short head and a large shared body (a joiner's sync step 2) is framed as the head's frame
 * start followed by the body, so the body is never copied.
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
  const frame = new Uint8Array(frameHeaderLength(length) + length);
  frame.set(payload, writeFrameHeader(frame, length));
  return frame;
}

/**
 * The start of one unmasked binary frame whose payload is `head ‖ body`: the frame header and
 * `head`, without `body`. Written and followed by `body` (one corked write, so one `writev`),
 * it is the same bytes as `encodeBinaryFrame(head ‖ body)` without copying `body`: a joiner's
 * reply is a few bytes of message header before a document's whole state, which every joiner
 * of the document shares.
 */
export function encodeBinaryFrameHead(head: Uint8Array, bodyLength: number): Uint8Array {
  if (!Number.isSafeInteger(bodyLength) || bodyLength < 0) throw new RangeError(`bad body length: ${bodyLength}`);
  const length = head.byteLength + bodyLength;
  const out = new Uint8Array(frameHeaderLength(length) + head.byteLength);
  out.set(head, writeFrameHeader(out, length));
  return out;
}

/** Write the header of a final, unmasked binary frame of `length` payload bytes at the start of `out`; returns its size. */
function writeFrameHeader(out: Uint8Array, length: number): number {
  const header = frameHeaderLength(length);
  out[0] = FIN_BINARY;
  if (header === 2) {
    out[1] = length;
  } else if (header === 4) {
    out[1] = 126;
    out[2] = length >>> 8;
    out[3] = length & 0xff;
  } else {
    out[1] = 127;
    const view = new DataView(out.buffer, out.byteOffset, header);
    view.setUint32(2, Math.floor(length / 2 ** 32));
    view.setUint32(6, length >>> 0);
  }
  return header;
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
