import * as Y from 'yjs';

/**
 * The board's data model, stored in one Y.Doc:
 *
 *   doc.getMap('shapes'): Y.Map<Y.Map<unknown>>   shape id → the shape's fields
 *   doc.getMap('meta'):   title (string)           the board's name, shared by everyone
 *
 * Each shape is its own Y.Map, so concurrent edits of different fields merge (one user moves
 * a shape while another recolours it). Fields:
 *
 *   kind   'rect' | 'ellipse' | 'diamond' | 'line' | 'arrow' | 'pen' | 'note'
 *   x y w h  rect/ellipse/diamond/note/pen: top-left corner and size (w, h ≥ 0) before rotation.
 *            line/arrow: start point and the signed offset to the end point.
 *   r      rotation in radians about the box centre (boxes only; lines rotate their points)
 *   color  CSS hex colour
 *   z      stacking order (higher is in front; ties are broken by id, so every replica agrees)
 *   text   notes: a Y.Text, so concurrent typing in one note merges character by character
 *          (a plain string from older boards is still read)
 *   points pen: Y.Array<number>, flat [x0, y0, x1, y1, …] in the coordinates the stroke was
 *          drawn in; their bounding box is mapped onto x y w h (so moving and resizing a
 *          stroke never rewrites its points, and drawing appends to them).
 *   from to  arrows and lines: the ids of the shapes the ends are attached to (optional). An
 *          attached end sits on that shape's outline, so it follows when the shape moves.
 *
 * Everything read from the document is validated: a replica may hold anything.
 */
export type ShapeKind = 'rect' | 'ellipse' | 'diamond' | 'line' | 'arrow' | 'pen' | 'note';
export const SHAPE_KINDS: readonly ShapeKind[] = ['rect', 'ellipse', 'diamond', 'line', 'arrow', 'pen', 'note'];

export interface Shape {
  readonly id: string;
  readonly kind: ShapeKind;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  readonly r: number;
  readonly color: string;
  readonly z: number;
  readonly text: string;
  readonly points: readonly number[];
  readonly from: string | null;
  readonly to: string | null;
}

/** The fields a local edit may set (never `id`, `kind`, `points` or `text`). */
export type ShapePatch = Partial<Pick<Shape, 'x' | 'y' | 'w' | 'h' | 'r' | 'color' | 'z' | 'from' | 'to'>>;

export type ShapeMap = Y.Map<unknown>;

export function shapesOf(doc: Y.Doc): Y.Map<ShapeMap> {
  return doc.getMap<ShapeMap>('shapes');
}

export function metaOf(doc: Y.Doc): Y.Map<unknown> {
  return doc.getMap<unknown>('meta');
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isKind = (v: unknown): v is ShapeKind => typeof v === 'string' && (SHAPE_KINDS as readonly string[]).includes(v);
const COLOR = /^#[0-9a-f]{6}$/i;
export const isColor = (v: unknown): v is string => typeof v === 'string' && COLOR.test(v);
const ref = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 && v.length <= 64 ? v : null);

/** A plain snapshot of one shape, or undefined when its fields are not a valid shape. */
export function readShape(id: string, value: unknown): Shape | undefined {
  if (!(value instanceof Y.Map)) return undefined;
  const map = value as ShapeMap;
  const kind = map.get('kind');
  const [x, y, w, h, z, r] = ['x', 'y', 'w', 'h', 'z', 'r'].map((k) => map.get(k));
  if (!isKind(kind) || !isNumber(x) || !isNumber(y) || !isNumber(w) || !isNumber(h)) return undefined;
  const color = map.get('color');
  const text = map.get('text');
  const points = map.get('points');
  return {
    id,
    kind,
    x,
    y,
    w,
    h,
    r: isNumber(r) ? r : 0,
    z: isNumber(z) ? z : 0,
    color: isColor(color) ? color : '#1e1e1e',
    text: text instanceof Y.Text ? text.toJSON() : typeof text === 'string' ? text : '',
    points: points instanceof Y.Array ? (points.toArray() as unknown[]).filter(isNumber) : [],
    from: ref(map.get('from')),
    to: ref(map.get('to')),
  };
}

