import { fitBox, panBy, parseCamera, stepZoom, zoomAt, type Camera } from './camera';
import type { Editor } from './editor';
import { bounds, union, type Point } from './geometry';
import type { Gestures } from './gestures';

/**
 * Moving around the infinite board: the wheel pans (Shift: sideways), Ctrl/⌘+wheel and a
 * trackpad pinch zoom at the pointer, two fingers pan and pinch on touch screens, and keys:
 * + / − zoom, 0 is 100 %, 1 fits the board, arrow keys pan (or nudge the selection). The
 * camera is remembered per board in this browser.
 */
export function mountNavigation(editor: Editor, surface: SVGSVGElement, gestures: Gestures): void {
  const size = (): { width: number; height: number } => ({ width: surface.clientWidth, height: surface.clientHeight });
  const middle = (): Point => ({ x: surface.clientWidth / 2, y: surface.clientHeight / 2 });

  surface.addEventListener(
    'wheel',
    (e) => {
      e.preventDefault();
      const r = surface.getBoundingClientRect();
      const at = { x: e.clientX - r.left, y: e.clientY - r.top };
      const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? surface.clientHeight : 1;
      if (e.ctrlKey || e.metaKey) {
        const cam = editor.camera;
        editor.camera = zoomAt(cam, cam.zoom * Math.exp(-e.deltaY * unit * 0.0035), at);
      } else {
        const dx = e.shiftKey && e.deltaX === 0 ? e.deltaY : e.deltaX;
        const dy = e.shiftKey && e.deltaX === 0 ? 0 : e.deltaY;
        editor.camera = panBy(editor.camera, -dx * unit, -dy * unit);
      }
    },
    { passive: false },
  );

  // Two fingers: pinch to zoom, move to pan. A second finger ends whatever the first began.
  const touches = new Map<number, Point>();
  let pinch: { camera: Camera; mid: Point; dist: number } | undefined;
  const point = (e: PointerEvent): Point => {
    const r = surface.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };
  const measure = (): { mid: Point; dist: number } => {
    const [a, b] = [...touches.values()] as [Point, Point];
    return { mid: { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 }, dist: Math.max(1, Math.hypot(a.x - b.x, a.y - b.y)) };
  };
  surface.addEventListener(
    'pointerdown',
    (e) => {
      if (e.pointerType !== 'touch') return;
      touches.set(e.pointerId, point(e));
      if (touches.size === 2) {
        gestures.cancel();
        pinch = { camera: editor.camera, ...measure() };
      }
      if (touches.size >= 2) e.stopImmediatePropagation();
    },
    { capture: true },
  );
  surface.addEventListener(
    'pointermove',
    (e) => {
      if (!touches.has(e.pointerId)) return;
      touches.set(e.pointerId, point(e));
      if (pinch === undefined || touches.size < 2) return;
      e.stopImmediatePropagation();
      const now = measure();
      const zoomed = zoomAt(pinch.camera, (pinch.camera.zoom * now.dist) / pinch.dist, pinch.mid);
      editor.camera = panBy(zoomed, now.mid.x - pinch.mid.x, now.mid.y - pinch.mid.y);
    },
    { capture: true },
  );
  const lift = (e: PointerEvent): void => {
    if (!touches.delete(e.pointerId)) return;
    if (pinch !== undefined) e.stopImmediatePropagation();
    if (touches.size < 2) pinch = undefined;
  };
  surface.addEventListener('pointerup', lift, { capture: true });
  surface.addEventListener('pointercancel', lift, { capture: true });

  window.addEventListener('keydown', (e) => {
    if (isTextEntry(e.target) || e.altKey) return;
    const mod = e.ctrlKey || e.metaKey;
    const cam = editor.camera;
    if (e.key === '+' || e.key === '=') editor.camera = zoomAt(cam, stepZoom(cam.zoom, 1), middle());
    else if (e.key === '-' || e.key === '_') editor.camera = zoomAt(cam, stepZoom(cam.zoom, -1), middle());
    else if (e.key === '0' && !e.shiftKey) editor.camera = zoomAt(cam, 1, middle());
    else if ((e.key === '1' || e.key === '!') && !mod) fitAll(editor, size());
    else if (e.key.startsWith('Arrow') && !mod) {
      const step = e.shiftKey ? 10 : 1;
      const dx = e.key === 'ArrowLeft' ? -1 : e.key === 'ArrowRight' ? 1 : 0;
      const dy = e.key === 'ArrowUp' ? -1 : e.key === 'ArrowDown' ? 1 : 0;
      const sel = editor.selection;
      if (sel.length > 0 && !editor.readOnly) {
        editor.undoManager.stopCapturing();
        editor.patch(new Map(sel.map((s) => [s.id, { x: s.x + dx * step, y: s.y + dy * step }])), true);
        editor.localChange();
      } else editor.camera = panBy(cam, -dx * 60, -dy * 60);
    } else return;
    e.preventDefault();
  });
}

/** Show every shape (100 % at most), or the origin on an empty board. */
export function fitAll(editor: Editor, screen: { width: number; height: number }): void {
  const shapes = editor.shapes();
  if (shapes.length === 0) {
    editor.camera = { x: 0, y: 0, zoom: 1 };
    return;
  }
  editor.camera = fitBox(union(shapes.map((s) => bounds(s, editor.lookup))), screen.width, screen.height);
}

/** The camera kept for this board in this browser (localStorage), and a saver (at most every 300 ms). */
export function rememberedCamera(board: string): { camera: Camera | undefined; save: (cam: Camera) => void } {
  const key = `skein-canvas:camera:${board}`;
  let camera: Camera | undefined;
  try {
    camera = parseCamera(JSON.parse(localStorage.getItem(key) ?? 'null'));
  } catch {
    camera = undefined;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  let latest: Camera | undefined;
  const save = (cam: Camera): void => {
    latest = cam;
    timer ??= setTimeout(() => {
      timer = undefined;
      try {
        localStorage.setItem(key, JSON.stringify(latest));
      } catch {
        // Not remembered: the view starts at the origin next time.
      }
    }, 300);
  };
  return { camera, save };
}

/** Keys typed into a text field are text, not shortcuts (a focused button or switch is fine). */
export function isTextEntry(target: EventTarget | null): boolean {
  if (target instanceof HTMLInputElement) return !['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color'].includes(target.type);
  return target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement || (target instanceof HTMLElement && target.isContentEditable);
}
