import * as Y from 'yjs';
import { addShape, bottomZ, byZ, noteText, patchShape, readShape, shapesOf, topZ, type NewShape, type Shape, type ShapeKind, type ShapeMap } from './board';
import { IDENTITY, type Camera } from './camera';
import { hitTest, isLinear, lineEnds, selectionFrame, type Handle, type Lookup, type Point } from './geometry';
import { NoteEditor } from './note-editor';
import type { Presence } from './presence';
import type { RemotePeer, Renderer, SelectionView } from './render';
import { frameHandles, type Patches } from './transform';

export type Tool = 'select' | 'hand' | ShapeKind;

export interface EditorOptions {
  readonly doc: Y.Doc;
  readonly renderer: Renderer;
  readonly presence: Presence;
  readonly noteInput: HTMLTextAreaElement;
  readonly camera?: Camera;
  /** The user made a change (one per gesture or action). */
  readonly onLocalChange: () => void;
  /** Tool, colour, selection, zoom or undo/redo availability changed. */
  readonly onUiChange: () => void;
}

/** What runs pointer gestures: asked on every frame whether it has a step to apply. */
export interface FrameStep {
  readonly active: boolean;
  readonly pending: boolean;
  step(): void;
  readonly marquee: { x: number; y: number; w: number; h: number } | undefined;
}

/**
 * The canvas editor's state and actions: the shapes (a validated cache of the Y.Doc), the
 * selection, the tool and colour, the camera, undo — and the render loop, one paint per
 * animation frame at most.
 *
 * Every local change is a Yjs transaction with the editor's own origin, which the
 * `Y.UndoManager` tracks exclusively: changes from the server (other users) and from the
 * local store have other origins and are never undone. Each gesture or action calls
 * `stopCapturing()` first, so it is one undo step.
 */
export class Editor {
  /** The origin of every transaction this editor makes. */
  readonly origin = Object.freeze({ source: 'canvas-editor' as const });
  readonly undoManager: Y.UndoManager;
  /** Pointer events seen, transactions made, animation frames during gestures, gesture steps applied. */
  readonly stats = { pointerMoves: 0, transactions: 0, frames: 0, steps: 0 };
  readonly shapesMap: Y.Map<ShapeMap>;
  readonly lookup: Lookup = (id) => this.#cache.get(id);
  readonly #doc: Y.Doc;
  readonly #renderer: Renderer;
  readonly #presence: Presence;
  readonly #opts: EditorOptions;
  readonly #notes: NoteEditor;
  readonly #cache = new Map<string, Shape>();
  /** Changed in the document, not yet re-read. */
  readonly #dirty = new Set<string>();
  #ordered: Shape[] = [];
  #orderDirty = true;
  #paintDirty = true;
  /** Bumped whenever what is painted changes (shapes, the note being written); not by the camera. */
  #version = 0;
  #tool: Tool = 'select';
  #color = '#1e1e1e';
  #selected: string[] = [];
  #camera: Camera;
  #frame: number | undefined;
  #readOnly = false;
  #gestures: FrameStep | undefined;

