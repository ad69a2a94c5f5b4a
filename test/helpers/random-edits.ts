/**
 * Random Yjs edits driven by a seeded PRNG (lib0/prng), after yjs `tests/testHelper.js`
 * (`applyRandomTests`). Pure document operations: no I/O, so the same generator drives a
 * single server, a cluster, or in-memory peers. Same seed + same call sequence = same edits.
 */
import * as Y from 'yjs';
import * as prng from 'lib0/prng';
import { canonicalJson } from './docs.js';

export type Prng = prng.PRNG;

/** The root types every random edit works on. */
export const ROOTS = { map: 'map', array: 'array', text: 'text' } as const;

/** A new generator for `seed`. */
export function createPrng(seed: number): Prng {
  return prng.create(seed);
}

export function int(gen: Prng, min: number, max: number): number {
  return prng.int32(gen, min, max);
}

export function chance(gen: Prng, probability: number): boolean {
  return prng.real53(gen) < probability;
}

export function pick<T>(gen: Prng, items: readonly T[]): T {
  if (items.length === 0) throw new Error('pick from an empty list');
  return prng.oneOf(gen, items as T[]);
}

/**
 * Seeds for a randomized suite: `SEED=<n>` replays exactly one seed; otherwise `count` seeds
 * derived from a random base (printed by the caller so any run can be replayed).
 */
export function seedsFromEnv(count: number): number[] {
  const fixed = process.env.SEED;
  if (fixed !== undefined && fixed !== '') {
    const seed = Number(fixed);
    if (!Number.isSafeInteger(seed)) throw new Error(`SEED must be an integer, got ${fixed}`);
    return [seed];
  }
  const base = Math.floor(Math.random() * 0x7fffffff);
  return Array.from({ length: count }, (_, i) => (base + i * 7919) % 0x7fffffff);
}

export { EXTENSIVE } from './extensive.js';

type Editable = Y.Map<unknown> | Y.Array<unknown> | Y.Text;

const KEYS = ['a', 'b', 'c', 'd', 'e', 'f'] as const;
const ATTRIBUTES = [{ bold: true }, { bold: null }, { italic: true }, { italic: null }, { color: '#f00' }] as const;

function randomString(gen: Prng): string {
  // Mostly ASCII, sometimes a surrogate pair or a combining mark: both have bitten text CRDTs.
  const r = prng.real53(gen);
  if (r < 0.1) return pick(gen, ['😀', 'é', 'a\u0301', '漢字', '\n']);
  return prng.word(gen, 1, 6);
}

function randomPrimitive(gen: Prng): unknown {
  switch (int(gen, 0, 5)) {
    case 0:
      return int(gen, -1000, 1000);
    case 1:
      return randomString(gen);
    case 2:
      return prng.bool(gen);
    case 3:
      return null;
    case 4:
      return { n: int(gen, 0, 99), s: randomString(gen) };
    default:
      return [int(gen, 0, 9), randomString(gen)];
  }
}

/** Sometimes a nested shared type (pre-filled, so it carries content of its own). */
function randomValue(gen: Prng, allowNested: boolean): unknown {
  if (!allowNested || !chance(gen, 0.15)) return randomPrimitive(gen);
  switch (int(gen, 0, 2)) {
    case 0: {
      const m = new Y.Map<unknown>();
      m.set(pick(gen, KEYS), randomPrimitive(gen));
      return m;
    }
    case 1: {
      const a = new Y.Array<unknown>();
      a.push([randomPrimitive(gen)]);
      return a;
    }
    default:
      return new Y.Text(randomString(gen));
  }
}

/** Every shared type reachable from the roots (roots first), to pick an edit target from. */
export function editableTypes(doc: Y.Doc): Editable[] {
  const out: Editable[] = [doc.getMap(ROOTS.map), doc.getArray(ROOTS.array), doc.getText(ROOTS.text)];
  for (let i = 0; i < out.length; i++) {
    const t = out[i];
    if (t instanceof Y.Map) {
      for (const v of t.values()) if (isEditable(v)) out.push(v);
    } else if (t instanceof Y.Array) {
      for (const v of t.toArray()) if (isEditable(v)) out.push(v);
    }
  }
  return out;
}

function isEditable(v: unknown): v is Editable {
  return v instanceof Y.Map || v instanceof Y.Array || v instanceof Y.Text;
}

function editMap(gen: Prng, map: Y.Map<unknown>, nestedOk: boolean): string {
  const key = pick(gen, KEYS);
  if (map.size > 0 && chance(gen, 0.3)) {
    const victim = pick(gen, [...map.keys()]);
    map.delete(victim);
    return `map.delete(${victim})`;
  }
  map.set(key, randomValue(gen, nestedOk));
  return `map.set(${key})`;
}

