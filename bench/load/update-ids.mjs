// The IDs of the items in a Yjs (v1) update, read without decoding their content.
//
// A merged update from a coalescing server holds many structs; `Y.decodeUpdate` builds an
// object per struct and per value (every Y.Map value and string), which made the load
// generator — ten S3 readers decoding every message on one core — the ceiling of S3 for every
// server. This scanner reads each struct's header and content length (the v1 grammar of Yjs's
// `UpdateDecoderV1` and lib0's `readAny`) and skips the rest. An instrument must not be wrong
// quietly: every `CHECK_EVERY`th update (and any update it cannot read) is also decoded by
// Yjs, and a difference throws, failing the run.
import * as Y from 'yjs';

const CHECK_EVERY = 256;
let scanned = 0;

/**
 * [client, clock] of every clock unit of every Item struct of `update` (GC and Skip structs
 * are not items), in order.
 * @param {Uint8Array} update
 * @returns {Array<[number, number]>}
 */
export function itemIds(update) {
  let ids;
  try {
    ids = scan(update);
  } catch {
    return decodedIds(update);
  }
  if (++scanned % CHECK_EVERY === 0) {
    const expected = decodedIds(update);
    if (expected.length !== ids.length || expected.some(([c, k], i) => ids[i]?.[0] !== c || ids[i]?.[1] !== k)) {
      throw new Error(`update-ids: the scan of an update differs from Y.decodeUpdate (${ids.length} vs ${expected.length} ids)`);
    }
  }
  return ids;
}

/** @param {Uint8Array} update @returns {Array<[number, number]>} */
function decodedIds(update) {
  const { structs } = Y.decodeUpdate(update);
  /** @type {Array<[number, number]>} */
  const ids = [];
  for (const s of structs) {
    if (s.constructor === Y.Item) for (let i = 0; i < s.length; i++) ids.push([s.id.client, s.id.clock + i]);
  }
  return ids;
}

/** @param {Uint8Array} b @returns {Array<[number, number]>} */
function scan(b) {
  let pos = 0;
  const uint = () => {
    let num = 0;
    let mult = 1;
    for (let i = 0; i < 8; i++) {
      if (pos >= b.length) throw new RangeError('truncated');
      const byte = /** @type {number} */ (b[pos++]);
      num += (byte & 0x7f) * mult;
      if (byte < 0x80) return num;
      mult *= 128;
    }
    throw new RangeError('varint too long');
  };
  const skip = (/** @type {number} */ n) => {
    if (n > b.length - pos) throw new RangeError('truncated');
    pos += n;
  };
  const skipBytes = () => skip(uint());
  const stringLength = () => {
    const n = uint();
    const start = pos;
    skip(n);
    // UTF-16 length of well-formed UTF-8 (anything else: Yjs decides, see itemIds).
    let units = 0;
    for (let i = start; i < start + n; i++) {
      const c = /** @type {number} */ (b[i]);
      if (c >= 0xf8 || (c >= 0x80 && c < 0xc0 && i === start)) throw new RangeError('not simple UTF-8');
      if (c < 0x80 || c >= 0xc0) units += c >= 0xf0 ? 2 : 1;
    }
    return units;
  };
  const any = (/** @type {number} */ depth) => {
    if (depth > 256 || pos >= b.length) throw new RangeError('value');
    const type = /** @type {number} */ (b[pos++]);
    if (type === 127 || type === 126 || type === 121 || type === 120) return;
    if (type === 125) {
      while (pos < b.length && /** @type {number} */ (b[pos++]) >= 0x80);
      return;
    }
    if (type === 124) return skip(4);
    if (type === 123 || type === 122) return skip(8);
    if (type === 119 || type === 116) return skipBytes();
    if (type === 118) {
      const n = uint();
      for (let i = 0; i < n; i++) {
        skipBytes();
        any(depth + 1);
      }
      return;
    }
    if (type === 117) {
      const n = uint();
      for (let i = 0; i < n; i++) any(depth + 1);
      return;
    }
    throw new RangeError('value type');
  };
  const content = (/** @type {number} */ ref) => {
    switch (ref) {
      case 1: return uint();
      case 2: { const n = uint(); for (let i = 0; i < n; i++) skipBytes(); return n; }
      case 3: case 5: skipBytes(); return 1;
      case 4: return stringLength();
      case 6: skipBytes(); skipBytes(); return 1;
      case 7: { const t = uint(); if (t === 3 || t === 5) skipBytes(); else if (t > 6) throw new RangeError('type'); return 1; }
      case 8: { const n = uint(); for (let i = 0; i < n; i++) any(0); return n; }
      case 9: skipBytes(); any(0); return 1;
      default: throw new RangeError('content');
    }
  };
  /** @type {Array<[number, number]>} */
  const ids = [];
  const clients = uint();
  for (let c = 0; c < clients; c++) {
    const structs = uint();
    const client = uint();
    let clock = uint();
    for (let s = 0; s < structs; s++) {
      if (pos >= b.length) throw new RangeError('truncated');
      const info = /** @type {number} */ (b[pos++]);
      const ref = info & 0x1f;
      if (ref === 0 || ref === 10) {
        clock += uint();
        continue;
      }
      if (info & 0x80) { uint(); uint(); }
      if (info & 0x40) { uint(); uint(); }
      if ((info & 0xc0) === 0) {
        if (uint() === 1) skipBytes();
        else { uint(); uint(); }
        if (info & 0x20) skipBytes();
      }
      const len = content(ref);
      for (let i = 0; i < len; i++) ids.push([client, clock + i]);
      clock += len;
    }
  }
  return ids;
}
