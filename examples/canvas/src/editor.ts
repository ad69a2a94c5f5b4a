import * as Y from 'yjs';
import { addShape, appendPoints, bottomZ, byZ, patchShape, readShape, shapesOf, topZ, type Shape, type ShapeKind, type ShapeMap, type ShapePatch } from './board';
import { boxFrom, resized, type Handle, type Point } from './geometry';
import type { Presence } from './presence';
import type { RemotePeer, Renderer } from './render';

export type Tool = 'select' | ShapeKind;

/** What one pointer gesture does on every animation frame it is active. */
type Gesture =
  | { readonly kind: 'move'; readonly id: string; readonly from: Point; readonly orig: Shape; changed: boolean }
  | { readonly kind: 'resize'; readonly id: string; readonly handle: Handle; readonly orig: Shape; changed: boolean }
  | { readonly kind: 'create'; readonly id: string; readonly shape: ShapeKind; readonly from: Point; changed: boolean }
  | { readonly kind: 'pen'; readonly id: string; readonly box: { minX: number; minY: number; maxX: number; maxY: number }; changed: boolean };

const DEFAULT_SIZE: Readonly<Record<ShapeKind, Point>> = {
  rect: { x: 160, y: 100 },
  ellipse: { x: 140, y: 100 },
  note: { x: 180, y: 150 },
  line: { x: 160, y: 0 },
  arrow: { x: 160, y: 0 },
  pen: { x: 0, y: 0 },
};

const INK = '#1e1e1e';
const NOTE_YELLOW = '#e8b600';

export interface EditorOptions {
  readonly doc: Y.Doc;
  readonly svg: SVGSVGElement;
  readonly renderer: Renderer;
  readonly presence: Presence;
  readonly noteInput: HTMLTextAreaElement;
  /** The user made a change (one per gesture or action). */
  readonly onLocalChange: () => void;
  /** Tool, colour, selection or undo/redo availability changed. */
  readonly onUiChange: () => void;
}

/**
 * The canvas editor: tools, selection, gestures, undo.
 *
 * Every local change is a Yjs transaction with the editor's own origin, which the
 * `Y.UndoManager` tracks exclusively: changes from the server (other users) and from the
 * local store have other origins and are never undone. Pointer moves only record the latest
 * position; one transaction per animation frame applies it, so a drag sends at most one
 * update per frame however many events the pointer fires.
 */
export class Editor {
  /** The origin of every transaction this editor makes. */
  readonly origin = Object.freeze({ source: 'canvas-editor' as const });
  readonly undoManager: Y.UndoManager;
  /** Pointer events seen, transactions made, animation frames during gestures, gesture steps applied. */
  readonly stats = { pointerMoves: 0, transactions: 0, frames: 0, steps: 0 };
  readonly #doc: Y.Doc;
  readonly #shapes: Y.Map<ShapeMap>;
  readonly #svg: SVGSVGElement;
  readonly #renderer: Renderer;
  readonly #presence: Presence;
  readonly #noteInput: HTMLTextAreaElement;
  readonly #opts: EditorOptions;
  readonly #cache = new Map<string, Shape>();
  /** Changed in the document, not yet re-read. */
  readonly #dirty = new Set<string>();
  /** Re-read, not yet redrawn / removed from the drawing. */
  readonly #toDraw = new Set<string>();
  readonly #toRemove = new Set<string>();
  #tool: Tool = 'select';
  #color = INK;
  #selected: string | undefined;
  #gesture: Gesture | undefined;
  #latest: Point | undefined;
  /** The pointer moved since the last step. */
  #moved = false;
  #penPoints: number[] = [];
  #frame: number | undefined;
  #editing: { id: string; before: string } | undefined;
  #readOnly = false;

