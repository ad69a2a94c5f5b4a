import type { Shape } from './board';

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** A box turned by `r` radians about its centre (r = 0: an ordinary box). */
export interface Frame extends Box {
  readonly r: number;
}

/** Corner handles of boxes and selections, end handles of lines and arrows, the rotate handle. */
export type Handle = 'nw' | 'ne' | 'sw' | 'se' | 'start' | 'end' | 'rotate';

/** The other shapes, by id (what attached arrow ends are drawn to). */
export type Lookup = (id: string) => Shape | undefined;

export const isLinear = (shape: Pick<Shape, 'kind'>): boolean => shape.kind === 'line' || shape.kind === 'arrow';

/** The box from two opposite corners. */
export function boxFrom(a: Point, b: Point): Box {
  return { x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), w: Math.abs(b.x - a.x), h: Math.abs(b.y - a.y) };
}

export const center = (b: Box): Point => ({ x: b.x + b.w / 2, y: b.y + b.h / 2 });

/** `p` turned by `r` radians about `c`. */
export function rotate(p: Point, c: Point, r: number): Point {
  if (r === 0) return p;
  const cos = Math.cos(r);
  const sin = Math.sin(r);
  const dx = p.x - c.x;
  const dy = p.y - c.y;
  return { x: c.x + dx * cos - dy * sin, y: c.y + dx * sin + dy * cos };
}

/** The corners of a frame, clockwise from the top left. */
export function corners(f: Frame): Point[] {
  const c = center(f);
  return [
    { x: f.x, y: f.y },
    { x: f.x + f.w, y: f.y },
    { x: f.x + f.w, y: f.y + f.h },
    { x: f.x, y: f.y + f.h },
  ].map((p) => rotate(p, c, f.r));
}

export function boundsOf(points: readonly Point[]): Box {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const p of points) {
    minX = Math.min(minX, p.x);
    minY = Math.min(minY, p.y);
    maxX = Math.max(maxX, p.x);
    maxY = Math.max(maxY, p.y);
  }
  return minX === Infinity ? { x: 0, y: 0, w: 0, h: 0 } : { x: minX, y: minY, w: maxX - minX, h: maxY - minY };
}

export function union(boxes: readonly Box[]): Box {
  return boundsOf(boxes.flatMap((b) => [{ x: b.x, y: b.y }, { x: b.x + b.w, y: b.y + b.h }]));
}

export function intersects(a: Box, b: Box): boolean {
  return a.x <= b.x + b.w && b.x <= a.x + a.w && a.y <= b.y + b.h && b.y <= a.y + a.h;
}

export function pad(box: Box, by: number): Box {
  return { x: box.x - by, y: box.y - by, w: box.w + 2 * by, h: box.h + 2 * by };
}

/** The two ends of a line or arrow: an attached end sits on its shape's outline, facing the other end. */
export function lineEnds(shape: Shape, lookup: Lookup): [Point, Point] {
  let a: Point = { x: shape.x, y: shape.y };
  let b: Point = { x: shape.x + shape.w, y: shape.y + shape.h };
  const from = shape.from === null || shape.from === shape.id ? undefined : lookup(shape.from);
  const to = shape.to === null || shape.to === shape.id ? undefined : lookup(shape.to);
  const fromBox = from !== undefined && !isLinear(from) ? from : undefined;
  const toBox = to !== undefined && !isLinear(to) ? to : undefined;
  const aimA = toBox !== undefined ? center(toBox) : b;
  const aimB = fromBox !== undefined ? center(fromBox) : a;
  if (fromBox !== undefined) a = outlinePoint(fromBox, aimA, 6);
  if (toBox !== undefined) b = outlinePoint(toBox, aimB, 6);
  return [a, b];
}

/** Where the ray from the shape's centre towards `toward` leaves its outline (plus `gap`). */
export function outlinePoint(shape: Shape, toward: Point, gap = 0): Point {
  const c = center(shape);
  const local = rotate(toward, c, -shape.r);
  const dx = local.x - c.x;
  const dy = local.y - c.y;
  const len = Math.hypot(dx, dy);
  if (len === 0) return c;
  const ux = dx / len;
  const uy = dy / len;
  const hw = Math.max(shape.w / 2, 0.5);
  const hh = Math.max(shape.h / 2, 0.5);
  let t: number;
  if (shape.kind === 'ellipse') t = 1 / Math.hypot(ux / hw, uy / hh);
  else if (shape.kind === 'diamond') t = 1 / (Math.abs(ux) / hw + Math.abs(uy) / hh);
  else t = Math.min(ux === 0 ? Infinity : hw / Math.abs(ux), uy === 0 ? Infinity : hh / Math.abs(uy));
  t = Math.min(t + gap, len);
  return rotate({ x: c.x + ux * t, y: c.y + uy * t }, c, shape.r);
}

