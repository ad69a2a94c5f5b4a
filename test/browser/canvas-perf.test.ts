import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { WebsocketProvider } from 'y-websocket';
import { startCliServer, stopCliServer, type CliServer } from '../helpers/cli-server.js';
import { CANVAS_DIST, RESULTS, buildCanvas, chromiumAvailable, launchChromium, openBoard, until } from '../helpers/canvas-page.js';
import { connectProvider, destroyAll, synced } from '../helpers/clients.js';

/**
 * Frame times of the canvas with 2,000 shapes, measured in Chromium and reported (not
 * asserted: speed targets do not belong in e2e tests; the numbers go to the console and
 * test-results/canvas-perf.json, and docs/performance.md records a run). Scenarios: pan and
 * zoom with every shape in view, pan at 100 % (most shapes culled), and drawing a stroke
 * while 10 other users' cursors move at 20 Hz each.
 */

const haveChromium = chromiumAvailable('canvas performance');
const VIEWPORT = { width: 1280, height: 800 };
const SHAPES = 2_000;
const FRAMES = 300;

/** A board file of `n` mixed shapes on a 50-column grid: boxes, notes with text, strokes, arrows between neighbours. */
function boardFile(n: number): string {
  const colors = ['#1e1e1e', '#e03131', '#f08c00', '#2f9e44', '#1971c2', '#9c36b5'];
  const shapes: Array<Record<string, unknown>> = [];
  for (let i = 0; i < n; i++) {
    const x = (i % 50) * 220;
    const y = Math.floor(i / 50) * 180;
    const color = colors[i % colors.length];
    const base = { id: `s${i}`, x, y, w: 150, h: 110, r: i % 7 === 0 ? 0.2 : 0, z: i, color };
    const kind = i % 10;
    if (kind < 4) shapes.push({ ...base, kind: 'rect' });
    else if (kind < 6) shapes.push({ ...base, kind: 'ellipse' });
    else if (kind === 6) shapes.push({ ...base, kind: 'diamond' });
    else if (kind === 7) shapes.push({ ...base, kind: 'note', color: '#e8b600', text: `Note ${i}\nwith two lines of text that wrap inside the note` });
    else if (kind === 8) {
      const points: number[] = [];
      for (let k = 0; k < 30; k++) points.push(k * 5, 40 + Math.sin(k / 3) * 35);
      shapes.push({ ...base, kind: 'pen', points });
    } else shapes.push({ ...base, kind: 'arrow', w: 60, h: 0, x: x + 150, y: y + 55, from: `s${i - 1}`, to: i + 1 < n ? `s${i + 1}` : undefined });
  }
  return JSON.stringify({ format: 'skein-canvas', version: 1, title: 'perf', shapes });
}