function editArray(gen: Prng, array: Y.Array<unknown>, nestedOk: boolean): string {
  const len = array.length;
  if (len > 0 && chance(gen, 0.35)) {
    const index = int(gen, 0, len - 1);
    const count = Math.min(int(gen, 1, 3), len - index);
    array.delete(index, count);
    return `array.delete(${index},${count})`;
  }
  const index = int(gen, 0, len);
  const items = Array.from({ length: int(gen, 1, 3) }, () => randomValue(gen, nestedOk));
  array.insert(index, items);
  return `array.insert(${index},${items.length})`;
}

/**
 * Move a UTF-16 index off the middle of a surrogate pair. Editors never put a cursor there;
 * Yjs replaces a split pair with U+FFFD on the replica that splits it only (yjs#248), which
 * would be a divergence of the generator's making, not the server's.
 */
function boundary(str: string, index: number): number {
  const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
  return index > 0 && index < str.length && isHigh(str.charCodeAt(index - 1)) ? index - 1 : index;
}

/** A random range `[index, index + count)` of `text` whose ends are code point boundaries. */
function range(gen: Prng, str: string, maxCount: number): [number, number] {
  const index = boundary(str, int(gen, 0, str.length - 1));
  let end = Math.min(str.length, index + int(gen, 1, maxCount));
  if (boundary(str, end) !== end) end++;
  return [index, end - index];
}

function editText(gen: Prng, text: Y.Text): string {
  const str = text.toJSON();
  const len = str.length;
  const r = prng.real53(gen);
  if (len > 0 && r < 0.3) {
    const [index, count] = range(gen, str, 4);
    text.delete(index, count);
    return `text.delete(${index},${count})`;
  }
  if (len > 0 && r < 0.5) {
    const [index, count] = range(gen, str, 5);
    text.format(index, count, { ...pick(gen, ATTRIBUTES) });
    return `text.format(${index},${count})`;
  }
  const index = boundary(str, int(gen, 0, len));
  const s = randomString(gen);
  if (chance(gen, 0.3)) text.insert(index, s, { ...pick(gen, ATTRIBUTES) });
  else text.insert(index, s);
  return `text.insert(${index})`;
}

/**
 * One random edit on `doc`: Y.Map set/delete, Y.Array insert/delete, Y.Text
 * insert/delete/format, on a root type or (sometimes) a nested one. Returns a short
 * description of what it did (for failure logs).
 */
export function randomEdit(doc: Y.Doc, gen: Prng): string {
  const types = editableTypes(doc);
  // Favour roots so documents keep growing; nested types get a fair share once they exist.
  const target = types.length > 3 && chance(gen, 0.4) ? pick(gen, types.slice(3)) : pick(gen, types.slice(0, 3));
  // Bound the nesting depth: nested types inside nested types only rarely.
  const nestedOk = types.indexOf(target) < 3 || chance(gen, 0.2);
  if (target instanceof Y.Map) return editMap(gen, target, nestedOk);
  if (target instanceof Y.Array) return editArray(gen, target, nestedOk);
  return editText(gen, target);
}

/** `count` random edits, each in its own transaction or (sometimes) all in one. */
export function randomEdits(doc: Y.Doc, gen: Prng, count: number): string[] {
  const done: string[] = [];
  if (chance(gen, 0.3)) {
    doc.transact(() => {
      for (let i = 0; i < count; i++) done.push(randomEdit(doc, gen));
    });
  } else {
    for (let i = 0; i < count; i++) done.push(randomEdit(doc, gen));
  }
  return done;
}

function contentOf(value: unknown): unknown {
  if (value instanceof Y.Text) return { text: value.toDelta() as unknown };
  if (value instanceof Y.Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value.entries()) out[k] = contentOf(v);
    return out;
  }
  if (value instanceof Y.Array) return value.toArray().map(contentOf);
  return value;
}

/**
 * Canonical JSON of the roots, formatting included (Y.Text as its delta). Instantiates the
 * root types first: a doc that only received updates (the server's) holds untyped roots whose
 * `toJSON()` is empty. Instantiating a root changes no state.
 */
export function contentJson(doc: Y.Doc): string {
  return canonicalJson({
    map: contentOf(doc.getMap(ROOTS.map)),
    array: contentOf(doc.getArray(ROOTS.array)),
    text: contentOf(doc.getText(ROOTS.text)),
  });
}
