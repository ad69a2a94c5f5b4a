// A joiner that reads WebSocket frames straight off a TCP socket (RFC 6455 §5.2) and only
// counts the bytes of the server's sync step 2, keeping its first and last 4 KB (and, when
// asked, the whole reply). Used where the replies are large (S12: 150 × 20 MB): the `ws`
// client reassembles every message into one buffer, and for 3 GB of replies the load
// generator's copies and garbage collection — not the server — set the time (measured: 26 s
// of load-generator CPU against 2.7 s for the server). The same client runs against every
// server, so the figures compare the servers.
import { connect } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import { MSG_AUTH, MSG_SYNC } from './client.mjs';

const MSG_HOCUS_SYNC_REPLY = 4;
const SYNC_STEP1 = 0;
const SYNC_STEP2 = 1;
const SYNC_UPDATE = 2;
const EDGE = 4096;

/** One masked binary frame, as a client must send it. @param {Uint8Array} payload */
function clientFrame(payload) {
  const mask = randomBytes(4);
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x82, 0x80 | n]) : n < 65536 ? Buffer.from([0x82, 0x80 | 126, n >> 8, n & 0xff]) : null;
  if (head === null) throw new RangeError('frame too large for this client');
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] ^= mask[i & 3];
  return Buffer.concat([head, mask, body]);
}

/**
 * The messages a joiner with nothing sends first (Hocuspocus: an auth token, then sync step
 * 1, both prefixed with the document name).
 * @param {'yws'|'hocus'} protocol @param {string} doc
 */
function openingMessages(protocol, doc) {
  const prefix = (/** @type {encoding.Encoder} */ e) => { if (protocol === 'hocus') encoding.writeVarString(e, doc); };
  const out = [];
  if (protocol === 'hocus') {
    const e = encoding.createEncoder();
    prefix(e);
    encoding.writeVarUint(e, MSG_AUTH);
    encoding.writeVarUint(e, 0);
    encoding.writeVarString(e, 'bench');
    out.push(encoding.toUint8Array(e));
  }
  out.push(stepOne(protocol, doc, Uint8Array.of(0)));
  return out;
}

/**
 * What a message starting with `head` is: a sync step 2 (or Hocuspocus's sync reply), a sync
 * update, or something else.
 * @param {Uint8Array} head @param {'yws'|'hocus'} protocol @returns {'step2'|'update'|'other'}
 */
function kindOf(head, protocol) {
  try {
    const d = decoding.createDecoder(head);
    if (protocol === 'hocus') decoding.readVarString(d);
    const type = decoding.readVarUint(d);
    if (type !== MSG_SYNC && type !== MSG_HOCUS_SYNC_REPLY) return 'other';
    const sub = decoding.readVarUint(d);
    return sub === SYNC_STEP2 ? 'step2' : sub === SYNC_UPDATE ? 'update' : 'other';
  } catch {
    return 'other';
  }
}

/**
 * Sync step 1 with `stateVector`, as a joiner sends it.
 * @param {'yws'|'hocus'} protocol @param {string} doc @param {Uint8Array} stateVector
 */
function stepOne(protocol, doc, stateVector) {
  const e = encoding.createEncoder();
  if (protocol === 'hocus') encoding.writeVarString(e, doc);
  encoding.writeVarUint(e, MSG_SYNC);
  encoding.writeVarUint(e, SYNC_STEP1);
  encoding.writeVarUint8Array(e, stateVector);
  return encoding.toUint8Array(e);
}

/**
 * Open a socket to `url` for `doc`, send sync step 1 with an empty state vector and resolve
 * when the sync step 2 message has fully arrived — or, with `thenStateVector` (the writer's
 * final state vector), when the join is complete: after the sync step 2 the joiner sends sync
 * step 1 again with that vector, and resolves at the answer to it; update messages that came
 * between the two answers are part of the join (a server may send the document as its cached
 * state followed by the changes since, as Skein does). Every server gets the same second
 * round trip.
 * @param {{url: string, doc: string, protocol: 'yws'|'hocus', keepAll?: boolean, timeoutMs: number, thenStateVector?: Uint8Array}} o
 * @returns {Promise<{ms: number, bytes: number, fingerprint: string, message: Buffer|null, updates: Buffer[], updateBytes: number}>}
 *   `bytes`: the sync step 2 message (headers included); `message`: it, when `keepAll`;
 *   `updates` (when `keepAll`) and `updateBytes`: the update messages between the two answers
 */
