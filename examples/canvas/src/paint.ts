import type { Shape } from './board';
import { arrowHead, center, isLinear, lineEnds, penPoints, tint, type Lookup, type Point } from './geometry';

/**
 * How one shape looks, drawn on a 2D canvas context already set to board coordinates. The
 * live renderer and the PNG export both use it, so an export looks like the board. Costly
 * derived paths (pen strokes, wrapped note text) are cached per shape snapshot: a snapshot
 * is replaced whenever its shape changes.
 */

export const NOTE_FONT = '16px system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", "DejaVu Sans", sans-serif';
export const NOTE_LINE = 21.6;
export const NOTE_PAD = { x: 14, y: 12 };
export const NOTE_PLACEHOLDER = 'Double-click to write';

const penPaths = new WeakMap<Shape, Path2D>();
const noteLines = new WeakMap<Shape, string[]>();

/**
 * Paint one shape. `zoom` picks the level of detail: far out, where a note's text would be a
 * few pixels high, it is drawn as grey lines, and corners are square.
 */
export function paintShape(ctx: CanvasRenderingContext2D, shape: Shape, lookup: Lookup, zoom = 1): void {
  const stroke = shape.color;
  if (isLinear(shape)) {
    const [a, b] = lineEnds(shape, lookup);
    ctx.strokeStyle = stroke;
    ctx.lineWidth = 2.5;
    ctx.lineCap = 'round';
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
    if (shape.kind === 'arrow' && (a.x !== b.x || a.y !== b.y)) {
      const head = arrowHead(a, b);
      ctx.fillStyle = stroke;
      ctx.lineWidth = 1.5;
      ctx.lineJoin = 'round';
      ctx.beginPath();
      head.forEach((p, i) => (i === 0 ? ctx.moveTo(p.x, p.y) : ctx.lineTo(p.x, p.y)));
      ctx.closePath();
      ctx.fill();
      ctx.stroke();
    }
    return;
  }
  const turned = shape.r !== 0;
  if (turned) {
    ctx.save();
    const c = center(shape);
    ctx.translate(c.x, c.y);
    ctx.rotate(shape.r);
    ctx.translate(-c.x, -c.y);
  }
  const { x, y, w, h } = shape;
  const far = zoom < 0.3;
  switch (shape.kind) {
    case 'rect':
      ctx.beginPath();
      if (far) ctx.rect(x, y, Math.max(0, w), Math.max(0, h));
      else ctx.roundRect(x, y, Math.max(0, w), Math.max(0, h), Math.min(6, w / 2, h / 2));
      fillAndStroke(ctx, stroke);
      break;
    case 'ellipse':
      ctx.beginPath();
      ctx.ellipse(x + w / 2, y + h / 2, Math.max(0, w / 2), Math.max(0, h / 2), 0, 0, Math.PI * 2);
      fillAndStroke(ctx, stroke);
      break;
    case 'diamond':
      ctx.beginPath();
      ctx.moveTo(x + w / 2, y);
      ctx.lineTo(x + w, y + h / 2);
      ctx.lineTo(x + w / 2, y + h);
      ctx.lineTo(x, y + h / 2);
      ctx.closePath();
      fillAndStroke(ctx, stroke);
      break;
    case 'pen': {
      let path = penPaths.get(shape);
      if (path === undefined) {
        path = new Path2D(smoothPath(penPoints(shape)));
        penPaths.set(shape, path);
      }
      ctx.strokeStyle = stroke;
      ctx.lineWidth = 3;
      ctx.lineCap = 'round';
      ctx.lineJoin = 'round';
      ctx.stroke(path);
      break;
    }
    case 'note':
      paintNote(ctx, shape, far);
      break;
    case 'line':
    case 'arrow':
      break;
  }
  if (turned) ctx.restore();
}

