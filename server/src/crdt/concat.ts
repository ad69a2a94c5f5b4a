import * as Y from 'yjs';
import { ByteReader, varUintSize, writeVarUint } from '@skein/protocol';

/**
 * Yjs updates (encoding v1) joined without decoding their content.
 *
 * An update is a list of struct sections — per client: how many structs, the client, the
 * clock of the first, then the structs back to back — followed by a delete set. The changes a
 * document applies one after another (the updates its transactions emit, in order) hold
 * disjoint, contiguous clock ranges per client, so their union is one section per client whose
 * structs are the sections' bytes in order, plus the union of the delete sets: no struct has
 * to be decoded, only skipped over (its length is read from its header and content). That is
 * what `Y.mergeUpdates` computes for such updates, without building an object per struct and
 * per value (it decodes every struct, every `Y.Map` value and string, and encodes them again).
 *
 * `concatUpdates` returns undefined whenever the shortcut does not apply — a client's ranges
 * that overlap or leave a gap, a byte it does not understand, a malformed update — and the
 * caller merges with Yjs (`mergeSequentialUpdates` does both).
 */
export function concatUpdates(updates: readonly Uint8Array[]): Uint8Array | undefined {
  try {
    return concat(updates);
  } catch {
    return undefined;
  }
}

/** `concatUpdates`, or `Y.mergeUpdates` where it does not apply: always the merged update. */
export function mergeSequentialUpdates(updates: readonly Uint8Array[]): Uint8Array {
  if (updates.length === 1) return updates[0] as Uint8Array;
  return concatUpdates(updates) ?? Y.mergeUpdates(updates as Uint8Array[]);
}

/** Deepest nesting of `readAny` values followed (lib0 recurses without a bound). */
const MAX_ANY_DEPTH = 256;

/** Clients looked up in a list up to this many, in a Map past it. */
const LIST_MAX = 16;

/**
 * One client's part of the result: its first clock, where its ranges end so far, its struct
 * count, and its sections as (update index, from, to) triples into the inputs.
 */
interface ClientPart {
  readonly client: number;
  /** The first struct's clock (set by the client's first section). */
  clock: number;
  end: number;
  structs: number;
  readonly sections: number[];
  /** Its deletes as flat (clock, length) pairs, in the order read. */
  deletes: number[] | undefined;
}

function concat(updates: readonly Uint8Array[]): Uint8Array | undefined {
  // A group usually holds a handful of clients: a list searched in order beats a Map there;
  // past LIST_MAX clients (a busy board, a cluster publish) a Map takes over.
  const parts: ClientPart[] = [];
  let index: Map<number, ClientPart> | undefined;
  const part = (client: number): ClientPart => {
    if (index === undefined) {
      for (const p of parts) if (p.client === client) return p;
    } else {
      const known = index.get(client);
      if (known !== undefined) return known;
    }
    const p: ClientPart = { client, clock: 0, end: 0, structs: 0, sections: [], deletes: undefined };
    parts.push(p);
    if (index !== undefined) index.set(client, p);
    else if (parts.length > LIST_MAX) index = new Map(parts.map((q) => [q.client, q]));
    return p;
  };
  let size = 0;
  for (let u = 0; u < updates.length; u++) {
    const update = updates[u] as Uint8Array;
    const s = new Scanner(update);
    const clients = s.uint();
    for (let i = 0; i < clients; i++) {
      const structs = s.uint();
      const client = s.uint();
      const clock = s.uint();
      const from = s.pos;
      let end = clock;
      for (let j = 0; j < structs; j++) end += s.struct();
      if (structs === 0) continue;
      const p = part(client);
      if (p.structs === 0) p.clock = p.end = clock;
      // Only contiguous ranges join: anything else (an overlap, a gap) is Yjs's to merge.
      else if (p.end !== clock) return undefined;
      p.end = end;
      p.structs += structs;
      p.sections.push(u, from, s.pos);
      size += s.pos - from;
    }
    const dsClients = s.uint();
    for (let i = 0; i < dsClients; i++) {
      const client = s.uint();
      const count = s.uint();
      if (count === 0) continue;
      const p = part(client);
      const deletes = (p.deletes ??= []);
      for (let j = 0; j < count; j++) deletes.push(s.uint(), s.uint());
    }
    if (s.pos !== update.length) return undefined;
  }
  // Clients in descending order, as Yjs writes them (readers do not depend on it).
  parts.sort(descending);
  let withStructs = 0;
  let withDeletes = 0;
  for (const p of parts) {
    if (p.structs > 0) {
      withStructs++;
      size += varUintSize(p.structs) + varUintSize(p.client) + varUintSize(p.clock);
    }
    if (p.deletes !== undefined) {
      withDeletes++;
      p.deletes = joinRanges(p.deletes);
      size += varUintSize(p.client) + varUintSize(p.deletes.length / 2);
      for (const n of p.deletes) size += varUintSize(n);
    }
  }
  const out = new Uint8Array(size + varUintSize(withStructs) + varUintSize(withDeletes));
  let pos = writeVarUint(out, 0, withStructs);
  for (const p of parts) {
    if (p.structs === 0) continue;
    pos = writeVarUint(out, pos, p.structs);
    pos = writeVarUint(out, pos, p.client);
    pos = writeVarUint(out, pos, p.clock);
    const sections = p.sections;
    for (let i = 0; i < sections.length; i += 3) {
      const bytes = updates[sections[i] as number] as Uint8Array;
      const from = sections[i + 1] as number;
      const to = sections[i + 2] as number;
      out.set(bytes.subarray(from, to), pos);
      pos += to - from;
    }
  }
  pos = writeVarUint(out, pos, withDeletes);
  for (const p of parts) {
    if (p.deletes === undefined) continue;
    pos = writeVarUint(out, pos, p.client);
    pos = writeVarUint(out, pos, p.deletes.length / 2);
    for (const n of p.deletes) pos = writeVarUint(out, pos, n);
  }
  return out;
}

