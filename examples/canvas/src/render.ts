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
  /** Changes whenever anything painted changes (not when only the camera moves). */
  readonly version: number;
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
/** Reuse a full paint for camera-only frames when it drew more shapes than this. */
const REUSE_ABOVE = 400;

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
  #dot: CanvasPattern | null | undefined;
  #offscreen: HTMLCanvasElement | undefined;
  /** The last full paint: its pixels, camera and content version. */
  #snapshot:
    | { canvas: HTMLCanvasElement; camera: Camera; version: number; at: number; complete: boolean; costly: boolean }
    | undefined;
  #settleTimer: ReturnType<typeof setTimeout> | undefined;
  /** The camera rested after reused frames: the next paint is a full one. */
  #settled = false;
  /** Asks for a paint (set by the editor): the reused bitmap should be painted sharp. */
  onStale: () => void = () => undefined;
  /** The shapes painted by the last frame. */
  drawn: Drawn[] = [];
  /** Milliseconds spent painting, per painted frame (the last 600), and how many paints there were in all. */
  readonly paintMs: number[] = [];
  paints = 0;

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

  /**
   * Paint the board. With many shapes in view, a frame where only the camera moved reuses
   * the last full paint (one scaled bitmap copy) and the shapes are painted again, sharp,
   * once the camera rests ~120 ms — or at once when the copy would miss shapes that are
   * now in view, or would be scaled too far.
   */
  paint(scene: Scene): void {
    const started = performance.now();
    const cam = scene.camera;
    this.#camera = cam;
    const canvas = this.#canvas;
    const dpr = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    const pw = Math.round(width * dpr);
    const ph = Math.round(height * dpr);
    if (canvas.width !== pw || canvas.height !== ph) {
      canvas.width = pw;
      canvas.height = ph;
    }
    const view = visibleBox(cam, width, height);
    const snap = this.#snapshot;
    const reuse =
      snap !== undefined &&
      snap.version === scene.version &&
      snap.canvas.width === pw &&
      snap.canvas.height === ph &&
      snap.costly &&
      !this.#settled &&
      cam.zoom / snap.camera.zoom <= 1.6 &&
      cam.zoom / snap.camera.zoom >= 0.4 &&
      (snap.complete || started - snap.at < 150);
    const ctx = this.#ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, pw, ph);
    this.#grid(cam, dpr, width, height);
    if (reuse) {
      // Where the snapshot's pixels are under the current camera.
      const s = cam.zoom / snap.camera.zoom;
      ctx.setTransform(s, 0, 0, s, (snap.camera.x - cam.x) * cam.zoom * dpr, (snap.camera.y - cam.y) * cam.zoom * dpr);
      ctx.drawImage(snap.canvas, 0, 0);
      this.#settleSoon();
    } else {
      this.#settled = false;
      const layer = this.#layer(pw, ph);
      const lctx = layer.getContext('2d') as CanvasRenderingContext2D;
      lctx.setTransform(1, 0, 0, 1, 0, 0);
      lctx.clearRect(0, 0, pw, ph);
      const k = dpr * cam.zoom;
      lctx.setTransform(k, 0, 0, k, -cam.x * k, -cam.y * k);
      const padded = pad(view, 20 / cam.zoom);
      const drawn: Drawn[] = [];
      let complete = true;
      for (const shape of scene.ordered) {
        const box = shapeBox(shape, scene.lookup);
        if (!intersects(box, padded)) {
          complete = false;
          continue;
        }
        paintShape(lctx, scene.editing === shape.id ? { ...shape, text: ' ' } : shape, scene.lookup, cam.zoom);
        drawn.push({ id: shape.id, kind: shape.kind, x: shape.x, y: shape.y, w: shape.w, h: shape.h });
      }
      this.drawn = drawn;
      ctx.drawImage(layer, 0, 0);
      this.#snapshot = { canvas: layer, camera: cam, version: scene.version, at: started, complete, costly: drawn.length > REUSE_ABOVE };
    }
    this.paints++;
    this.paintMs.push(performance.now() - started);
    if (this.paintMs.length > 600) this.paintMs.shift();
  }

  /** The offscreen layer the shapes are painted on (kept, and reused as the snapshot). */
  #layer(width: number, height: number): HTMLCanvasElement {
    const layer = (this.#offscreen ??= document.createElement('canvas'));
    if (layer.width !== width || layer.height !== height) {
      layer.width = width;
      layer.height = height;
    }
    return layer;
  }

  /** Paint sharp again once the camera has rested. */
  #settleSoon(): void {
    if (this.#settleTimer !== undefined) clearTimeout(this.#settleTimer);
    this.#settleTimer = setTimeout(() => {
      this.#settleTimer = undefined;
      this.#settled = true;
      this.onStale();
    }, 120);
  }

  /** The dot grid: one pattern fill that moves and scales with the board (none when zoomed far out). */
  #grid(cam: Camera, dpr: number, width: number, height: number): void {
    if (cam.zoom < 0.35) return;
    const ctx = this.#ctx;
    this.#dot ??= ((): CanvasPattern | null => {
      const tile = document.createElement('canvas');
      tile.width = 22;
      tile.height = 22;
      const t = tile.getContext('2d');
      if (t === null) return null;
      t.fillStyle = '#d3d7de';
      t.beginPath();
      t.arc(1, 1, 1, 0, Math.PI * 2);
      t.fill();
      return ctx.createPattern(tile, 'repeat');
    })();
    if (this.#dot === null) return;
    const k = dpr * cam.zoom;
    this.#dot.setTransform(new DOMMatrix([k, 0, 0, k, -cam.x * k - k, -cam.y * k - k]));
    ctx.fillStyle = this.#dot;
    ctx.fillRect(0, 0, width * dpr, height * dpr);
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