function paintNote(ctx: CanvasRenderingContext2D, shape: Shape, far: boolean): void {
  const { x, y, w, h } = shape;
  // A drop shadow without shadowBlur (a blur per note per frame is costly in software).
  if (!far) {
    ctx.fillStyle = 'rgb(0 0 0 / 0.08)';
    ctx.beginPath();
    ctx.roundRect(x + 1, y + 3, Math.max(0, w), Math.max(0, h), 4);
    ctx.fill();
  }
  ctx.fillStyle = tint(shape.color, 0.62);
  ctx.beginPath();
  if (far) ctx.rect(x, y, Math.max(0, w), Math.max(0, h));
  else ctx.roundRect(x, y, Math.max(0, w), Math.max(0, h), 3);
  ctx.fill();
  ctx.strokeStyle = tint(shape.color, 0.35);
  ctx.lineWidth = 1;
  ctx.stroke();
  const empty = shape.text === '';
  let lines = noteLines.get(shape);
  if (lines === undefined) {
    ctx.font = NOTE_FONT;
    lines = wrapText(ctx, empty ? NOTE_PLACEHOLDER : shape.text, w - 2 * NOTE_PAD.x);
    noteLines.set(shape, lines);
  }
  const rows = Math.min(lines.length, Math.floor((h - NOTE_PAD.y) / NOTE_LINE));
  if (far) {
    // Too small to read: a grey bar per line.
    ctx.fillStyle = 'rgb(0 0 0 / 0.22)';
    for (let i = 0; i < rows; i++) {
      const width = Math.min(w - 2 * NOTE_PAD.x, (lines[i]?.length ?? 0) * 8);
      ctx.fillRect(x + NOTE_PAD.x, y + NOTE_PAD.y + i * NOTE_LINE + 4, width, 10);
    }
    return;
  }
  ctx.font = NOTE_FONT;
  ctx.textBaseline = 'top';
  ctx.fillStyle = empty ? 'rgb(0 0 0 / 0.38)' : '#2b2b2b';
  ctx.save();
  ctx.beginPath();
  ctx.rect(x, y, Math.max(0, w), Math.max(0, h));
  ctx.clip();
  lines.forEach((line, i) => ctx.fillText(line, x + NOTE_PAD.x, y + NOTE_PAD.y + i * NOTE_LINE + 2));
  ctx.restore();
}

function fillAndStroke(ctx: CanvasRenderingContext2D, stroke: string): void {
  ctx.fillStyle = tint(stroke, 0.86);
  ctx.fill();
  ctx.strokeStyle = stroke;
  ctx.lineWidth = 2.5;
  ctx.stroke();
}

/** Break text into lines no wider than `width` (at the font set on `ctx`), keeping explicit line breaks. */
export function wrapText(ctx: Pick<CanvasRenderingContext2D, 'measureText'>, text: string, width: number): string[] {
  const out: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/(\s+)/)) {
      const next = line + word;
      if (line !== '' && ctx.measureText(next).width > width) {
        out.push(line.trimEnd());
        line = word.trimStart();
        // A single word wider than the note: break it by characters.
        while (line.length > 1 && ctx.measureText(line).width > width) {
          let cut = line.length - 1;
          while (cut > 1 && ctx.measureText(line.slice(0, cut)).width > width) cut--;
          out.push(line.slice(0, cut));
          line = line.slice(cut);
        }
      } else line = next;
    }
    out.push(line);
  }
  return out;
}

/** A polyline through the points, smoothed with quadratic curves through the midpoints (SVG path data). */
export function smoothPath(points: readonly Point[]): string {
  const first = points[0];
  if (first === undefined) return '';
  const n = (v: number): string => String(Math.round(v * 10) / 10);
  if (points.length < 3) return `M${n(first.x)} ${n(first.y)} ${points.map((p) => `L${n(p.x)} ${n(p.y)}`).join(' ')}${points.length === 1 ? ' l0.1 0' : ''}`;
  let d = `M${n(first.x)} ${n(first.y)}`;
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i] as Point;
    const q = points[i + 1] as Point;
    d += ` Q${n(p.x)} ${n(p.y)} ${n((p.x + q.x) / 2)} ${n((p.y + q.y) / 2)}`;
  }
  const last = points[points.length - 1] as Point;
  return `${d} L${n(last.x)} ${n(last.y)}`;
}
