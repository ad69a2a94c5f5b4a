import type { Shape } from './board';
import { toScreen, visibleBox, type Camera } from './camera';
import { bounds, corners, intersects, isLinear, lineEnds, pad, type Box, type Frame, type Handle, type Lookup, type Point } from './geometry';
import { paintShape } from './paint';

const SVG_NS = 'http://www.w3.org/2000/svg';

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
  /** Board coordinates. */
  readonly cursor: Point | null;
  readonly selected: readonly Shape[];
}

/** What the board shows this frame. */
export interface Scene {
  readonly camera: Camera;
  /** Every shape, back to front. */
  readonly ordered: readonly Shape[];
  readonly lookup: Lookup;
  /** A note whose text is being typed in the text box above it (its text is not painted). */
  readonly editing?: string | undefined;
}

/** The own selection: each shape's outline, and the frame with its handles. */
export interface SelectionView {
  readonly shapes: readonly Shape[];
  readonly frame: Frame | undefined;
  readonly handles: ReadonlyArray<{ handle: Handle; at: Point }>;
}

/** A drawn shape as the test hooks report it (board coordinates). */
export interface Drawn {
  readonly id: string;
  readonly kind: string;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

const boxCache = new WeakMap<Shape, Box>();

/**
 * Draws the board: every shape on one 2D <canvas> (only those in view: 2,000 shapes cost
 * what the visible ones cost), and the few live things on top in an SVG overlay in screen
 * coordinates — the own selection with its handles, the marquee, others' selections and
 * cursors. The overlay is the element pointer events land on.
 */
export class Renderer {
  readonly #canvas: HTMLCanvasElement;
  readonly #ctx: CanvasRenderingContext2D;
  readonly #overlay: SVGSVGElement;
  readonly #remote = svg('g', { class: 'remote-selections' });
  readonly #selection = svg('g', { class: 'selection' });
  readonly #marquee = svg('rect', { class: 'marquee', visibility: 'hidden' });
  readonly #cursors = svg('g', { class: 'cursors' });
  readonly #cursorElements = new Map<number, SVGGElement>();
  #camera: Camera = { x: 0, y: 0, zoom: 1 };
  /** The shapes painted by the last frame. */
  drawn: Drawn[] = [];
  /** Milliseconds spent painting shapes, per frame (the last 600 frames). */
  readonly paintMs: number[] = [];

  constructor(canvas: HTMLCanvasElement, overlay: SVGSVGElement) {
    this.#canvas = canvas;
    const ctx = canvas.getContext('2d', { alpha: true });
    if (ctx === null) throw new Error('canvas: no 2D context');
    this.#ctx = ctx;
    this.#overlay = overlay;
    overlay.append(this.#remote, this.#selection, this.#marquee, this.#cursors);
  }

  get camera(): Camera {
    return this.#camera;
  }

  /** Paint the shapes in view. */
  paint(scene: Scene): void {
    const started = performance.now();
    const cam = scene.camera;
    this.#camera = cam;
    const canvas = this.#canvas;
    const dpr = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
    }
    const ctx = this.#ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const k = dpr * cam.zoom;
    ctx.setTransform(k, 0, 0, k, -cam.x * k, -cam.y * k);
    const view = pad(visibleBox(cam, width, height), 20 / cam.zoom);
    const drawn: Drawn[] = [];
    for (const shape of scene.ordered) {
      const box = shapeBox(shape, scene.lookup);
      if (!intersects(box, view)) continue;
      paintShape(ctx, scene.editing === shape.id ? { ...shape, text: ' ' } : shape, scene.lookup);
      drawn.push({ id: shape.id, kind: shape.kind, x: shape.x, y: shape.y, w: shape.w, h: shape.h });
    }
    this.drawn = drawn;
    // The dot grid moves and scales with the board (hidden when zoomed far out).
    const grid = 22 * cam.zoom;
    canvas.style.backgroundSize = cam.zoom < 0.35 ? '0 0' : `${grid}px ${grid}px`;
    canvas.style.backgroundPosition = `${-cam.x * cam.zoom}px ${-cam.y * cam.zoom}px`;
    this.paintMs.push(performance.now() - started);
    if (this.paintMs.length > 600) this.paintMs.shift();
  }

  #screen(p: Point): Point {
    return toScreen(this.#camera, p);
  }

