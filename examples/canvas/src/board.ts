import * as Y from 'yjs';

/**
 * The board's data model, stored in one Y.Doc:
 *
 *   doc.getMap('shapes'): Y.Map<Y.Map<unknown>>   shape id → the shape's fields
 *
 * Each shape is its own Y.Map, so concurrent edits of different fields merge (one user moves
 * a shape while another recolours it). Fields:
 *
 *   kind   'rect' | 'ellipse' | 'line' | 'arrow' | 'pen' | 'note'
 *   x y w h  rect/ellipse/note: top-left corner and size (w, h ≥ 0).
 *            line/arrow: start point and the signed offset to the end point.
 *            pen: the box the stroke's points are drawn into (see `points`).
 *   color  CSS hex colour
 *   z      stacking order (higher is in front; ties are broken by id, so every replica agrees)
 *   text   notes: the text
 *   points pen: Y.Array<number>, flat [x0, y0, x1, y1, …] in the coordinates the stroke was
 *          drawn in; their bounding box is mapped onto x y w h (so moving and resizing a
 *          stroke never rewrites its points, and drawing appends to them).
 *
 * Everything read from the document is validated: a replica may hold anything.
 */
export type ShapeKind = 'rect' | 'ellipse' | 'line' | 'arrow' | 'pen' | 'note';
export const SHAPE_KINDS: readonly ShapeKind[] = ['rect', 'ellipse', 'line', 'arrow', 'pen', 'note'];

export interface Shape {
  readonly id: string;
  readonly kind: ShapeKind;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  readonly color: string;
  readonly z: number;
  readonly text: string;
  readonly points: readonly number[];
}

/** The fields a local edit may set (never `id`, `kind` or `points`). */
export type ShapePatch = Partial<Pick<Shape, 'x' | 'y' | 'w' | 'h' | 'color' | 'z' | 'text'>>;

export type ShapeMap = Y.Map<unknown>;

export function shapesOf(doc: Y.Doc): Y.Map<ShapeMap> {
  return doc.getMap<ShapeMap>('shapes');
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isKind = (v: unknown): v is ShapeKind => typeof v === 'string' && (SHAPE_KINDS as readonly string[]).includes(v);
const COLOR = /^#[0-9a-f]{6}$/i;

/** A plain snapshot of one shape, or undefined when its fields are not a valid shape. */
export function readShape(id: string, value: unknown): Shape | undefined {
  if (!(value instanceof Y.Map)) return undefined;
  const map = value as ShapeMap;
  const kind = map.get('kind');
  const [x, y, w, h, z] = ['x', 'y', 'w', 'h', 'z'].map((k) => map.get(k));
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
    z: isNumber(z) ? z : 0,
    color: typeof color === 'string' && COLOR.test(color) ? color : '#1e1e1e',
    text: typeof text === 'string' ? text : '',
    points: points instanceof Y.Array ? (points.toArray() as unknown[]).filter(isNumber) : [],
  };
}

export interface NewShape {
  readonly kind: ShapeKind;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  readonly color: string;
  readonly text?: string;
  readonly points?: readonly number[];
}

export function newId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return Array.from(bytes, (b) => b.toString(36).padStart(2, '0')).join('').slice(0, 14);
}

/** Add a shape in front of every other; returns its id. Call inside a transaction. */
export function addShape(shapes: Y.Map<ShapeMap>, init: NewShape): string {
  const id = newId();
  const map: ShapeMap = new Y.Map<unknown>();
  map.set('kind', init.kind);
  for (const key of ['x', 'y', 'w', 'h'] as const) map.set(key, round(init[key]));
  map.set('color', init.color);
  map.set('z', topZ(shapes) + 1);
  if (init.kind === 'note') map.set('text', init.text ?? '');
  if (init.kind === 'pen') {
    const points = new Y.Array<number>();
    points.push((init.points ?? []).map(round));
    map.set('points', points);
  }
  shapes.set(id, map);
  return id;
}

/** Set fields that changed (unchanged values are not written, so they cost no update). */
export function patchShape(shapes: Y.Map<ShapeMap>, id: string, patch: ShapePatch): void {
  const map = shapes.get(id);
  if (!(map instanceof Y.Map)) return;
  for (const [key, value] of Object.entries(patch) as Array<[keyof ShapePatch, ShapePatch[keyof ShapePatch]]>) {
    if (value === undefined) continue;
    const next = typeof value === 'number' ? round(value) : value;
    if (map.get(key) !== next) map.set(key, next);
  }
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
function round(n: number): number {
  return Math.round(n * 10) / 10;
}