  constructor(opts: EditorOptions) {
    this.#opts = opts;
    this.#doc = opts.doc;
    this.shapesMap = shapesOf(opts.doc);
    this.#renderer = opts.renderer;
    this.#presence = opts.presence;
    this.#camera = opts.camera ?? IDENTITY;
    this.undoManager = new Y.UndoManager(this.shapesMap, { trackedOrigins: new Set([this.origin]), captureTimeout: 60 * 60_000 });
    for (const event of ['stack-item-added', 'stack-item-popped', 'stack-cleared'] as const) {
      this.undoManager.on(event, () => opts.onUiChange());
    }
    opts.renderer.onStale = () => {
      this.#paintDirty = true;
      this.schedule();
    };
    this.#notes = new NoteEditor(opts.noteInput, this.origin, (fn) => this.change(fn, false), (changed) => {
      this.#paintDirty = true;
      this.#version++;
      this.schedule();
      if (changed) opts.onLocalChange();
    });
    this.shapesMap.observeDeep((events) => {
      for (const event of events) {
        if (event.target === this.shapesMap) for (const key of event.changes.keys.keys()) this.#dirty.add(key);
        else if (typeof event.path[0] === 'string') this.#dirty.add(event.path[0]);
      }
      this.schedule();
    });
    for (const id of this.shapesMap.keys()) this.#dirty.add(id);
    this.#presence.onChange(() => this.schedule());
    this.schedule();
  }

  /** The pointer gestures (set once by main, which builds them on this editor). */
  set gestures(g: FrameStep) {
    this.#gestures = g;
  }

  get tool(): Tool {
    return this.#tool;
  }

  set tool(tool: Tool) {
    this.#notes.close();
    if (this.#readOnly && tool !== 'hand') tool = 'select';
    this.#tool = tool;
    if (tool !== 'select' && tool !== 'hand') this.select([]);
    this.#renderer.overlay.dataset.tool = tool;
    this.#opts.onUiChange();
  }

  /**
   * View only: no tool, gesture, key or undo changes the document (not even locally, so
   * nothing waits unsent); remote changes still show, and the view still pans and zooms.
   */
  get readOnly(): boolean {
    return this.#readOnly;
  }

  set readOnly(on: boolean) {
    if (this.#readOnly === on) return;
    this.#readOnly = on;
    if (on) {
      this.#notes.close();
      this.tool = 'select';
      this.select([]);
    }
    this.#renderer.overlay.dataset.readOnly = String(on);
    this.#opts.onUiChange();
  }

  get canUndo(): boolean {
    return !this.#readOnly && this.undoManager.canUndo();
  }

  get canRedo(): boolean {
    return !this.#readOnly && this.undoManager.canRedo();
  }

  get color(): string {
    return this.#color;
  }

  get camera(): Camera {
    return this.#camera;
  }

  set camera(cam: Camera) {
    this.#camera = cam;
    this.#paintDirty = true;
    this.schedule();
    this.#opts.onUiChange();
  }

  /** The selected shapes, back to front. */
  get selection(): Shape[] {
    this.#refresh();
    return this.#selected.map((id) => this.#cache.get(id)).filter((s): s is Shape => s !== undefined).sort(byZ);
  }

  get selectedIds(): readonly string[] {
    return this.#selected;
  }

  /** Every shape, back to front. */
  shapes(): Shape[] {
    this.#refresh();
    return [...this.#ordered];
  }

  get(id: string): Shape | undefined {
    this.#refresh();
    return this.#cache.get(id);
  }

  /** The frontmost shape at board point `p` (within `slop` screen pixels of a line). */
  shapeAt(p: Point, slop = 8, except?: (s: Shape) => boolean): Shape | undefined {
    this.#refresh();
    const tolerance = slop / this.#camera.zoom;
    for (let i = this.#ordered.length - 1; i >= 0; i--) {
      const shape = this.#ordered[i] as Shape;
      if (except?.(shape) === true) continue;
      if (hitTest(shape, p, tolerance, this.lookup)) return shape;
    }
    return undefined;
  }

  select(ids: readonly string[]): void {
    const next = this.#readOnly ? [] : [...new Set(ids)];
    if (next.length === this.#selected.length && next.every((id, i) => this.#selected[i] === id)) return;
    if (this.#notes.id !== undefined && !next.includes(this.#notes.id)) this.#notes.close();
    this.#selected = next;
    this.#presence.select(next);
    this.schedule();
    this.#opts.onUiChange();
  }

  /** Pick the colour for new shapes, and recolour the selected ones. */
  setColor(color: string): void {
    this.#color = color;
    const targets = this.selection.filter((s) => s.color !== color);
    if (!this.#readOnly && targets.length > 0) this.action(() => targets.forEach((s) => patchShape(this.shapesMap, s.id, { color })));
    this.#opts.onUiChange();
  }

  deleteSelected(): void {
    const ids = new Set(this.#selected);
    if (ids.size === 0 || this.#readOnly) return;
    this.#notes.close();
    this.select([]);
    this.action(() => {
      // Lines attached to what goes stay where they are drawn now, attached to nothing.
      for (const shape of this.#cache.values()) {
        if (!isLinear(shape) || ids.has(shape.id)) continue;
        if ((shape.from !== null && ids.has(shape.from)) || (shape.to !== null && ids.has(shape.to))) {
          const [a, b] = lineEnds(shape, this.lookup);
          patchShape(this.shapesMap, shape.id, {
            x: a.x, y: a.y, w: b.x - a.x, h: b.y - a.y,
            ...(shape.from !== null && ids.has(shape.from) ? { from: null } : {}),
            ...(shape.to !== null && ids.has(shape.to) ? { to: null } : {}),
          });
        }
      }
      for (const id of ids) this.shapesMap.delete(id);
    });
  }

  /** Bring the selection to the front (or send it to the back), keeping its own order. */
  restack(front: boolean): void {
    const sel = this.selection;
    if (sel.length === 0) return;
    this.action(() => {
      const base = front ? topZ(this.shapesMap) + 1 : bottomZ(this.shapesMap) - sel.length;
      sel.forEach((s, i) => patchShape(this.shapesMap, s.id, { z: base + i }));
    });
  }

  /** Add one shape in front (call inside `change`); returns its id. */
  insertOne(shape: NewShape): string {
    return addShape(this.shapesMap, shape);
  }

  /** Add shapes as one undo step and select them; returns their ids. */
  insert(items: ReadonlyArray<{ id: string; shape: NewShape }>): string[] {
    if (this.#readOnly || items.length === 0) return [];
    this.action(() => {
      for (const { id, shape } of items) addShape(this.shapesMap, shape, id);
    });
    const ids = items.map((i) => i.id);
    this.select(ids);
    return ids;
  }

  undo(): void {
    this.#notes.close();
    if (!this.canUndo) return;
    this.undoManager.undo();
    this.#opts.onLocalChange();
  }

  redo(): void {
    this.#notes.close();
    if (!this.canRedo) return;
    this.undoManager.redo();
    this.#opts.onLocalChange();
  }

  /** One transaction with the editor's origin; `newStep` starts a new undo step. */
  change(fn: () => void, newStep: boolean): void {
    // Every path to here checks first; this is the last guard, so a view never edits.
    if (this.#readOnly) return;
    if (newStep) this.undoManager.stopCapturing();
    this.#doc.transact(fn, this.origin);
    this.stats.transactions++;
  }

  /** Apply patches to several shapes in one transaction. */
  patch(patches: Patches, newStep = false): void {
    if (patches.size === 0) return;
    this.change(() => {
      for (const [id, p] of patches) patchShape(this.shapesMap, id, p);
    }, newStep);
  }

  /** A discrete change: its own undo step, and one change for the badge. */
  action(fn: () => void): void {
    if (this.#readOnly) return;
    this.change(fn, true);
    this.#opts.onLocalChange();
  }

  localChange(): void {
    this.#opts.onLocalChange();
  }

  openNote(id: string): void {
    const shape = this.get(id);
    if (shape?.kind !== 'note' || this.#readOnly) return;
    this.select([id]);
    this.undoManager.stopCapturing();
    let text: Y.Text | undefined;
    this.change(() => (text = noteText(this.shapesMap, id)), false);
    if (text === undefined) return;
    this.#notes.open(id, text);
    this.#paintDirty = true;
    this.#version++;
    this.schedule();
  }

  closeNote(): void {
    this.#notes.close();
  }

  /** The selection's frame and handles (handles sized for the screen). */
  selectionView(): SelectionView {
    const shapes = this.selection;
    const frame = selectionFrame(shapes, this.lookup);
    const only = shapes.length === 1 ? shapes[0] : undefined;
    let handles: SelectionView['handles'] = [];
    if (only !== undefined && isLinear(only)) {
      const [a, b] = lineEnds(only, this.lookup);
      const ends: Array<{ handle: Handle; at: Point }> = [
        { handle: 'start', at: a },
        { handle: 'end', at: b },
      ];
      handles = ends;
    } else if (frame !== undefined && !this.#readOnly) handles = frameHandles(frame, 26 / this.#camera.zoom);
    return { shapes, frame, handles };
  }

  /** Paint on the next animation frame (at most one paint per frame). */
  schedule(): void {
    if (this.#frame !== undefined) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = undefined;
      const g = this.#gestures;
      if (g?.active === true) {
        this.stats.frames++;
        if (g.pending) g.step();
      }
      this.#render();
    });
  }

  /**
   * Re-read the shapes that changed, and the back-to-front order with them: `shapes()` and
   * `shapeAt()` between two frames must see the change just made (the order was once rebuilt
   * only when a frame was drawn, so a read right after an edit could return the shape as it
   * was before the edit).
   */
  #refresh(): void {
    if (this.#dirty.size > 0) {
      for (const id of this.#dirty) {
        const shape = readShape(id, this.shapesMap.get(id));
        if (shape === undefined) this.#cache.delete(id);
        else this.#cache.set(id, shape);
      }
      this.#dirty.clear();
      this.#orderDirty = true;
      this.#paintDirty = true;
      this.#version++;
    }
    if (this.#orderDirty) {
      this.#ordered = [...this.#cache.values()].sort(byZ);
      this.#orderDirty = false;
    }
  }

  #render(): void {
    this.#refresh();
    if (this.#selected.some((id) => !this.#cache.has(id))) this.select(this.#selected.filter((id) => this.#cache.has(id)));
    if (this.#paintDirty) {
      this.#paintDirty = false;
      this.#renderer.paint({ camera: this.#camera, ordered: this.#ordered, lookup: this.lookup, editing: this.#notes.id, version: this.#version });
    }
    this.#renderer.selection(this.selectionView(), this.lookup);
    this.#renderer.marquee(this.#gestures?.marquee);
    const peers: RemotePeer[] = [];
    for (const peer of this.#presence.everyone()) {
      if (peer.self) continue;
      const selected = peer.selection.map((id) => this.#cache.get(id)).filter((s): s is Shape => s !== undefined);
      peers.push({ clientId: peer.clientId, name: peer.user.name, color: peer.user.color, cursor: peer.cursor, selected });
    }
    this.#renderer.peers(peers, this.lookup);
    const editing = this.#notes.id === undefined ? undefined : this.#cache.get(this.#notes.id);
    if (editing !== undefined) this.#notes.place(editing, this.#camera);
    else if (this.#notes.id !== undefined) this.#notes.close();
  }
}
