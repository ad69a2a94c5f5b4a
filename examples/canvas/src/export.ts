import { byZ, isColor, newId, SHAPE_KINDS, type NewShape, type Shape, type ShapeKind } from './board';
import { arrowHead, bounds, center, isLinear, lineEnds, pad, penPoints, tint, union, type Box, type Lookup } from './geometry';
import { NOTE_FONT, NOTE_LINE, NOTE_PAD, paintShape, smoothPath, wrapText } from './paint';

/**
 * The board as files: JSON (everything, to import again), SVG (vector, text as text) and PNG
 * (what the canvas draws, on white). Exports cover every shape, not just the part in view.
 */

export const JSON_FORMAT = 'skein-canvas';
const LIMITS = { shapes: 20_000, points: 200_000, text: 20_000, coordinate: 1e7 };

export interface BoardFile {
  readonly format: typeof JSON_FORMAT;
  readonly version: 1;
  readonly title: string;
  readonly shapes: ReadonlyArray<Omit<Shape, 'text' | 'points' | 'from' | 'to'> & { text?: string; points?: readonly number[]; from?: string; to?: string }>;
}

export function toJson(title: string, shapes: readonly Shape[]): string {
  const file: BoardFile = {
    format: JSON_FORMAT,
    version: 1,
    title,
    shapes: [...shapes].sort(byZ).map(({ text, points, from, to, ...rest }) => ({
      ...rest,
      ...(rest.kind === 'note' ? { text } : {}),
      ...(rest.kind === 'pen' ? { points: [...points] } : {}),
      ...(from !== null ? { from } : {}),
      ...(to !== null ? { to } : {}),
    })),
  };
  return `${JSON.stringify(file, null, 1)}\n`;
}

export class ImportError extends Error {}

const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= LIMITS.coordinate;

/**
 * Shapes read from a board file, with fresh ids (attached line ends follow the renaming) and
 * stacked above `aboveZ` in their own order. Throws `ImportError` on a file that is not one.
 */
export function fromJson(text: string, aboveZ: number): Array<{ id: string; shape: NewShape }> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new ImportError('This file is not JSON.');
  }
  const file = data as Partial<BoardFile> | null;
  if (file?.format !== JSON_FORMAT || !Array.isArray(file.shapes)) throw new ImportError('This is not a Skein canvas board file.');
  if (file.shapes.length > LIMITS.shapes) throw new ImportError(`A board file holds at most ${LIMITS.shapes} shapes.`);
  const ids = new Map<string, string>();
  const valid: Array<{ old: string; raw: Record<string, unknown>; kind: ShapeKind }> = [];
  for (const item of file.shapes as unknown[]) {
    if (typeof item !== 'object' || item === null) continue;
    const raw = item as Record<string, unknown>;
    const kind = raw.kind;
    if (typeof kind !== 'string' || !(SHAPE_KINDS as readonly string[]).includes(kind)) continue;
    if (![raw.x, raw.y, raw.w, raw.h].every(num)) continue;
    const old = typeof raw.id === 'string' ? raw.id : newId();
    ids.set(old, newId());
    valid.push({ old, raw, kind: kind as ShapeKind });
  }
  valid.sort((a, b) => (num(a.raw.z) ? a.raw.z : 0) - (num(b.raw.z) ? b.raw.z : 0));
  return valid.map(({ old, raw, kind }, i) => {
    const points = Array.isArray(raw.points) ? raw.points.filter(num).slice(0, LIMITS.points) : [];
    const link = (v: unknown): string | null => (typeof v === 'string' ? (ids.get(v) ?? null) : null);
    const shape: NewShape = {
      kind,
      x: raw.x as number,
      y: raw.y as number,
      w: raw.w as number,
      h: raw.h as number,
      r: num(raw.r) ? raw.r : 0,
      z: aboveZ + 1 + i,
      color: isColor(raw.color) ? raw.color : '#1e1e1e',
      ...(kind === 'note' ? { text: typeof raw.text === 'string' ? raw.text.slice(0, LIMITS.text) : '' } : {}),
      ...(kind === 'pen' ? { points: points.length % 2 === 0 ? points : points.slice(0, -1) } : {}),
      ...(isLinear({ kind }) ? { from: link(raw.from), to: link(raw.to) } : {}),
    };
    return { id: ids.get(old) as string, shape };
  });
}

