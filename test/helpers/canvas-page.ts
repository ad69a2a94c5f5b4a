import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect } from 'vitest';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { startCliServer, stopCliServer, type CliServer } from './cli-server.js';

/**
 * What the canvas e2e tests share: Debian's Chromium (required under CI), where the demo is
 * built, and helpers that drive the page through its `window.__skein` test hooks and the real
 * mouse.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Whether Chromium is there; under CI its absence fails the run instead of skipping. */
export function chromiumAvailable(suite: string): boolean {
  const have = existsSync(CHROMIUM);
  if (!have && process.env.CI) throw new Error(`browser tests need Chromium at ${CHROMIUM} (set CHROMIUM_PATH); it is missing under CI`);
  if (!have) console.warn(`skipping ${suite} browser tests: no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`);
  return have;
}

/** Debian's Chromium, headless, without the background services that would reach the network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export const CANVAS_APP = fileURLToPath(new URL('../../examples/canvas/', import.meta.url));
export const CANVAS_DIST = join(CANVAS_APP, 'dist');
export const RESULTS = fileURLToPath(new URL('../../test-results/', import.meta.url));

/** Build the demo into examples/canvas/dist unless it is current (a hash of its inputs decides). */
export function buildCanvas(): void {
  const built = spawnSync(process.execPath, [join(CANVAS_APP, 'scripts', 'build-if-needed.mjs'), '--quiet'], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`canvas build failed:\n${built.stdout}${built.stderr}`);
}

/** What {@link canvasServerFixture} gives a suite once its `beforeAll` has run. */
export interface CanvasServer {
  /** The demo's page, `http://127.0.0.1:<port>/`. */
  readonly base: string;
  /** A new browser context (closed after the suite). */
  context(options?: BrowserContextOptions): Promise<BrowserContext>;
}

/**
 * A suite's setup and teardown for canvas tests against a real `skein serve`: the demo is built
 * if needed, the server serves it from a fresh temp data dir with `extraArgs` added (e.g.
 * `--auth jwt`), and Chromium is launched; afterwards every context, the browser and the server
 * are closed and the data dir removed. Call it inside the suite's `describe`.
 */
export function canvasServerFixture(name: string, extraArgs: readonly string[] = []): CanvasServer {
  let browser: Browser | undefined;
  let server: CliServer | undefined;
  let dataDir: string | undefined;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    buildCanvas();
    mkdirSync(RESULTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), `skein-${name}-`));
    server = await startCliServer(['--port', '0', '--data-dir', dataDir, '--static-dir', CANVAS_DIST, ...extraArgs]);
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    for (const ctx of contexts.splice(0)) await ctx.close();
    await browser?.close();
    if (server !== undefined) await stopCliServer(server);
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('canvasServerFixture: used before its beforeAll ran');
    return value;
  };
  return {
    get base() {
      return `http://127.0.0.1:${started(server).port}/`;
    },
    async context(options) {
      const ctx = await started(browser).newContext(options);
      contexts.push(ctx);
      return ctx;
    },
  };
}

/** A shape as `__skein.shapes()` reports it. */
export interface Shape {
  id: string;
  kind: string;
  x: number;
  y: number;
  w: number;
  h: number;
  r: number;
  color: string;
  z: number;
  text: string;
  from: string | null;
  to: string | null;
}

export const shapes = (page: Page): Promise<Shape[]> => page.evaluate('__skein.shapes()');
export const js = (value: unknown): string => JSON.stringify(value);

/** Wait (polling every animation frame) until `expression` holds in the page; resolves with the elapsed ms. */
export async function until(page: Page, expression: string, timeout = 10_000): Promise<number> {
  const started = performance.now();
  await page.waitForFunction(expression, undefined, { timeout, polling: 'raf' });
  return performance.now() - started;
}

/** Open `url` in a new page of `context` and wait until the canvas has synced. */
export async function openCanvas(context: BrowserContext, url: string, who: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[${who}] page error:`, err));
  await page.goto(url);
  await until(page, 'typeof __skein === "object" && __skein.status().synced');
  return page;
}

/** Press, move in `steps` and release the real mouse. */
export async function drag(page: Page, from: readonly [number, number], to: readonly [number, number], steps = 12): Promise<void> {
  await page.mouse.move(from[0], from[1]);
  await page.mouse.down();
  await page.mouse.move(to[0], to[1], { steps });
  await page.mouse.up();
}

/** Draw one shape with `tool` by dragging; returns the one shape it created. */
export async function draw(page: Page, tool: string, from: readonly [number, number], to: readonly [number, number], steps?: number): Promise<Shape> {
  const before = new Set((await shapes(page)).map((s) => s.id));
  await page.click(`#toolbar [data-tool="${tool}"]`);
  await drag(page, from, to, steps);
  const created = (await shapes(page)).filter((s) => !before.has(s.id));
  expect(created).toHaveLength(1);
  return created[0] as Shape;
}

/** Where board point (x, y) is on the page now (the camera may have moved). */
export async function onScreen(page: Page, x: number, y: number): Promise<[number, number]> {
  const p: { x: number; y: number } = await page.evaluate(`__skein.screenPoint(${x}, ${y})`);
  return [p.x, p.y];
}

/** Open a board (`#board`) as `name` (and `color`) under `base` (a server URL, with or without `?token=`). */
export function openBoard(context: BrowserContext, base: string, board: string, name: string, color?: string): Promise<Page> {
  const url = new URL(base.includes('://') ? base : `http://${base}`);
  url.searchParams.set('name', name);
  if (color !== undefined) url.searchParams.set('color', color);
  url.hash = encodeURIComponent(board);
  return openCanvas(context, url.toString(), name);
}