  #outline(shape: Shape, lookup: Lookup, by: number): string {
    if (isLinear(shape)) {
      const [a, b] = lineEnds(shape, lookup);
      return [a, b].map((p) => this.#screen(p)).map((p) => `${p.x},${p.y}`).join(' ');
    }
    return corners(shape)
      .map((p) => this.#screen(p))
      .map((p, i) => {
        // Push each corner outwards by `by` screen pixels (along the box's own diagonals).
        const dx = i === 0 || i === 3 ? -1 : 1;
        const dy = i < 2 ? -1 : 1;
        const cos = Math.cos(shape.r);
        const sin = Math.sin(shape.r);
        return `${p.x + (dx * cos - dy * sin) * by},${p.y + (dx * sin + dy * cos) * by}`;
      })
      .join(' ');
  }

  /** The own selection: outlines, the frame and its handles (screen-sized, whatever the zoom). */
  selection(view: SelectionView, lookup: Lookup): void {
    const parts: Element[] = [];
    if (view.shapes.length > 1) {
      for (const shape of view.shapes) parts.push(svg('polygon', { class: 'selected-outline', points: this.#outline(shape, lookup, 2) }));
    }
    const frame = view.frame;
    if (frame !== undefined && !(view.shapes.length === 1 && isLinear(view.shapes[0] as Shape))) {
      const pts = corners(frame).map((p) => this.#screen(p));
      parts.push(svg('polygon', { class: 'selection-box', points: pts.map((p) => `${p.x},${p.y}`).join(' ') }));
    }
    for (const { handle, at } of view.handles) {
      const p = this.#screen(at);
      if (handle === 'rotate') {
        const top = view.handles.find((h) => h.handle === 'nw');
        const top2 = view.handles.find((h) => h.handle === 'ne');
        if (top !== undefined && top2 !== undefined) {
          const mid = this.#screen({ x: (top.at.x + top2.at.x) / 2, y: (top.at.y + top2.at.y) / 2 });
          parts.push(svg('line', { class: 'rotate-stem', x1: mid.x, y1: mid.y, x2: p.x, y2: p.y }));
        }
        parts.push(svg('circle', { class: 'handle rotate', 'data-handle': handle, cx: p.x, cy: p.y, r: 6 }));
      } else if (handle === 'start' || handle === 'end') {
        parts.push(svg('circle', { class: 'handle', 'data-handle': handle, cx: p.x, cy: p.y, r: 6 }));
      } else {
        parts.push(svg('rect', { class: 'handle', 'data-handle': handle, x: p.x - 5, y: p.y - 5, width: 10, height: 10, rx: 2, transform: `rotate(${((frame?.r ?? 0) * 180) / Math.PI} ${p.x} ${p.y})` }));
      }
    }
    this.#selection.replaceChildren(...parts);
  }

  /** The marquee being dragged (board coordinates), or none. */
  marquee(box: Box | undefined): void {
    if (box === undefined) {
      this.#marquee.setAttribute('visibility', 'hidden');
      return;
    }
    const a = this.#screen(box);
    const z = this.#camera.zoom;
    for (const [k, v] of Object.entries({ x: a.x, y: a.y, width: box.w * z, height: box.h * z, visibility: 'visible' })) this.#marquee.setAttribute(k, String(v));
  }

  /** Others: their selections outlined in their colour, their cursors with their names. */
  peers(peers: readonly RemotePeer[], lookup: Lookup): void {
    const outlines: Element[] = [];
    for (const peer of peers) {
      for (const shape of peer.selected) {
        const box = bounds(shape, lookup);
        const top = this.#screen({ x: box.x, y: box.y });
        outlines.push(
          svg('polygon', { class: 'remote-selection', 'data-peer': peer.clientId, stroke: peer.color, points: this.#outline(shape, lookup, 7) }),
          label(peer.name, peer.color, { x: top.x - 7, y: top.y - 28 }, 'remote-selection-label'),
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
      const at = this.#screen(peer.cursor);
      const transform = `translate(${Math.round(at.x * 10) / 10}px, ${Math.round(at.y * 10) / 10}px)`;
      if (g.style.transform !== transform) g.style.transform = transform;
    }
    for (const [id, g] of this.#cursorElements) {
      if (!seen.has(id)) {
        g.remove();
        this.#cursorElements.delete(id);
      }
    }
  }

  /** The overlay element (where pointer events land). */
  get overlay(): SVGSVGElement {
    return this.#overlay;
  }
}

/** A shape's bounds, cached per snapshot for boxes (a line's ends depend on other shapes). */
export function shapeBox(shape: Shape, lookup: Lookup): Box {
  if (isLinear(shape)) return bounds(shape, lookup);
  let box = boxCache.get(shape);
  if (box === undefined) {
    box = pad(bounds(shape, lookup), shape.kind === 'note' ? 6 : 2);
    boxCache.set(shape, box);
  }
  return box;
}

function label(text: string, color: string, at: Point, className: string): SVGGElement {
  const width = Math.max(24, Math.round(text.length * 7.4 + 14));
  return svg('g', { class: className, transform: `translate(${at.x} ${at.y})` }, [
    svg('rect', { width, height: 20, rx: 6, fill: color }),
    Object.assign(svg('text', { x: 7, y: 14.5, fill: '#fff' }), { textContent: text }),
  ]);
}
