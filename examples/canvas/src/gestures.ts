import { appendPoints, patchShape, readShape, type Shape, type ShapeKind } from './board';
import { panBy, toBoard, type Camera } from './camera';
import { bounds, boxFrom, intersects, isLinear, selectionFrame, type Box, type Frame, type Handle, type Point } from './geometry';
import type { Editor, FrameStep } from './editor';
import type { Presence } from './presence';
import { moved, resized, rotated, turnAngle } from './transform';

/** What one pointer gesture does on every animation frame it is active. */
type Gesture =
  | { readonly kind: 'move'; readonly orig: Shape[]; readonly from: Point; changed: boolean }
  | { readonly kind: 'resize'; readonly orig: Shape[]; readonly frame: Frame; readonly handle: Handle; changed: boolean }
  | { readonly kind: 'rotate'; readonly orig: Shape[]; readonly frame: Frame; readonly from: Point; changed: boolean }
  | { readonly kind: 'create'; readonly id: string; readonly shape: ShapeKind; readonly from: Point; changed: boolean }
  | { readonly kind: 'pen'; readonly id: string; readonly box: { minX: number; minY: number; maxX: number; maxY: number }; changed: boolean }
  | { readonly kind: 'marquee'; readonly from: Point; readonly base: readonly string[]; changed: boolean }
  | { readonly kind: 'pan'; readonly from: Point; readonly camera: Camera; changed: boolean };

const DEFAULT_SIZE: Readonly<Record<ShapeKind, Point>> = {
  rect: { x: 160, y: 100 },
  ellipse: { x: 140, y: 100 },
  diamond: { x: 140, y: 110 },
  note: { x: 180, y: 150 },
  line: { x: 160, y: 0 },
  arrow: { x: 160, y: 0 },
  pen: { x: 0, y: 0 },
};

const INK = '#1e1e1e';
const NOTE_YELLOW = '#e8b600';

/**
 * Pointer gestures on the board: draw, select (click, Shift+click, marquee), move, resize,
 * rotate, pan (hand tool, Space+drag, middle button). Pointer moves only record the latest
 * position; the editor's animation frame applies it as one transaction, so a drag sends at
 * most one update per frame however many events the pointer fires.
 */
export class Gestures implements FrameStep {
  readonly #editor: Editor;
  readonly #surface: SVGSVGElement;
  #gesture: Gesture | undefined;
  /** Latest pointer position: board and screen coordinates. */
  #latest: Point | undefined;
  #latestScreen: Point | undefined;
  #shift = false;
  #moved = false;
  #penPoints: number[] = [];
  #space = false;
  #pointerId: number | undefined;