export function joinAndCount(o) {
  const url = new URL(o.url);
  const path = o.protocol === 'hocus' ? url.pathname || '/' : `${url.pathname.replace(/\/$/, '')}/${o.doc}`;
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const socket = connect(Number(url.port), url.hostname);
    socket.setNoDelay(true);
    const timer = setTimeout(() => fail(new Error(`no sync step 2 within ${o.timeoutMs} ms`)), o.timeoutMs);
    /** @param {Error} err */
    const fail = (err) => { clearTimeout(timer); socket.destroy(); reject(err); };
    let upgraded = false;
    let pending = Buffer.alloc(0);
    // The frame being read: payload bytes left, FIN; the message being read: first bytes, kind.
    let left = 0;
    let fin = false;
    let control = false;
    /** @type {Buffer|null} */
    let head = null;
    let bytes = 0;
    /** @type {Buffer[]} */
    let parts = [];
    let tail = Buffer.alloc(0);
    /** The first answer, once complete (with `thenStateVector`, the join goes on until the second). */
    /** @type {{bytes: number, fingerprint: string, message: Buffer|null}|null} */
    let answer = null;
    /** @type {Buffer[]} */
    const updates = [];
    let updateBytes = 0;
    const resolveWith = (/** @type {{bytes: number, fingerprint: string, message: Buffer|null}} */ first) => {
      clearTimeout(timer);
      const fingerprint = createHash('sha1').update(first.fingerprint).update(String(updateBytes)).digest('hex');
      resolve({ ms: performance.now() - start, bytes: first.bytes, fingerprint, message: first.message, updates, updateBytes });
      socket.destroy();
    };
    /** A whole message has arrived (its kind, from its first bytes). */
    const messageEnd = () => {
      const kind = head === null ? 'other' : kindOf(head, o.protocol);
      if (answer === null) {
        if (kind !== 'step2') return false;
        const first = { bytes, fingerprint: createHash('sha1').update(String(bytes)).update(/** @type {Buffer} */ (head).subarray(0, EDGE)).update(tail).digest('hex'), message: o.keepAll ? Buffer.concat(parts) : null };
        if (o.thenStateVector === undefined) {
          resolveWith(first);
          return true;
        }
        answer = first;
        socket.write(clientFrame(stepOne(o.protocol, o.doc, o.thenStateVector)));
        return false;
      }
      if (kind === 'step2') {
        resolveWith(answer);
        return true;
      }
      if (kind === 'update') {
        updateBytes += bytes;
        if (o.keepAll) updates.push(Buffer.concat(parts));
      }
      return false;
    };
    /** @param {Buffer} chunk */
    const payload = (chunk) => {
      if (control) return;
      bytes += chunk.length;
      if (head === null || head.length < 16) head = head === null ? Buffer.from(chunk.subarray(0, 64)) : Buffer.concat([head, chunk.subarray(0, 64)]);
      if (o.keepAll) parts.push(Buffer.from(chunk));
      tail = chunk.length >= EDGE ? Buffer.from(chunk.subarray(chunk.length - EDGE)) : Buffer.concat([tail, chunk]).subarray(-EDGE);
    };
    /** @param {Buffer} data */
    const frames = (data) => {
      let buf = pending.length > 0 ? Buffer.concat([pending, data]) : data;
      pending = Buffer.alloc(0);
      while (buf.length > 0) {
        if (left === 0) {
          if (buf.length < 2) break;
          let len = buf[1] & 0x7f;
          let at = 2;
          if (len === 126) { if (buf.length < 4) break; len = buf.readUInt16BE(2); at = 4; }
          else if (len === 127) { if (buf.length < 10) break; len = Number(buf.readBigUInt64BE(2)); at = 10; }
          const opcode = buf[0] & 0x0f;
          fin = (buf[0] & 0x80) !== 0;
          control = opcode >= 8;
          if (!control && opcode !== 0) { head = null; bytes = 0; parts = []; tail = Buffer.alloc(0); }
          buf = buf.subarray(at);
          left = len;
          if (len === 0 && fin && !control && messageEnd()) return;
          continue;
        }
        const take = Math.min(left, buf.length);
        payload(buf.subarray(0, take));
        left -= take;
        buf = buf.subarray(take);
        if (left === 0 && fin && !control && messageEnd()) return;
      }
      if (buf.length > 0) pending = Buffer.from(buf);
    };
    socket.on('connect', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    socket.on('data', (/** @type {Buffer} */ data) => {
      if (upgraded) return frames(data);
      pending = Buffer.concat([pending, data]);
      const end = pending.indexOf('\r\n\r\n');
      if (end < 0) return;
      if (!pending.subarray(0, 12).toString().startsWith('HTTP/1.1 101')) return fail(new Error(`upgrade refused: ${pending.subarray(0, 40).toString()}`));
      upgraded = true;
      const rest = pending.subarray(end + 4);
      pending = Buffer.alloc(0);
      socket.write(Buffer.concat(openingMessages(o.protocol, o.doc).map(clientFrame)));
      if (rest.length > 0) frames(Buffer.from(rest));
    });
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('closed before the sync step 2 arrived')));
  });
}