interface FrameReport {
  frames: number;
  medianMs: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  fps: number;
  over17: number;
  paints: number;
  paintMedianMs: number;
  paintP95Ms: number;
  paintMaxMs: number;
  shapesDrawn: number;
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
const r1 = (v: number): number => Math.round(v * 10) / 10;

/**
 * Run `perFrame` (page code, given the frame number `n`) in each of `frames` animation
 * frames; report the intervals between frames and the renderer's own paint times.
 */
async function measure(page: Page, perFrame: string): Promise<FrameReport> {
  const raw: { deltas: number[]; paint: number[]; drawn: number } = await page.evaluate(`new Promise((resolve) => {
    const board = document.querySelector('#board');
    const paintBefore = __skein.paintTimes().count;
    const deltas = [];
    let n = 0;
    let last;
    const tick = (t) => {
      if (last !== undefined) deltas.push(t - last);
      last = t;
      n++;
      ((n) => { ${perFrame} })(n);
      if (n <= ${FRAMES}) requestAnimationFrame(tick);
      else {
        const { ms, count } = __skein.paintTimes();
        resolve({ deltas, paint: count === paintBefore ? [] : ms.slice(-Math.min(ms.length, count - paintBefore)), drawn: __skein.rendered().length });
      }
    };
    requestAnimationFrame(tick);
  })`);
  const sorted = [...raw.deltas].sort((a, b) => a - b);
  const paint = [...raw.paint].sort((a, b) => a - b);
  const mean = raw.deltas.reduce((a, b) => a + b, 0) / raw.deltas.length;
  return {
    frames: raw.deltas.length,
    medianMs: r1(pct(sorted, 50)),
    p95Ms: r1(pct(sorted, 95)),
    p99Ms: r1(pct(sorted, 99)),
    maxMs: r1(sorted[sorted.length - 1] ?? NaN),
    fps: r1(1000 / mean),
    over17: raw.deltas.filter((d) => d > 17.5).length,
    paints: paint.length,
    paintMedianMs: r1(pct(paint, 50)),
    paintP95Ms: r1(pct(paint, 95)),
    paintMaxMs: r1(paint[paint.length - 1] ?? NaN),
    shapesDrawn: raw.drawn,
  };
}

const wheel = (opts: string): string =>
  `board.dispatchEvent(new WheelEvent('wheel', { bubbles: true, cancelable: true, clientX: 640, clientY: 400, ${opts} }));`;

describe.skipIf(!haveChromium)(`canvas performance: ${SHAPES} shapes, frame times reported`, () => {
  let browser: Browser;
  let server: CliServer;
  let dataDir: string;
  let context: BrowserContext;

  beforeAll(async () => {
    buildCanvas();
    mkdirSync(RESULTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'skein-canvas-perf-'));
    server = await startCliServer(['--port', '0', '--data-dir', dataDir, '--static-dir', CANVAS_DIST]);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: VIEWPORT });
  }, 120_000);
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    if (server !== undefined) await stopCliServer(server);
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  it('pan and zoom with 2,000 shapes, and drawing while 10 others move their cursors', async () => {
    const board = `perf-${Date.now().toString(36)}`;
    const page = await openBoard(context, `http://127.0.0.1:${server.port}/`, board, 'Ada');
    const file = join(RESULTS, `canvas-perf-board-${Date.now()}.json`);
    writeFileSync(file, boardFile(SHAPES));
    await page.setInputFiles('#import-file', file);
    const importMs = await until(page, `__skein.shapes().length === ${SHAPES}`, 60_000);
    console.log(`canvas perf: ${SHAPES} shapes imported and drawn in ${importMs.toFixed(0)} ms`);
    await page.keyboard.press('Escape');
    const savedMs = await until(page, '__skein.status().saved', 60_000);
    console.log(`canvas perf: import saved (acknowledged durable) ${savedMs.toFixed(0)} ms later`);
    const browserVersion = browser.version();

    // 0. The machine's own pace: the same page, nothing happening (a loaded machine shows here).
    const idle = await measure(page, '');

    // 1. Everything in view (fit), panning and zooming in alternate frames.
    await page.keyboard.press('1');
    await until(page, `__skein.rendered().length === ${SHAPES}`);
    console.log('canvas perf: measuring fit');
    const fit = await measure(page, `if (n % 2) ${wheel('deltaX: Math.cos(n / 10) * 4, deltaY: Math.sin(n / 10) * 4')} else ${wheel('ctrlKey: true, deltaY: n % 40 < 20 ? 2 : -2')}`);

    // 2. At 100 %: only the shapes in view are painted.
    await page.keyboard.press('0');
    await until(page, `__skein.camera().zoom === 1 && __skein.rendered().length < ${SHAPES}`);
    const full = await measure(page, `${wheel('deltaX: Math.cos(n / 10) * 15, deltaY: Math.sin(n / 10) * 15')}`);

    // 3. Drawing a stroke at 100 %, alone, then while 10 other users' cursors move (20 Hz each, through the server).
    const pointer = (dx: number): string =>
      `board.dispatchEvent(new PointerEvent('pointermove', { bubbles: true, pointerId: 1, clientX: ${dx} + n * 2.5, clientY: 300 + Math.sin(n / 10) * 80 }));`;
    await page.click('#toolbar [data-tool="pen"]');
    await page.mouse.move(200, 300);
    await page.mouse.down();
    const alone = await measure(page, pointer(200));
    await page.mouse.up();
    const others: WebsocketProvider[] = [];
    for (let i = 0; i < 10; i++) {
      const p = connectProvider(server.url, `canvas/${board}`);
      p.awareness.setLocalState({ user: { name: `Bot ${i}`, color: '#1c7ed6' }, cursor: { x: 100, y: 100 }, selection: [] });
      others.push(p);
    }
    await Promise.all(others.map((p) => synced(p)));
    await until(page, '__skein.cursors().length === 10');
    let tick = 0;
    const timer = setInterval(() => {
      tick++;
      others.forEach((p, i) => p.awareness.setLocalStateField('cursor', { x: 200 + ((tick * 7 + i * 60) % 800), y: 150 + i * 50 }));
    }, 50);
    let drawing: FrameReport;
    try {
      await page.click('#toolbar [data-tool="pen"]');
      await page.mouse.move(200, 500);
      await page.mouse.down();
      drawing = await measure(page, pointer(200).replace('300 +', '500 +'));
      await page.mouse.up();
    } finally {
      clearInterval(timer);
      destroyAll(others);
    }

    const report = { browser: `Chromium ${browserVersion} (headless, --disable-gpu)`, viewport: VIEWPORT, shapes: SHAPES, idle, fit, full, alone, drawing };
    writeFileSync(join(RESULTS, 'canvas-perf.json'), `${JSON.stringify(report, null, 2)}\n`);
    for (const [name, r] of Object.entries({ 'idle, nothing moving': idle, 'pan+zoom, all 2,000 in view': fit, 'pan at 100%': full, 'drawing a stroke': alone, 'drawing, 10 cursors moving': drawing })) {
      console.log(
        `canvas perf (${name}): ${r.frames} frames, ${r.fps} fps, frame interval median ${r.medianMs} / p95 ${r.p95Ms} / p99 ${r.p99Ms} / max ${r.maxMs} ms, ${r.over17} over 17.5 ms; ${r.paints} paints, median ${r.paintMedianMs} / p95 ${r.paintP95Ms} / max ${r.paintMaxMs} ms; ${r.shapesDrawn} shapes drawn`,
      );
    }
    // Reported, not asserted as speed; what must hold is what was measured.
    expect(fit.shapesDrawn).toBe(SHAPES);
    expect(full.shapesDrawn).toBeLessThan(SHAPES / 4);
    expect(drawing.frames).toBe(FRAMES);
    const stroke = await page.evaluate<number>('__skein.shapes().filter((s) => s.kind === "pen").length');
    expect(stroke).toBe(SHAPES / 10 + 2);
  }, 300_000);
});