export interface NewShape {
  readonly kind: ShapeKind;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  readonly color: string;
  readonly r?: number;
  readonly z?: number;
  readonly text?: string;
  readonly points?: readonly number[];
  readonly from?: string | null;
  readonly to?: string | null;
}

export function newId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return Array.from(bytes, (b) => b.toString(36).padStart(2, '0')).join('').slice(0, 14);
}

/** Add a shape (in front of every other unless `z` is given); returns its id. Call inside a transaction. */
export function addShape(shapes: Y.Map<ShapeMap>, init: NewShape, id = newId()): string {
  const map: ShapeMap = new Y.Map<unknown>();
  map.set('kind', init.kind);
  for (const key of ['x', 'y', 'w', 'h'] as const) map.set(key, round(init[key]));
  if (init.r !== undefined && init.r !== 0) map.set('r', init.r);
  map.set('color', init.color);
  map.set('z', init.z ?? topZ(shapes) + 1);
  if (init.kind === 'note') map.set('text', new Y.Text(init.text ?? ''));
  if (init.kind === 'pen') {
    const points = new Y.Array<number>();
    points.push((init.points ?? []).map(round));
    map.set('points', points);
  }
  if (init.from != null) map.set('from', init.from);
  if (init.to != null) map.set('to', init.to);
  shapes.set(id, map);
  return id;
}

/** Set fields that changed (unchanged values are not written, so they cost no update). */
export function patchShape(shapes: Y.Map<ShapeMap>, id: string, patch: ShapePatch): void {
  const map = shapes.get(id);
  if (!(map instanceof Y.Map)) return;
  for (const [key, value] of Object.entries(patch) as Array<[keyof ShapePatch, ShapePatch[keyof ShapePatch]]>) {
    if (value === undefined) continue;
    if (value === null) {
      if (map.has(key)) map.delete(key);
      continue;
    }
    const next = typeof value === 'number' ? (key === 'r' ? value : round(value)) : value;
    if (map.get(key) !== next) map.set(key, next);
  }
}

/** The note's shared text, made a Y.Text first when an older board stored a string. Call inside a transaction. */
export function noteText(shapes: Y.Map<ShapeMap>, id: string): Y.Text | undefined {
  const map = shapes.get(id);
  if (!(map instanceof Y.Map) || map.get('kind') !== 'note') return undefined;
  const text = map.get('text');
  if (text instanceof Y.Text) return text;
  const upgraded = new Y.Text(typeof text === 'string' ? text : '');
  map.set('text', upgraded);
  return upgraded;
}

/** Append points to a pen stroke. */
export function appendPoints(shapes: Y.Map<ShapeMap>, id: string, points: readonly number[]): void {
  const array = shapes.get(id)?.get('points');
  if (array instanceof Y.Array && points.length > 0) (array as Y.Array<number>).push(points.map(round));
}

export function topZ(shapes: Y.Map<ShapeMap>): number {
  let max = 0;
  for (const map of shapes.values()) {
    const z = map instanceof Y.Map ? map.get('z') : undefined;
    if (isNumber(z) && z > max) max = z;
  }
  return max;
}

export function bottomZ(shapes: Y.Map<ShapeMap>): number {
  let min = 0;
  for (const map of shapes.values()) {
    const z = map instanceof Y.Map ? map.get('z') : undefined;
    if (isNumber(z) && z < min) min = z;
  }
  return min;
}

/** Back to front: by z, then by id (every replica orders ties the same way). */
export function byZ(a: Shape, b: Shape): number {
  return a.z - b.z || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Coordinates are stored to 1/10 px: plenty for a canvas, and smaller updates. */
export function round(n: number): number {
  return Math.round(n * 10) / 10;
}