/** The shape's axis-aligned bounding box on the board (rotation included). */
export function bounds(shape: Shape, lookup: Lookup): Box {
  if (isLinear(shape)) {
    const [a, b] = lineEnds(shape, lookup);
    return boxFrom(a, b);
  }
  if (shape.r === 0) return { x: shape.x, y: shape.y, w: shape.w, h: shape.h };
  return boundsOf(corners(shape));
}

/** The frame a selection is drawn and resized by: one shape's own turned box, else the bounds of all. */
export function selectionFrame(shapes: readonly Shape[], lookup: Lookup): Frame | undefined {
  const only = shapes.length === 1 ? shapes[0] : undefined;
  if (only !== undefined && !isLinear(only)) return { x: only.x, y: only.y, w: only.w, h: only.h, r: only.r };
  if (shapes.length === 0) return undefined;
  return { ...union(shapes.map((s) => bounds(s, lookup))), r: 0 };
}

/** The bounding box of flat [x0, y0, x1, y1, …] points (zero size when empty). */
export function pointsBox(points: readonly number[]): Box {
  const list: Point[] = [];
  for (let i = 0; i + 1 < points.length; i += 2) list.push({ x: points[i] ?? 0, y: points[i + 1] ?? 0 });
  return boundsOf(list);
}

/** A pen stroke's points in its unturned box: their own bounding box mapped onto the shape's box. */
export function penPoints(shape: Shape): Point[] {
  const src = pointsBox(shape.points);
  const sx = src.w > 0 ? shape.w / src.w : 1;
  const sy = src.h > 0 ? shape.h / src.h : 1;
  const out: Point[] = [];
  for (let i = 0; i + 1 < shape.points.length; i += 2) {
    out.push({ x: shape.x + ((shape.points[i] ?? 0) - src.x) * sx, y: shape.y + ((shape.points[i + 1] ?? 0) - src.y) * sy });
  }
  return out;
}

function distanceToSegment(p: Point, a: Point, b: Point): number {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2));
  return Math.hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
}

/** Is board point `p` on the shape? `tolerance` (board units) widens lines and strokes. */
export function hitTest(shape: Shape, p: Point, tolerance: number, lookup: Lookup): boolean {
  if (isLinear(shape)) {
    const [a, b] = lineEnds(shape, lookup);
    return distanceToSegment(p, a, b) <= tolerance;
  }
  const c = center(shape);
  const q = rotate(p, c, -shape.r);
  const hw = shape.w / 2;
  const hh = shape.h / 2;
  const dx = q.x - c.x;
  const dy = q.y - c.y;
  switch (shape.kind) {
    case 'ellipse':
      return hw > 0 && hh > 0 && (dx / (hw + tolerance / 2)) ** 2 + (dy / (hh + tolerance / 2)) ** 2 <= 1;
    case 'diamond':
      return Math.abs(dx) / (hw + tolerance) + Math.abs(dy) / (hh + tolerance) <= 1;
    case 'pen': {
      if (Math.abs(dx) > hw + tolerance || Math.abs(dy) > hh + tolerance) return false;
      const pts = penPoints(shape);
      if (pts.length === 1) return Math.hypot(q.x - (pts[0]?.x ?? 0), q.y - (pts[0]?.y ?? 0)) <= tolerance;
      for (let i = 1; i < pts.length; i++) if (distanceToSegment(q, pts[i - 1] as Point, pts[i] as Point) <= tolerance) return true;
      return false;
    }
    case 'rect':
    case 'note':
    case 'line':
    case 'arrow':
      return Math.abs(dx) <= hw + tolerance / 2 && Math.abs(dy) <= hh + tolerance / 2;
  }
}

/** The arrowhead of a line from `a` to `b`: a small triangle at `b`. */
export function arrowHead(a: Point, b: Point, size = 14): Point[] {
  const angle = Math.atan2(b.y - a.y, b.x - a.x);
  const spread = Math.PI / 7;
  return [
    b,
    { x: b.x - size * Math.cos(angle - spread), y: b.y - size * Math.sin(angle - spread) },
    { x: b.x - size * Math.cos(angle + spread), y: b.y - size * Math.sin(angle + spread) },
  ];
}

const tints = new Map<string, string>();

/** Mix a #rrggbb colour with white (`amount` 0 = colour, 1 = white). Cached: painting asks for the same few every frame. */
export function tint(hex: string, amount: number): string {
  const key = `${hex}/${amount}`;
  let value = tints.get(key);
  if (value === undefined) {
    value = mixWhite(hex, amount);
    if (tints.size < 1000) tints.set(key, value);
  }
  return value;
}

function mixWhite(hex: string, amount: number): string {
  const n = Number.parseInt(hex.slice(1), 16);
  const mix = (c: number): number => Math.round(c + (255 - c) * amount);
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map(mix);
  return `rgb(${r ?? 0}, ${g ?? 0}, ${b ?? 0})`;
}
