import type { Box, Point } from './geometry';

/**
 * The view onto the infinite board: the board point at the screen's top left (`x`, `y`) and
 * the zoom (screen pixels per board unit). screen = (board − xy) × zoom.
 */
export interface Camera {
  readonly x: number;
  readonly y: number;
  readonly zoom: number;
}

export const MIN_ZOOM = 0.05;
export const MAX_ZOOM = 8;
export const IDENTITY: Camera = { x: 0, y: 0, zoom: 1 };

export const toBoard = (cam: Camera, p: Point): Point => ({ x: p.x / cam.zoom + cam.x, y: p.y / cam.zoom + cam.y });
export const toScreen = (cam: Camera, p: Point): Point => ({ x: (p.x - cam.x) * cam.zoom, y: (p.y - cam.y) * cam.zoom });

/** The board area a `width` × `height` screen shows. */
export const visibleBox = (cam: Camera, width: number, height: number): Box => ({ x: cam.x, y: cam.y, w: width / cam.zoom, h: height / cam.zoom });

const clampZoom = (z: number): number => Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, z));

/** Zoom to `zoom`, keeping the board point under screen point `at` where it is. */
export function zoomAt(cam: Camera, zoom: number, at: Point): Camera {
  const z = clampZoom(zoom);
  const anchor = toBoard(cam, at);
  return { x: anchor.x - at.x / z, y: anchor.y - at.y / z, zoom: z };
}

/** Move the view by a screen distance (the board follows the pointer). */
export const panBy = (cam: Camera, dx: number, dy: number): Camera => ({ x: cam.x - dx / cam.zoom, y: cam.y - dy / cam.zoom, zoom: cam.zoom });

/** The camera that shows `box` in a `width` × `height` screen with `margin` pixels around (at most 100 %). */
export function fitBox(box: Box, width: number, height: number, margin = 48): Camera {
  if (box.w <= 0 && box.h <= 0) return { x: box.x - width / 2, y: box.y - height / 2, zoom: 1 };
  const zoom = clampZoom(Math.min(1, (width - 2 * margin) / Math.max(box.w, 1), (height - 2 * margin) / Math.max(box.h, 1)));
  return { x: box.x + box.w / 2 - width / 2 / zoom, y: box.y + box.h / 2 - height / 2 / zoom, zoom };
}

/** The next zoom step in or out (the steps people expect: 10 %, 25 %, 50 %, 100 %, 200 %, …). */
export function stepZoom(zoom: number, direction: 1 | -1): number {
  const steps = [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8];
  if (direction > 0) return steps.find((s) => s > zoom + 1e-6) ?? MAX_ZOOM;
  return [...steps].reverse().find((s) => s < zoom - 1e-6) ?? MIN_ZOOM;
}

/** A camera read back from storage, or undefined when it is not one. */
export function parseCamera(value: unknown): Camera | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { x, y, zoom } = value as Record<string, unknown>;
  if (typeof x !== 'number' || typeof y !== 'number' || typeof zoom !== 'number') return undefined;
  if (!Number.isFinite(x) || !Number.isFinite(y) || !(zoom >= MIN_ZOOM && zoom <= MAX_ZOOM)) return undefined;
  return { x, y, zoom };
}