  constructor(opts: EditorOptions) {
    this.#opts = opts;
    this.#doc = opts.doc;
    this.#shapes = shapesOf(opts.doc);
    this.#svg = opts.svg;
    this.#renderer = opts.renderer;
    this.#presence = opts.presence;
    this.#noteInput = opts.noteInput;
    // Gestures and actions call stopCapturing() when they start, so each is one undo step.
    this.undoManager = new Y.UndoManager(this.#shapes, { trackedOrigins: new Set([this.origin]), captureTimeout: 60 * 60_000 });
    for (const event of ['stack-item-added', 'stack-item-popped', 'stack-cleared'] as const) {
      this.undoManager.on(event, () => opts.onUiChange());
    }
    this.#shapes.observeDeep((events) => {
      for (const event of events) {
        if (event.target === this.#shapes) for (const key of event.changes.keys.keys()) this.#dirty.add(key);
        else if (typeof event.path[0] === 'string') this.#dirty.add(event.path[0]);
      }
      this.#schedule();
    });
    for (const id of this.#shapes.keys()) this.#dirty.add(id);
    this.#presence.onChange(() => this.#schedule());
    this.#listen();
    this.#schedule();
  }

  get tool(): Tool {
    return this.#tool;
  }

  set tool(tool: Tool) {
    this.#closeNote();
    if (this.#readOnly) tool = 'select';
    this.#tool = tool;
    if (tool !== 'select') this.select(undefined);
    this.#svg.dataset.tool = tool;
    this.#opts.onUiChange();
  }

  /**
   * View only: no tool, gesture, key or undo changes the document (not even locally, so
   * nothing waits unsent); remote changes still show. Switching it on ends what is under way.
   */
  get readOnly(): boolean {
    return this.#readOnly;
  }

  set readOnly(on: boolean) {
    if (this.#readOnly === on) return;
    this.#readOnly = on;
    if (on) {
      this.#closeNote();
      this.#gesture = undefined;
      this.tool = 'select';
      this.select(undefined);
    }
    this.#svg.dataset.readOnly = String(on);
    this.#opts.onUiChange();
  }

  /** Undo is possible (never in view-only mode). */
  get canUndo(): boolean {
    return !this.#readOnly && this.undoManager.canUndo();
  }

  get canRedo(): boolean {
    return !this.#readOnly && this.undoManager.canRedo();
  }

  get color(): string {
    return this.#color;
  }

  get selected(): Shape | undefined {
    return this.#selected === undefined ? undefined : this.#cache.get(this.#selected);
  }

  /** Every shape, back to front. */
  shapes(): Shape[] {
    this.#refresh();
    return [...this.#cache.values()].sort(byZ);
  }

  select(id: string | undefined): void {
    if (this.#readOnly) id = undefined;
    if (this.#selected === id) return;
    if (this.#editing !== undefined && this.#editing.id !== id) this.#closeNote();
    this.#selected = id;
    this.#presence.select(id === undefined ? [] : [id]);
    this.#schedule();
    this.#opts.onUiChange();
  }

  /** Pick the colour for new shapes, and recolour the selected one. */
  setColor(color: string): void {
    this.#color = color;
    if (this.#readOnly) return;
    const id = this.#selected;
    if (id !== undefined && this.#cache.get(id)?.color !== color) this.#action(() => patchShape(this.#shapes, id, { color }));
    this.#opts.onUiChange();
  }

  deleteSelected(): void {
    const id = this.#selected;
    if (id === undefined) return;
    this.#closeNote();
    this.select(undefined);
    this.#action(() => this.#shapes.delete(id));
  }

  bringToFront(): void {
    const id = this.#selected;
    if (id === undefined) return;
    this.#action(() => patchShape(this.#shapes, id, { z: topZ(this.#shapes) + 1 }));
  }

  sendToBack(): void {
    const id = this.#selected;
    if (id === undefined) return;
    this.#action(() => patchShape(this.#shapes, id, { z: bottomZ(this.#shapes) - 1 }));
  }

  undo(): void {
    this.#closeNote();
    if (!this.canUndo) return;
    this.undoManager.undo();
    this.#opts.onLocalChange();
  }

  redo(): void {
    this.#closeNote();
    if (!this.canRedo) return;
    this.undoManager.redo();
    this.#opts.onLocalChange();
  }

  /** One transaction with the editor's origin; `newStep` starts a new undo step. */
  #change(fn: () => void, newStep: boolean): void {
    // Every path to here checks first; this is the last guard, so a view never edits.
    if (this.#readOnly) return;
    if (newStep) this.undoManager.stopCapturing();
    this.#doc.transact(fn, this.origin);
    this.stats.transactions++;
  }

  /** A discrete change: its own undo step, and one change for the badge. */
  #action(fn: () => void): void {
    if (this.#readOnly) return;
    this.#change(fn, true);
    this.#opts.onLocalChange();
  }

  #listen(): void {
    const svg = this.#svg;
    svg.addEventListener('pointerdown', (e) => this.#pointerDown(e));
    svg.addEventListener('pointermove', (e) => this.#pointerMove(e));
    svg.addEventListener('pointerup', (e) => this.#pointerUp(e));
    svg.addEventListener('pointercancel', (e) => this.#pointerUp(e));
    svg.addEventListener('dblclick', (e) => {
      const id = shapeIdAt(e.target);
      if (id !== undefined && this.#cache.get(id)?.kind === 'note') this.#openNote(id);
    });
    // Others see the cursor wherever it is on the page; it disappears when it leaves.
    window.addEventListener('pointermove', (e) => this.#presence.cursor(this.#point(e)));
    document.addEventListener('mouseout', (e) => {
      if (e.relatedTarget === null) this.#presence.cursor(null);
    });
    this.#noteInput.addEventListener('input', () => {
      const editing = this.#editing;
      if (editing !== undefined && !this.#readOnly) this.#change(() => patchShape(this.#shapes, editing.id, { text: this.#noteInput.value }), false);
    });
    this.#noteInput.addEventListener('blur', () => this.#closeNote());
    this.#noteInput.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.#closeNote();
      e.stopPropagation();
    });
  }

  #point(e: { clientX: number; clientY: number }): Point {
    const r = this.#svg.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  }

  #pointerDown(e: PointerEvent): void {
    if (e.button !== 0 || this.#gesture !== undefined || this.#readOnly) return;
    this.#closeNote();
    const p = this.#point(e);
    this.#latest = p;
    this.#moved = false;
    const tool = this.#tool;
    if (tool === 'select') {
      const handle = (e.target as Element | null)?.closest('[data-handle]')?.getAttribute('data-handle') as Handle | null | undefined;
      const selected = this.selected;
      if (typeof handle === 'string' && selected !== undefined) {
        this.#gesture = { kind: 'resize', id: selected.id, handle, orig: selected, changed: false };
      } else {
        const id = shapeIdAt(e.target);
        const shape = id === undefined ? undefined : this.#cache.get(id);
        this.select(shape?.id);
        if (shape !== undefined) this.#gesture = { kind: 'move', id: shape.id, from: p, orig: shape, changed: false };
      }
    } else if (tool === 'pen') {
      let id = '';
      this.#change(() => {
        id = addShape(this.#shapes, { kind: 'pen', x: p.x, y: p.y, w: 0, h: 0, color: this.#color, points: [p.x, p.y] });
      }, true);
      this.#penPoints = [];
      this.#gesture = { kind: 'pen', id, box: { minX: p.x, minY: p.y, maxX: p.x, maxY: p.y }, changed: true };
    } else {
      let id = '';
      // Ink notes would be grey: a note in ink is a yellow note.
      const color = tool === 'note' && this.#color === INK ? NOTE_YELLOW : this.#color;
      this.#change(() => {
        id = addShape(this.#shapes, { kind: tool, x: p.x, y: p.y, w: 0, h: 0, color });
      }, true);
      this.select(id);
      this.#gesture = { kind: 'create', id, shape: tool, from: p, changed: true };
    }
    if (this.#gesture !== undefined) this.#svg.setPointerCapture(e.pointerId);
  }

  #pointerMove(e: PointerEvent): void {
    this.stats.pointerMoves++;
    const gesture = this.#gesture;
    if (gesture === undefined) return;
    this.#latest = this.#point(e);
    this.#moved = true;
    if (gesture.kind === 'pen') {
      const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
      for (const c of events.length > 0 ? events : [e]) {
        const p = this.#point(c);
        this.#penPoints.push(p.x, p.y);
      }
    }
    this.#schedule();
  }

  #pointerUp(e: PointerEvent): void {
    const gesture = this.#gesture;
    if (gesture === undefined) return;
    if (e.type === 'pointerup') {
      const p = this.#point(e);
      if (p.x !== this.#latest?.x || p.y !== this.#latest.y) this.#moved = true;
      this.#latest = p;
    }
    if (this.#moved) this.#step();
    this.#gesture = undefined;
    if (this.#svg.hasPointerCapture(e.pointerId)) this.#svg.releasePointerCapture(e.pointerId);
    if (gesture.kind === 'create') {
      const shape = readShape(gesture.id, this.#shapes.get(gesture.id));
      // A click without a drag makes a shape of the default size.
      if (shape !== undefined && Math.abs(shape.w) < 4 && Math.abs(shape.h) < 4) {
        const size = DEFAULT_SIZE[gesture.shape];
        this.#change(() => patchShape(this.#shapes, gesture.id, { w: size.x, h: size.y }), false);
      }
      this.tool = 'select';
      this.select(gesture.id);
      if (gesture.shape === 'note') this.#openNote(gesture.id);
    }
    if (gesture.changed) this.#opts.onLocalChange();
  }

  /** Apply the latest pointer position of the active gesture: one transaction. */
  #step(): void {
    const gesture = this.#gesture;
    const to = this.#latest;
    if (gesture === undefined || to === undefined) return;
    this.#moved = false;
    this.stats.steps++;
    let patch: ShapePatch | undefined;
    switch (gesture.kind) {
      case 'move': {
        patch = { x: gesture.orig.x + to.x - gesture.from.x, y: gesture.orig.y + to.y - gesture.from.y };
        break;
      }
      case 'resize':
        patch = resized(gesture.orig, gesture.handle, to);
        break;
      case 'create':
        patch =
          gesture.shape === 'line' || gesture.shape === 'arrow'
            ? { w: to.x - gesture.from.x, h: to.y - gesture.from.y }
            : boxFrom(gesture.from, to);
        break;
      case 'pen': {
        const points = this.#penPoints;
        if (points.length === 0) return;
        this.#penPoints = [];
        const box = gesture.box;
        for (let i = 0; i + 1 < points.length; i += 2) {
          const x = points[i] ?? 0;
          const y = points[i + 1] ?? 0;
          box.minX = Math.min(box.minX, x);
          box.minY = Math.min(box.minY, y);
          box.maxX = Math.max(box.maxX, x);
          box.maxY = Math.max(box.maxY, y);
        }
        const id = gesture.id;
        this.#change(() => {
          appendPoints(this.#shapes, id, points);
          patchShape(this.#shapes, id, { x: box.minX, y: box.minY, w: box.maxX - box.minX, h: box.maxY - box.minY });
        }, false);
        return;
      }
    }
    const id = gesture.id;
    const fields = patch;
    this.#change(() => patchShape(this.#shapes, id, fields), false);
    gesture.changed = true;
  }

  #schedule(): void {
    if (this.#frame !== undefined) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = undefined;
      if (this.#gesture !== undefined) {
        this.stats.frames++;
        if (this.#moved) this.#step();
      }
      this.#render();
    });
  }

  /** Re-read the shapes that changed; they are redrawn on the next frame. */
  #refresh(): void {
    for (const id of this.#dirty) {
      const shape = readShape(id, this.#shapes.get(id));
      if (shape === undefined) {
        if (this.#cache.delete(id)) this.#toRemove.add(id);
        this.#toDraw.delete(id);
      } else {
        this.#cache.set(id, shape);
        this.#toDraw.add(id);
        this.#toRemove.delete(id);
      }
    }
    this.#dirty.clear();
  }

  #render(): void {
    this.#refresh();
    const changed = [...this.#toDraw].map((id) => this.#cache.get(id)).filter((s): s is Shape => s !== undefined);
    const removed = [...this.#toRemove];
    this.#toDraw.clear();
    this.#toRemove.clear();
    const order = [...this.#cache.values()].sort(byZ).map((s) => s.id);
    this.#renderer.update(changed, removed, order);
    if (this.#selected !== undefined && !this.#cache.has(this.#selected)) this.select(undefined);
    this.#renderer.selection(this.selected);
    const peers: RemotePeer[] = [];
    for (const peer of this.#presence.everyone()) {
      if (peer.self) continue;
      const selected = peer.selection.map((id) => this.#cache.get(id)).filter((s): s is Shape => s !== undefined);
      peers.push({ clientId: peer.clientId, name: peer.user.name, color: peer.user.color, cursor: peer.cursor, selected });
    }
    this.#renderer.peers(peers);
    if (this.#editing !== undefined) this.#placeNoteInput();
  }

  #openNote(id: string): void {
    this.#refresh();
    const shape = this.#cache.get(id);
    if (shape?.kind !== 'note' || this.#readOnly) return;
    this.select(id);
    this.undoManager.stopCapturing();
    this.#editing = { id, before: shape.text };
    this.#noteInput.value = shape.text;
    this.#noteInput.hidden = false;
    this.#placeNoteInput();
    this.#noteInput.focus();
  }

  #placeNoteInput(): void {
    const shape = this.#editing === undefined ? undefined : this.#cache.get(this.#editing.id);
    if (shape === undefined) {
      this.#closeNote();
      return;
    }
    const r = this.#svg.getBoundingClientRect();
    Object.assign(this.#noteInput.style, {
      left: `${r.left + shape.x}px`,
      top: `${r.top + shape.y}px`,
      width: `${shape.w}px`,
      height: `${shape.h}px`,
    });
  }

  #closeNote(): void {
    const editing = this.#editing;
    if (editing === undefined) return;
    this.#editing = undefined;
    this.#noteInput.hidden = true;
    if (this.#noteInput.value !== editing.before) this.#opts.onLocalChange();
  }
}

function shapeIdAt(target: EventTarget | null): string | undefined {
  return target instanceof Element ? (target.closest('[data-id]')?.getAttribute('data-id') ?? undefined) : undefined;
}
