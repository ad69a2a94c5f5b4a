import type { Shape } from './board';
import { arrowHead, bounds, handlesOf, isLinear, penPoints, tint, type Box, type Point } from './geometry';

const SVG_NS = 'http://www.w3.org/2000/svg';
const HTML_NS = 'http://www.w3.org/1999/xhtml';

type Attrs = Readonly<Record<string, string | number>>;

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attrs = {}, children: readonly Element[] = []): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  el.append(...children);
  return el;
}

/** Someone else's presence, ready to draw. */
export interface RemotePeer {
  readonly clientId: number;
  readonly name: string;
  readonly color: string;
  readonly cursor: Point | null;
  readonly selected: readonly Shape[];
}

/**
 * Draws the board into one SVG with four layers (shapes, others' selections, the own
 * selection, others' cursors). Shapes are keyed by id: only shapes that changed are redrawn,
 * and the DOM order follows the z order.
 */
export class Renderer {
  readonly #shapes = svg('g', { class: 'shapes' });
  readonly #remote = svg('g', { class: 'remote-selections' });
  readonly #selection = svg('g', { class: 'selection' });
  readonly #cursors = svg('g', { class: 'cursors' });
  readonly #elements = new Map<string, SVGGElement>();
  readonly #cursorElements = new Map<number, SVGGElement>();