  constructor(editor: Editor, surface: SVGSVGElement, presence: Presence) {
    this.#editor = editor;
    this.#surface = surface;
    surface.addEventListener('pointerdown', (e) => this.#down(e));
    surface.addEventListener('pointermove', (e) => this.#move(e));
    surface.addEventListener('pointerup', (e) => this.#up(e));
    surface.addEventListener('pointercancel', (e) => this.#up(e));
    surface.addEventListener('dblclick', (e) => {
      const shape = this.#editor.shapeAt(this.#board(e));
      if (shape?.kind === 'note') this.#editor.openNote(shape.id);
    });
    // Others see the cursor wherever it is on the page (board coordinates); it disappears when it leaves.
    window.addEventListener('pointermove', (e) => presence.cursor(this.#board(e)));
    document.addEventListener('mouseout', (e) => {
      if (e.relatedTarget === null) presence.cursor(null);
    });
    window.addEventListener('keydown', (e) => {
      if (e.key === ' ' && !(e.target instanceof HTMLTextAreaElement || e.target instanceof HTMLInputElement)) {
        this.#space = true;
        surface.dataset.panning = 'true';
        e.preventDefault();
      }
    });
    window.addEventListener('keyup', (e) => {
      if (e.key === ' ') {
        this.#space = false;
        delete surface.dataset.panning;
      }
    });
  }

  get active(): boolean {
    return this.#gesture !== undefined;
  }

  get pending(): boolean {
    return this.#moved;
  }

  /** The marquee being dragged, in board coordinates. */
  get marquee(): Box | undefined {
    const g = this.#gesture;
    return g?.kind === 'marquee' && this.#latest !== undefined ? boxFrom(g.from, this.#latest) : undefined;
  }

  /** Drop the gesture under way (a second finger came down: that is a pinch now). */
  cancel(): void {
    if (this.#gesture === undefined) return;
    if (this.#moved) this.step();
    const changed = this.#gesture.changed && this.#gesture.kind !== 'pan';
    this.#gesture = undefined;
    if (this.#pointerId !== undefined && this.#surface.hasPointerCapture(this.#pointerId)) this.#surface.releasePointerCapture(this.#pointerId);
    if (changed) this.#editor.localChange();
    this.#editor.schedule();
  }

  #screen(e: { clientX: number; clientY: number }): Point {
    const r = this.#surface.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  }

  #board(e: { clientX: number; clientY: number }): Point {
    return toBoard(this.#editor.camera, this.#screen(e));
  }

  #down(e: PointerEvent): void {
    if (this.#gesture !== undefined) return;
    const editor = this.#editor;
    const p = this.#board(e);
    this.#latest = p;
    this.#latestScreen = this.#screen(e);
    this.#shift = e.shiftKey;
    this.#moved = false;
    if (e.button === 1 || (e.button === 0 && (this.#space || editor.tool === 'hand'))) {
      this.#begin({ kind: 'pan', from: this.#screen(e), camera: editor.camera, changed: false }, e);
      return;
    }
    if (e.button !== 0 || editor.readOnly) return;
    editor.closeNote();
    const tool = editor.tool;
    if (tool === 'select' || tool === 'hand') {
      const handle = (e.target as Element | null)?.closest('[data-handle]')?.getAttribute('data-handle') as Handle | null | undefined;
      const selection = editor.selection;
      const frame = selectionFrame(selection, editor.lookup);
      if (typeof handle === 'string' && frame !== undefined) {
        editor.undoManager.stopCapturing();
        if (handle === 'rotate') this.#begin({ kind: 'rotate', orig: selection, frame, from: p, changed: false }, e);
        else this.#begin({ kind: 'resize', orig: selection, frame, handle, changed: false }, e);
        return;
      }
      const shape = editor.shapeAt(p);
      if (shape === undefined) {
        const base = e.shiftKey ? editor.selectedIds : [];
        editor.select(base);
        this.#begin({ kind: 'marquee', from: p, base, changed: false }, e);
        return;
      }
      const ids = editor.selectedIds;
      if (e.shiftKey) editor.select(ids.includes(shape.id) ? ids.filter((id) => id !== shape.id) : [...ids, shape.id]);
      else if (!ids.includes(shape.id)) editor.select([shape.id]);
      const orig = editor.selection;
      if (orig.some((s) => s.id === shape.id)) {
        editor.undoManager.stopCapturing();
        this.#begin({ kind: 'move', orig, from: p, changed: false }, e);
      }
      return;
    }
    let id = '';
    if (tool === 'pen') {
      editor.change(() => {
        id = editor.insertOne({ kind: 'pen', x: p.x, y: p.y, w: 0, h: 0, color: editor.color, points: [p.x, p.y] });
      }, true);
      this.#penPoints = [];
      this.#begin({ kind: 'pen', id, box: { minX: p.x, minY: p.y, maxX: p.x, maxY: p.y }, changed: true }, e);
      return;
    }
    // Ink notes would be grey: a note in ink is a yellow note.
    const color = tool === 'note' && editor.color === INK ? NOTE_YELLOW : editor.color;
    editor.change(() => {
      id = editor.insertOne({ kind: tool, x: p.x, y: p.y, w: 0, h: 0, color });
    }, true);
    editor.select([id]);
    this.#begin({ kind: 'create', id, shape: tool, from: p, changed: true }, e);
  }

  #begin(gesture: Gesture, e: PointerEvent): void {
    this.#gesture = gesture;
    this.#pointerId = e.pointerId;
    this.#surface.setPointerCapture(e.pointerId);
  }

  #move(e: PointerEvent): void {
    this.#editor.stats.pointerMoves++;
    const gesture = this.#gesture;
    if (gesture === undefined) return;
    this.#latest = this.#board(e);
    this.#latestScreen = this.#screen(e);
    this.#shift = e.shiftKey;
    this.#moved = true;
    if (gesture.kind === 'pen') {
      const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
      for (const c of events.length > 0 ? events : [e]) {
        const p = this.#board(c);
        this.#penPoints.push(p.x, p.y);
      }
    }
    this.#editor.schedule();
  }

  #up(e: PointerEvent): void {
    const gesture = this.#gesture;
    if (gesture === undefined) return;
    const editor = this.#editor;
    if (e.type === 'pointerup') {
      const p = this.#board(e);
      if (p.x !== this.#latest?.x || p.y !== this.#latest.y) this.#moved = true;
      this.#latest = p;
      this.#latestScreen = this.#screen(e);
    }
    if (this.#moved) this.step();
    this.#gesture = undefined;
    if (this.#surface.hasPointerCapture(e.pointerId)) this.#surface.releasePointerCapture(e.pointerId);
    const end = this.#latest;
    if (gesture.kind === 'create') {
      const shape = readShape(gesture.id, editor.shapesMap.get(gesture.id));
      // A click without a drag makes a shape of the default size.
      if (shape !== undefined && Math.abs(shape.w) < 4 && Math.abs(shape.h) < 4) {
        const size = DEFAULT_SIZE[gesture.shape];
        editor.change(() => patchShape(editor.shapesMap, gesture.id, { w: size.x, h: size.y }), false);
      } else if (shape !== undefined && isLinear(shape) && end !== undefined) {
        this.#attach(shape, gesture.from, end);
      }
      editor.tool = 'select';
      editor.select([gesture.id]);
      if (gesture.shape === 'note') editor.openNote(gesture.id);
    } else if (gesture.kind === 'resize' && (gesture.handle === 'start' || gesture.handle === 'end') && end !== undefined) {
      const shape = editor.get(gesture.orig[0]?.id ?? '');
      if (shape !== undefined) this.#attach(shape, gesture.handle === 'start' ? end : undefined, gesture.handle === 'end' ? end : undefined);
    }
    if (gesture.changed && gesture.kind !== 'pan' && gesture.kind !== 'marquee') editor.localChange();
    editor.schedule();
  }

  /** Attach a line's ends to the shapes they were dropped on (never to lines, never to itself). */
  #attach(line: Shape, start: Point | undefined, end: Point | undefined): void {
    const editor = this.#editor;
    const target = (p: Point | undefined): string | undefined =>
      p === undefined ? undefined : editor.shapeAt(p, 4, (s) => s.id === line.id || isLinear(s))?.id;
    const from = target(start);
    const to = target(end);
    const patch = { ...(from !== undefined && from !== to ? { from } : {}), ...(to !== undefined && to !== from ? { to } : {}) };
    if (Object.keys(patch).length > 0) editor.change(() => patchShape(editor.shapesMap, line.id, patch), false);
  }

  /** Apply the latest pointer position of the active gesture: one transaction. */
  step(): void {
    const gesture = this.#gesture;
    const to = this.#latest;
    const editor = this.#editor;
    if (gesture === undefined || to === undefined) return;
    this.#moved = false;
    editor.stats.steps++;
    switch (gesture.kind) {
      case 'move':
        editor.patch(moved(gesture.orig, to.x - gesture.from.x, to.y - gesture.from.y, editor.lookup));
        break;
      case 'resize':
        editor.patch(resized(gesture.orig, gesture.frame, gesture.handle, to, editor.lookup));
        break;
      case 'rotate':
        editor.patch(rotated(gesture.orig, gesture.frame, turnAngle(gesture.frame, gesture.from, to, this.#shift)));
        break;
      case 'create': {
        const patch =
          gesture.shape === 'line' || gesture.shape === 'arrow' ? { w: to.x - gesture.from.x, h: to.y - gesture.from.y } : boxFrom(gesture.from, to);
        editor.change(() => patchShape(editor.shapesMap, gesture.id, patch), false);
        break;
      }
      case 'pen': {
        const points = this.#penPoints;
        if (points.length === 0) return;
        this.#penPoints = [];
        const box = gesture.box;
        for (let i = 0; i + 1 < points.length; i += 2) {
          box.minX = Math.min(box.minX, points[i] ?? 0);
          box.minY = Math.min(box.minY, points[i + 1] ?? 0);
          box.maxX = Math.max(box.maxX, points[i] ?? 0);
          box.maxY = Math.max(box.maxY, points[i + 1] ?? 0);
        }
        const id = gesture.id;
        editor.change(() => {
          appendPoints(editor.shapesMap, id, points);
          patchShape(editor.shapesMap, id, { x: box.minX, y: box.minY, w: box.maxX - box.minX, h: box.maxY - box.minY });
        }, false);
        return;
      }
      case 'marquee': {
        const area = boxFrom(gesture.from, to);
        const inside = editor.shapes().filter((s) => intersects(bounds(s, editor.lookup), area)).map((s) => s.id);
        editor.select([...gesture.base, ...inside]);
        return;
      }
      case 'pan': {
        const at = this.#latestScreen ?? gesture.from;
        editor.camera = panBy(gesture.camera, at.x - gesture.from.x, at.y - gesture.from.y);
        return;
      }
    }
    gesture.changed = true;
  }
}