/** Flat (clock, length) pairs sorted by clock, the ones that overlap or touch made one. */
function joinRanges(flat: number[]): number[] {
  let ordered = true;
  for (let i = 2; i < flat.length && ordered; i += 2) ordered = (flat[i] as number) > (flat[i - 2] as number) + (flat[i - 1] as number);
  if (ordered) return flat;
  const ranges: [number, number][] = [];
  for (let i = 0; i < flat.length; i += 2) ranges.push([flat[i] as number, flat[i + 1] as number]);
  ranges.sort((a, b) => a[0] - b[0]);
  const joined: number[] = [];
  for (const [clock, len] of ranges) {
    const last = joined.length - 2;
    if (last >= 0 && clock <= (joined[last] as number) + (joined[last + 1] as number)) {
      joined[last + 1] = Math.max(joined[last + 1] as number, clock + len - (joined[last] as number));
    } else {
      joined.push(clock, len);
    }
  }
  return joined;
}

function descending(a: ClientPart, b: ClientPart): number {
  return b.client - a.client;
}

/**
 * Skips over the parts of a v1 update (Yjs `UpdateDecoderV1`, lib0 `readAny`), reading only the
 * lengths a struct's clock range depends on, with the protocol's bounds-checked `ByteReader`.
 * Throws on anything it cannot read.
 */
class Scanner {
  readonly #b: Uint8Array;
  readonly #r: ByteReader;

  constructor(bytes: Uint8Array) {
    this.#b = bytes;
    this.#r = new ByteReader(bytes);
  }

  get pos(): number {
    return this.#r.position;
  }

  /** An unsigned varint (lib0 `readVarUint`), at most 2^53 − 1. */
  uint(): number {
    return this.#r.readVarUint();
  }

  /** A signed varint (lib0 `readVarInt`): its value is not needed, only its end. */
  #skipVarint(): void {
    for (let i = 0; i < 10; i++) if (this.#r.readU8() < 0x80) return;
    throw new RangeError('varint too long');
  }