  constructor(readonly root: SVGSVGElement) {
    root.append(this.#shapes, this.#remote, this.#selection, this.#cursors);
  }

  /** Redraw `changed` shapes, drop `removed` ones, and restack everything as `order` says. */
  update(changed: Iterable<Shape>, removed: Iterable<string>, order: readonly string[]): void {
    for (const id of removed) {
      this.#elements.get(id)?.remove();
      this.#elements.delete(id);
    }
    for (const shape of changed) {
      let g = this.#elements.get(shape.id);
      if (g === undefined) {
        g = svg('g', { class: 'shape', 'data-id': shape.id });
        this.#elements.set(shape.id, g);
        this.#shapes.append(g);
      }
      g.setAttribute('data-kind', shape.kind);
      g.replaceChildren(...drawShape(shape));
    }
    const current = this.#shapes.children;
    let inOrder = current.length === order.length;
    for (let i = 0; inOrder && i < order.length; i++) inOrder = current[i]?.getAttribute('data-id') === order[i];
    if (!inOrder) {
      for (const id of order) {
        const g = this.#elements.get(id);
        if (g !== undefined) this.#shapes.append(g);
      }
    }
  }

  /** The own selection: a dashed box and its handles. */
  selection(shape: Shape | undefined): void {
    if (shape === undefined) {
      this.#selection.replaceChildren();
      return;
    }
    const box = pad(bounds(shape), 6);
    const parts: Element[] = [];
    if (!isLinear(shape)) parts.push(svg('rect', { class: 'selection-box', ...boxAttrs(box) }));
    for (const { handle, at } of handlesOf(shape)) {
      parts.push(
        isLinear(shape)
          ? svg('circle', { class: 'handle', 'data-handle': handle, cx: at.x, cy: at.y, r: 6 })
          : svg('rect', { class: 'handle', 'data-handle': handle, x: at.x - 5, y: at.y - 5, width: 10, height: 10, rx: 2 }),
      );
    }
    this.#selection.replaceChildren(...parts);
  }

  /** Others: their selections outlined in their colour, their cursors with their names. */
  peers(peers: readonly RemotePeer[]): void {
    const outlines: Element[] = [];
    for (const peer of peers) {
      for (const shape of peer.selected) {
        const box = pad(bounds(shape), 9);
        outlines.push(
          svg('rect', { class: 'remote-selection', 'data-peer': peer.clientId, stroke: peer.color, ...boxAttrs(box) }),
          label(peer.name, peer.color, { x: box.x, y: box.y - 20 }, 'remote-selection-label'),
        );
      }
    }
    this.#remote.replaceChildren(...outlines);

    const seen = new Set<number>();
    for (const peer of peers) {
      if (peer.cursor === null) continue;
      seen.add(peer.clientId);
      let g = this.#cursorElements.get(peer.clientId);
      const key = `${peer.name}\u0000${peer.color}`;
      if (g === undefined || g.dataset.key !== key) {
        g?.remove();
        g = svg('g', { class: 'cursor', 'data-cursor': peer.clientId, 'data-name': peer.name }, [
          svg('path', { d: 'M0 0 L0 17 L4.6 12.6 L8 20 L11 18.7 L7.7 11.5 L14 11.5 Z', fill: peer.color, stroke: '#fff', 'stroke-width': 1.5, 'stroke-linejoin': 'round' }),
        ]);
        g.dataset.key = key;
        this.#cursorElements.set(peer.clientId, g);
        this.#cursors.append(g);
        g.append(label(peer.name, peer.color, { x: 12, y: 20 }, 'cursor-label'));
      }
      g.style.transform = `translate(${peer.cursor.x}px, ${peer.cursor.y}px)`;
    }
    for (const [id, g] of this.#cursorElements) {
      if (!seen.has(id)) {
        g.remove();
        this.#cursorElements.delete(id);
      }
    }
  }
}

function drawShape(shape: Shape): Element[] {
  const stroke = shape.color;
  switch (shape.kind) {
    case 'rect':
      return [svg('rect', { ...boxAttrs(shape), rx: 6, fill: tint(stroke, 0.86), stroke, 'stroke-width': 2.5 })];
    case 'ellipse':
      return [
        svg('ellipse', {
          cx: shape.x + shape.w / 2,
          cy: shape.y + shape.h / 2,
          rx: shape.w / 2,
          ry: shape.h / 2,
          fill: tint(stroke, 0.86),
          stroke,
          'stroke-width': 2.5,
        }),
      ];
    case 'line':
    case 'arrow': {
      const a = { x: shape.x, y: shape.y };
      const b = { x: shape.x + shape.w, y: shape.y + shape.h };
      const line = { x1: a.x, y1: a.y, x2: b.x, y2: b.y };
      const parts: Element[] = [
        svg('line', { ...line, class: 'hit', 'stroke-width': 16 }),
        svg('line', { ...line, stroke, 'stroke-width': 2.5, 'stroke-linecap': 'round' }),
      ];
      if (shape.kind === 'arrow' && (shape.w !== 0 || shape.h !== 0)) {
        parts.push(svg('polygon', { points: arrowHead(a, b).map((p) => `${p.x},${p.y}`).join(' '), fill: stroke, stroke, 'stroke-width': 1.5, 'stroke-linejoin': 'round' }));
      }
      return parts;
    }
    case 'pen': {
      const d = smoothPath(penPoints(shape));
      return [
        svg('path', { d, class: 'hit', 'stroke-width': 16, fill: 'none' }),
        svg('path', { d, fill: 'none', stroke, 'stroke-width': 3, 'stroke-linecap': 'round', 'stroke-linejoin': 'round' }),
      ];
    }
    case 'note': {
      const body = document.createElementNS(HTML_NS, 'div');
      body.className = shape.text === '' ? 'note-text empty' : 'note-text';
      body.textContent = shape.text === '' ? 'Double-click to write' : shape.text;
      const text = svg('foreignObject', { ...boxAttrs(shape) });
      text.append(body);
      return [svg('rect', { ...boxAttrs(shape), class: 'note', rx: 3, fill: tint(stroke, 0.62), stroke: tint(stroke, 0.35), 'stroke-width': 1 }), text];
    }
  }
}

/** A polyline through the points, smoothed with quadratic curves through the midpoints. */
function smoothPath(points: readonly Point[]): string {
  const first = points[0];
  if (first === undefined) return '';
  if (points.length < 3) return `M${first.x} ${first.y} ${points.map((p) => `L${p.x} ${p.y}`).join(' ')}${points.length === 1 ? ' l0.1 0' : ''}`;
  let d = `M${first.x} ${first.y}`;
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i] as Point;
    const q = points[i + 1] as Point;
    d += ` Q${p.x} ${p.y} ${(p.x + q.x) / 2} ${(p.y + q.y) / 2}`;
  }
  const last = points[points.length - 1] as Point;
  return `${d} L${last.x} ${last.y}`;
}

function label(text: string, color: string, at: Point, className: string): SVGGElement {
  const width = Math.max(24, Math.round(text.length * 7.4 + 14));
  return svg('g', { class: className, transform: `translate(${at.x} ${at.y})` }, [
    svg('rect', { width, height: 20, rx: 6, fill: color }),
    Object.assign(svg('text', { x: 7, y: 14.5, fill: '#fff' }), { textContent: text }),
  ]);
}

function boxAttrs(box: Box): Attrs {
  return { x: box.x, y: box.y, width: Math.max(0, box.w), height: Math.max(0, box.h) };
}

function pad(box: Box, by: number): Box {
  return { x: box.x - by, y: box.y - by, w: box.w + 2 * by, h: box.h + 2 * by };
}
