import type { Shape, ShapePatch } from './board';

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

/** Corner handles of boxes, end handles of lines and arrows. */
export type Handle = 'nw' | 'ne' | 'sw' | 'se' | 'start' | 'end';

export const isLinear = (shape: Pick<Shape, 'kind'>): boolean => shape.kind === 'line' || shape.kind === 'arrow';

/** The box from two opposite corners. */
export function boxFrom(a: Point, b: Point): Box {
  return { x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), w: Math.abs(b.x - a.x), h: Math.abs(b.y - a.y) };
}

/** The shape's bounding box on the board. */
export function bounds(shape: Shape): Box {
  if (isLinear(shape)) return boxFrom({ x: shape.x, y: shape.y }, { x: shape.x + shape.w, y: shape.y + shape.h });
  return { x: shape.x, y: shape.y, w: shape.w, h: shape.h };
}

/** The bounding box of flat [x0, y0, x1, y1, …] points (zero size when empty). */
export function pointsBox(points: readonly number[]): Box {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let i = 0; i + 1 < points.length; i += 2) {
    const x = points[i] ?? 0;
    const y = points[i + 1] ?? 0;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  if (minX === Infinity) return { x: 0, y: 0, w: 0, h: 0 };
  return { x: minX, y: minY, w: maxX - minX, h: maxY - minY };
}

/** A pen stroke's points on the board: their own bounding box mapped onto the shape's box. */
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

export function handlesOf(shape: Shape): Array<{ handle: Handle; at: Point }> {
  if (isLinear(shape)) {
    return [
      { handle: 'start', at: { x: shape.x, y: shape.y } },
      { handle: 'end', at: { x: shape.x + shape.w, y: shape.y + shape.h } },
    ];
  }
  const { x, y, w, h } = shape;
  return [
    { handle: 'nw', at: { x, y } },
    { handle: 'ne', at: { x: x + w, y } },
    { handle: 'sw', at: { x, y: y + h } },
    { handle: 'se', at: { x: x + w, y: y + h } },
  ];
}

const MIN_SIZE: Readonly<Record<Shape['kind'], number>> = { rect: 4, ellipse: 4, note: 48, pen: 1, line: 0, arrow: 0 };

/** The new geometry of `orig` when `handle` is dragged to `to` (the opposite corner stays). */
export function resized(orig: Shape, handle: Handle, to: Point): ShapePatch {
  if (handle === 'start') return { x: to.x, y: to.y, w: orig.x + orig.w - to.x, h: orig.y + orig.h - to.y };
  if (handle === 'end') return { w: to.x - orig.x, h: to.y - orig.y };
  const fixed: Point = {
    x: handle === 'nw' || handle === 'sw' ? orig.x + orig.w : orig.x,
    y: handle === 'nw' || handle === 'ne' ? orig.y + orig.h : orig.y,
  };
  const box = boxFrom(fixed, to);
  const min = MIN_SIZE[orig.kind];
  return {
    x: box.w < min && to.x < fixed.x ? fixed.x - min : box.x,
    y: box.h < min && to.y < fixed.y ? fixed.y - min : box.y,
    w: Math.max(min, box.w),
    h: Math.max(min, box.h),
  };
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

/** Mix a #rrggbb colour with white (`amount` 0 = colour, 1 = white). */
export function tint(hex: string, amount: number): string {
  const n = Number.parseInt(hex.slice(1), 16);
  const mix = (c: number): number => Math.round(c + (255 - c) * amount);
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map(mix);
  return `rgb(${r ?? 0}, ${g ?? 0}, ${b ?? 0})`;
}