  #skip(n: number): void {
    this.#r.skip(n);
  }

  /** A length-prefixed byte array or string, skipped. */
  #skipVarBytes(): void {
    this.#r.skip(this.#r.readVarUint());
  }

  /** A length-prefixed UTF-8 string, skipped; returns its length in UTF-16 code units (Yjs's string length). */
  #stringLength(): number {
    const n = this.#r.readVarUint();
    const start = this.#r.position;
    this.#r.skip(n);
    return utf16Length(this.#b, start, start + n);
  }

  /** One struct (GC, Skip or Item); returns its length in clock units. */
  struct(): number {
    const info = this.#r.readU8();
    const ref = info & 0x1f;
    if (ref === 0 || ref === 10) return this.uint(); // GC, Skip: a length
    if ((info & 0x80) !== 0) this.#id(); // origin
    if ((info & 0x40) !== 0) this.#id(); // right origin
    if ((info & 0xc0) === 0) {
      // the parent: a root type's name, or the ID of the item that holds the type
      if (this.uint() === 1) this.#skipVarBytes();
      else this.#id();
      if ((info & 0x20) !== 0) this.#skipVarBytes(); // parentSub (a map key)
    }
    return this.#content(ref);
  }

  #id(): void {
    this.uint();
    this.uint();
  }

  /** Item content by its ref (Yjs `contentRefs`); returns its length. */
  #content(ref: number): number {
    switch (ref) {
      case 1: // ContentDeleted
        return this.uint();
      case 2: { // ContentJSON: n JSON strings
        const n = this.uint();
        for (let i = 0; i < n; i++) this.#skipVarBytes();
        return n;
      }
      case 3: // ContentBinary
        this.#skipVarBytes();
        return 1;
      case 4: // ContentString
        return this.#stringLength();
      case 5: // ContentEmbed: JSON
        this.#skipVarBytes();
        return 1;
      case 6: // ContentFormat: key, JSON
        this.#skipVarBytes();
        this.#skipVarBytes();
        return 1;
      case 7: { // ContentType: a type ref; XmlElement and XmlHook carry a name
        const type = this.uint();
        if (type === 3 || type === 5) this.#skipVarBytes();
        else if (type > 6) throw new RangeError(`unknown type ref ${type}`);
        return 1;
      }
      case 8: { // ContentAny: n values
        const n = this.uint();
        for (let i = 0; i < n; i++) this.#any(0);
        return n;
      }
      case 9: // ContentDoc: guid, options
        this.#skipVarBytes();
        this.#any(0);
        return 1;
      default:
        throw new RangeError(`unknown content ref ${ref}`);
    }
  }

  /** One lib0 `readAny` value, skipped. */
  #any(depth: number): void {
    if (depth > MAX_ANY_DEPTH) throw new RangeError('value nested too deeply');
    const type = this.#r.readU8();
    switch (type) {
      case 127: case 126: case 121: case 120: // undefined, null, false, true
        return;
      case 125: // integer
        this.#skipVarint();
        return;
      case 124: // float32
        this.#skip(4);
        return;
      case 123: case 122: // float64, bigint
        this.#skip(8);
        return;
      case 119: case 116: // string, Uint8Array
        this.#skipVarBytes();
        return;
      case 118: { // object: key, value pairs
        const n = this.uint();
        for (let i = 0; i < n; i++) {
          this.#skipVarBytes();
          this.#any(depth + 1);
        }
        return;
      }
      case 117: { // array
        const n = this.uint();
        for (let i = 0; i < n; i++) this.#any(depth + 1);
        return;
      }
      default:
        throw new RangeError(`unknown value type ${type}`);
    }
  }
}

/**
 * The UTF-16 length of the strict UTF-8 in `bytes[from, to)` (what `TextDecoder` gives it);
 * throws on anything but well-formed UTF-8 (no overlong forms, surrogates or values past
 * U+10FFFF), where decoders may disagree on the length.
 */
export function utf16Length(bytes: Uint8Array, from: number, to: number): number {
  let units = 0;
  let i = from;
  while (i < to) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      units++;
      i++;
      continue;
    }
    let need: number;
    let min: number;
    let cp: number;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1; min = 0x80; cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2; min = 0x800; cp = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3; min = 0x10000; cp = b & 0x07;
    } else {
      throw new RangeError('invalid UTF-8');
    }
    if (i + need >= to) throw new RangeError('truncated UTF-8');
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k] as number;
      if ((c & 0xc0) !== 0x80) throw new RangeError('invalid UTF-8');
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new RangeError('invalid UTF-8');
    units += cp >= 0x10000 ? 2 : 1;
    i += need + 1;
  }
  return units;
}
