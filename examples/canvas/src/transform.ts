import type { Shape, ShapeKind, ShapePatch } from './board';
import { center, isLinear, lineEnds, rotate, type Frame, type Handle, type Lookup, type Point } from './geometry';

/**
 * Pure geometry of editing a selection: the patches that move, resize or rotate the shapes
 * as they were when the gesture started (`orig`), for the pointer's latest position.
 */

const MIN_SIZE: Readonly<Record<ShapeKind, number>> = { rect: 4, ellipse: 4, diamond: 4, note: 48, pen: 1, line: 0, arrow: 0 };

export type Patches = Map<string, ShapePatch>;

/**
 * Move by (dx, dy). A line moved on its own lets go of the shapes it was attached to; moved
 * together with one of them, it stays attached to both (its ends follow their shapes).
 */
export function moved(orig: readonly Shape[], dx: number, dy: number, lookup: Lookup): Patches {
  const moving = new Set(orig.map((s) => s.id));
  const out: Patches = new Map();
  for (const s of orig) {
    const patch: ShapePatch = { x: s.x + dx, y: s.y + dy };
    const attached = [s.from, s.to].filter((id): id is string => id !== null);
    if (isLinear(s) && attached.length > 0 && !attached.some((id) => moving.has(id))) {
      // Where it is drawn now (on the outlines) is where it lets go from.
      const [a, b] = lineEnds(s, lookup);
      Object.assign(patch, { x: a.x + dx, y: a.y + dy, w: b.x - a.x, h: b.y - a.y, from: null, to: null });
    }
    out.set(s.id, patch);
  }
  return out;
}

/** One turned box resized by a corner: the opposite corner stays where it is on the board. */
function resizeOne(s: Shape, handle: 'nw' | 'ne' | 'sw' | 'se', to: Point): ShapePatch {
  const c = center(s);
  const sx = handle === 'nw' || handle === 'sw' ? 1 : -1;
  const sy = handle === 'nw' || handle === 'ne' ? 1 : -1;
  const fixed = rotate({ x: c.x + (sx * s.w) / 2, y: c.y + (sy * s.h) / 2 }, c, s.r);
  const d = rotate(to, fixed, -s.r);
  const min = MIN_SIZE[s.kind];
  const lw = Math.max(min, Math.abs(d.x - fixed.x));
  const lh = Math.max(min, Math.abs(d.y - fixed.y));
  // The dragged corner keeps its side of the fixed one (no flipping through it).
  const half = rotate({ x: fixed.x - (sx * lw) / 2, y: fixed.y - (sy * lh) / 2 }, fixed, s.r);
  return { x: half.x - lw / 2, y: half.y - lh / 2, w: lw, h: lh };
}

/** Drag one end of a line or arrow; that end lets go of its shape (it may attach again on release). */
function resizeLine(s: Shape, handle: 'start' | 'end', to: Point, lookup: Lookup): ShapePatch {
  const [a, b] = lineEnds(s, lookup);
  if (handle === 'start') return { x: to.x, y: to.y, w: b.x - to.x, h: b.y - to.y, from: null };
  return { x: a.x, y: a.y, w: to.x - a.x, h: to.y - a.y, to: null };
}

/** Resize the selection by dragging `handle` of its frame to `to`. */
export function resized(orig: readonly Shape[], frame: Frame, handle: Handle, to: Point, lookup: Lookup): Patches {
  const out: Patches = new Map();
  const only = orig.length === 1 ? orig[0] : undefined;
  if (handle === 'rotate') return out;
  if (only !== undefined) {
    if (isLinear(only)) {
      if (handle === 'start' || handle === 'end') out.set(only.id, resizeLine(only, handle, to, lookup));
    } else if (handle !== 'start' && handle !== 'end') {
      out.set(only.id, resizeOne(only, handle, to));
    }
    return out;
  }
  if (handle === 'start' || handle === 'end') return out;
  // Several shapes: scale the group's box from the opposite corner.
  const fx = handle === 'nw' || handle === 'sw' ? frame.x + frame.w : frame.x;
  const fy = handle === 'nw' || handle === 'ne' ? frame.y + frame.h : frame.y;
  const kx = frame.w > 0 ? (to.x - fx) / (handle === 'nw' || handle === 'sw' ? -frame.w : frame.w) : 1;
  const ky = frame.h > 0 ? (to.y - fy) / (handle === 'nw' || handle === 'ne' ? -frame.h : frame.h) : 1;
  const scaleX = Math.max(0.05, kx);
  const scaleY = Math.max(0.05, ky);
  const map = (p: Point): Point => ({ x: fx + (p.x - fx) * scaleX, y: fy + (p.y - fy) * scaleY });
  for (const s of orig) {
    if (isLinear(s)) {
      const a = map({ x: s.x, y: s.y });
      const b = map({ x: s.x + s.w, y: s.y + s.h });
      out.set(s.id, { x: a.x, y: a.y, w: b.x - a.x, h: b.y - a.y });
    } else {
      const c = map(center(s));
      const w = Math.max(MIN_SIZE[s.kind], s.w * scaleX);
      const h = Math.max(MIN_SIZE[s.kind], s.h * scaleY);
      out.set(s.id, { x: c.x - w / 2, y: c.y - h / 2, w, h });
    }
  }
  return out;
}

/** The angle the rotate handle has been turned by, from `from` to `to` about the frame's centre (Shift: 15° steps). */
export function turnAngle(frame: Frame, from: Point, to: Point, snap: boolean): number {
  const c = center(frame);
  let angle = Math.atan2(to.y - c.y, to.x - c.x) - Math.atan2(from.y - c.y, from.x - c.x);
  if (snap) {
    const step = Math.PI / 12;
    angle = Math.round((frame.r + angle) / step) * step - frame.r;
  }
  return angle;
}

/** Turn the selection by `angle` about its frame's centre. */
export function rotated(orig: readonly Shape[], frame: Frame, angle: number): Patches {
  const c = center(frame);
  const out: Patches = new Map();
  for (const s of orig) {
    if (isLinear(s)) {
      const a = rotate({ x: s.x, y: s.y }, c, angle);
      const b = rotate({ x: s.x + s.w, y: s.y + s.h }, c, angle);
      out.set(s.id, { x: a.x, y: a.y, w: b.x - a.x, h: b.y - a.y });
    } else {
      const sc = rotate(center(s), c, angle);
      out.set(s.id, { x: sc.x - s.w / 2, y: sc.y - s.h / 2, r: normalize(s.r + angle) });
    }
  }
  return out;
}

function normalize(r: number): number {
  const full = Math.PI * 2;
  const n = ((r % full) + full) % full;
  return Math.abs(n) < 1e-9 || Math.abs(n - full) < 1e-9 ? 0 : Math.round(n * 1e4) / 1e4;
}

/** The handles of a selection frame in board coordinates (the rotate handle sits `lift` above the top edge). */
export function frameHandles(frame: Frame, lift: number): Array<{ handle: Handle; at: Point }> {
  const c = center(frame);
  const at = (x: number, y: number): Point => rotate({ x, y }, c, frame.r);
  return [
    { handle: 'nw', at: at(frame.x, frame.y) },
    { handle: 'ne', at: at(frame.x + frame.w, frame.y) },
    { handle: 'sw', at: at(frame.x, frame.y + frame.h) },
    { handle: 'se', at: at(frame.x + frame.w, frame.y + frame.h) },
    { handle: 'rotate', at: at(c.x, frame.y - lift) },
  ];
}