/** The area every shape covers (with a margin), or a small area at the origin on an empty board. */
export function contentBox(shapes: readonly Shape[], lookup: Lookup, margin = 24): Box {
  if (shapes.length === 0) return { x: 0, y: 0, w: 320, h: 200 };
  return pad(union(shapes.map((s) => bounds(s, lookup))), margin);
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const n = (v: number): string => String(Math.round(v * 100) / 100);

/** A standalone SVG document of the whole board. */
export function toSvg(shapes: readonly Shape[], lookup: Lookup): string {
  const box = contentBox(shapes, lookup);
  const measure = document.createElement('canvas').getContext('2d');
  if (measure !== null) measure.font = NOTE_FONT;
  const body = [...shapes].sort(byZ).map((s) => svgShape(s, lookup, measure)).join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="${n(box.x)} ${n(box.y)} ${n(box.w)} ${n(box.h)}" width="${Math.ceil(box.w)}" height="${Math.ceil(box.h)}">`,
    `<rect x="${n(box.x)}" y="${n(box.y)}" width="${n(box.w)}" height="${n(box.h)}" fill="#ffffff"/>`,
    body,
    '</svg>',
    '',
  ].join('\n');
}

function svgShape(s: Shape, lookup: Lookup, measure: CanvasRenderingContext2D | null): string {
  const id = `data-id="${esc(s.id)}"`;
  if (isLinear(s)) {
    const [a, b] = lineEnds(s, lookup);
    const line = `<line x1="${n(a.x)}" y1="${n(a.y)}" x2="${n(b.x)}" y2="${n(b.y)}" stroke="${s.color}" stroke-width="2.5" stroke-linecap="round"/>`;
    if (s.kind !== 'arrow') return `<g ${id}>${line}</g>`;
    const head = arrowHead(a, b).map((p) => `${n(p.x)},${n(p.y)}`).join(' ');
    return `<g ${id}>${line}<polygon points="${head}" fill="${s.color}" stroke="${s.color}" stroke-width="1.5" stroke-linejoin="round"/></g>`;
  }
  const c = center(s);
  const turn = s.r === 0 ? '' : ` transform="rotate(${n((s.r * 180) / Math.PI)} ${n(c.x)} ${n(c.y)})"`;
  const fill = tint(s.color, 0.86);
  const frame = `x="${n(s.x)}" y="${n(s.y)}" width="${n(Math.max(0, s.w))}" height="${n(Math.max(0, s.h))}"`;
  switch (s.kind) {
    case 'rect':
      return `<g ${id}${turn}><rect ${frame} rx="6" fill="${fill}" stroke="${s.color}" stroke-width="2.5"/></g>`;
    case 'ellipse':
      return `<g ${id}${turn}><ellipse cx="${n(c.x)}" cy="${n(c.y)}" rx="${n(s.w / 2)}" ry="${n(s.h / 2)}" fill="${fill}" stroke="${s.color}" stroke-width="2.5"/></g>`;
    case 'diamond': {
      const pts = [
        [c.x, s.y],
        [s.x + s.w, c.y],
        [c.x, s.y + s.h],
        [s.x, c.y],
      ].map(([x, y]) => `${n(x ?? 0)},${n(y ?? 0)}`);
      return `<g ${id}${turn}><polygon points="${pts.join(' ')}" fill="${fill}" stroke="${s.color}" stroke-width="2.5"/></g>`;
    }
    case 'pen':
      return `<g ${id}${turn}><path d="${smoothPath(penPoints(s))}" fill="none" stroke="${s.color}" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/></g>`;
    case 'note': {
      const lines = measure === null ? s.text.split('\n') : wrapText(measure, s.text, s.w - 2 * NOTE_PAD.x);
      const text = lines
        .map((line, i) => `<tspan x="${n(s.x + NOTE_PAD.x)}" y="${n(s.y + NOTE_PAD.y + 16 + i * NOTE_LINE)}">${esc(line)}</tspan>`)
        .join('');
      return `<g ${id}${turn}><rect ${frame} rx="3" fill="${tint(s.color, 0.62)}" stroke="${tint(s.color, 0.35)}"/><text font-family="system-ui, sans-serif" font-size="16" fill="#2b2b2b">${text}</text></g>`;
    }
    case 'line':
    case 'arrow':
      return '';
  }
}

/** A PNG of the whole board on white, at `scale` (made smaller if it would exceed 8,192 px a side). */
export async function toPng(shapes: readonly Shape[], lookup: Lookup, scale = 2): Promise<Blob> {
  const box = contentBox(shapes, lookup);
  const k = Math.min(scale, 8192 / box.w, 8192 / box.h);
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.ceil(box.w * k));
  canvas.height = Math.max(1, Math.ceil(box.h * k));
  const ctx = canvas.getContext('2d');
  if (ctx === null) throw new Error('canvas: no 2D context for the PNG');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.setTransform(k, 0, 0, k, -box.x * k, -box.y * k);
  for (const shape of [...shapes].sort(byZ)) paintShape(ctx, shape, lookup);
  return new Promise((resolve, reject) => canvas.toBlob((blob) => (blob === null ? reject(new Error('canvas: PNG encoding failed')) : resolve(blob)), 'image/png'));
}

/** Save a file (a download). */
export function download(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A file name from the board's title. */
export function fileName(title: string, ext: string): string {
  const base = title.replace(/[^\p{L}\p{N}._ -]+/gu, '').trim().replace(/\s+/g, '-').slice(0, 60) || 'board';
  return `${base}.${ext}`;
}
