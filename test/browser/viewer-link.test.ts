import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as Y from 'yjs';
import type { Browser, Page } from 'playwright-core';
import { SkeinError, type Authenticate } from '@skein/server';
import { CLI_MAIN, startCliServer, stopCliServer, type CliServer } from '../helpers/cli-server.js';
import {
  CANVAS_APP, CANVAS_DIST, RESULTS, chromiumAvailable, launchChromium, drag as dragWith, draw as drawWith, js, openCanvas, shapes, until, type Shape,
} from '../helpers/canvas-page.js';
import { connectProvider, synced } from '../helpers/clients.js';
import { startTestServer } from '../helpers/server.js';

/**
 * The canvas demo's view-only link, end to end: a real `skein serve --auth jwt` serving the
 * built demo, links minted by the real `skein token --url`, two Chromium windows (an editor
 * with a write token, a viewer with a read token). The viewer sees the editor's shapes and
 * cursor live, says "View only", has a disabled toolbar, and nothing it tries changes the
 * document — neither its own copy nor the server's (read by a third, plain y-websocket client).
 * Also: the editor's "Share…" commands, a token kept across a board change, and an
 * opaque token (an `authenticate` hook) where only the server's Welcome says "read only".
 */

const haveChromium = chromiumAvailable('viewer-link');
const APP = CANVAS_APP;
const DIST = CANVAS_DIST;
const IMG = fileURLToPath(new URL('../../docs/img/', import.meta.url));
const VIEWPORT = { width: 880, height: 560 };
const SECRET = 'viewer-link-test-secret-0123456789abcdef';

interface Status {
  connection: string;
  synced: boolean;
  readOnly: boolean;
  viewOnly: boolean;
  pendingUpdates: number;
  pending: number;
  badge: string;
}

const status = (page: Page): Promise<Status> => page.evaluate('__skein.status()');

/** `skein token --url`: the real CLI prints the page with `?token=` added. */
function mintLink(sub: string, docs: string, page: string): string {
  const run = spawnSync(process.execPath, [CLI_MAIN, 'token', '--sub', sub, '--docs', docs, '--url', page, '--ttl', '600'], {
    encoding: 'utf8',
    env: { ...process.env, SKEIN_AUTH_JWT_SECRET: SECRET },
  });
  if (run.status !== 0) throw new Error(`skein token failed:\n${run.stdout}${run.stderr}`);
  return run.stdout.trim();
}

function withParams(link: string, params: Record<string, string>): string {
  const url = new URL(link);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.toString();
}

const open = openCanvas;
const drag = (page: Page, from: readonly [number, number], to: readonly [number, number], steps = 10): Promise<void> =>
  dragWith(page, from, to, steps);

/** Draw a fresh shape (Escape first: nothing selected, so the drag creates rather than moves). */
async function draw(page: Page, tool: string, from: readonly [number, number], to: readonly [number, number]): Promise<Shape> {
  await page.keyboard.press('Escape');
  return drawWith(page, tool, from, to, 10);
}

/** Pick a colour for new shapes (Escape first: with a shape selected, a colour click recolours it). */
async function color(page: Page, hex: string): Promise<void> {
  await page.keyboard.press('Escape');
  await page.click(`#toolbar [data-color="${hex}"]`);
}

const cursorAt = (name: string, x: number, y: number): string =>
  `[...document.querySelectorAll('#board .cursor')].some((c) => c.dataset.name === ${js(name)} && c.style.transform === 'translate(${x}px, ${y}px)')`;
/** …and its 60 ms transition has ended (for a screenshot). */
const cursorSettled = (name: string, x: number, y: number): string =>
  `[...document.querySelectorAll('#board .cursor')].some((c) => c.dataset.name === ${js(name)} && getComputedStyle(c).transform === 'matrix(1, 0, 0, 1, ${x}, ${y})')`;

describe.skipIf(!haveChromium)('canvas viewer link: a read-only token against skein serve --auth jwt', () => {
  let browser: Browser;
  let server: CliServer;
  let base: string;
  let dataDir: string;

  beforeAll(async () => {
    const built = spawnSync(process.execPath, [join(APP, 'scripts', 'build-if-needed.mjs'), '--quiet'], { encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`canvas build failed:\n${built.stdout}${built.stderr}`);
    mkdirSync(IMG, { recursive: true });
    mkdirSync(RESULTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'skein-viewer-'));
    server = await startCliServer(['--port', '0', '--data-dir', dataDir, '--static-dir', DIST, '--auth', 'jwt', '--auth-jwt-secret', SECRET]);
    base = `http://127.0.0.1:${server.port}`;
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    if (server !== undefined) await stopCliServer(server);
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  it('the editor draws, the viewer sees it live and says "View only"; nothing the viewer tries changes the document', async () => {
    const board = 'demo';
    const page = `${base}/#${board}`;
    const editorLink = mintLink('ada', 'canvas/*=write', page);
    const viewerLink = mintLink('guest', `canvas/${board}=read`, page);
    expect(viewerLink).toMatch(new RegExp(`^${base.replace(/\./g, '\\.')}/\\?token=[\\w-]+\\.[\\w-]+\\.[\\w-]+#demo$`));

    const [ctxE, ctxV] = [await browser.newContext({ viewport: VIEWPORT }), await browser.newContext({ viewport: VIEWPORT })];
    try {
      const editor = await open(ctxE, withParams(editorLink, { name: 'Ada', color: '#7048e8' }), 'editor');
      const viewer = await open(ctxV, withParams(viewerLink, { name: 'Guest', color: '#0c8599' }), 'viewer');

      // The server's Welcome said read-only; the page shows it and locks the tools.
      await until(viewer, '__skein.status().readOnly && __skein.status().viewOnly');
      expect(await viewer.isVisible('#view-only')).toBe(true);
      expect((await viewer.textContent('#view-only'))?.trim()).toBe('View only');
      await until(viewer, '__skein.status().badge === "Live"');
      const toolbar: { buttons: number; disabled: number } = await viewer.evaluate(
        '(() => { const b = [...document.querySelectorAll("#toolbar button")]; return { buttons: b.length, disabled: b.filter((x) => x.disabled).length }; })()',
      );
      expect(toolbar.buttons).toBeGreaterThan(10);
      expect(toolbar.disabled).toBe(toolbar.buttons);
      // The editor is not affected.
      expect(await status(editor)).toMatchObject({ readOnly: false, viewOnly: false });
      expect(await editor.isVisible('#view-only')).toBe(false);
      expect(await editor.isEnabled('#toolbar [data-tool="rect"]')).toBe(true);
      // The editor sees the viewer in "who is here", marked as viewing.
      await until(editor, 'document.querySelector(\'#people li[data-name="Guest"][data-viewing="true"]\') !== null');

      // The editor draws: the viewer sees each shape.
      await color(editor, '#1971c2');
      const rect = await draw(editor, 'rect', [90, 120], [300, 250]);
      await until(viewer, `__skein.shapes().some((s) => s.id === ${js(rect.id)} && s.x === 90 && s.w === 210)`);
      await until(viewer, `__skein.rendered().some((d) => d.id === ${js(rect.id)})`);
      await color(editor, '#2f9e44');
      const ellipse = await draw(editor, 'ellipse', [370, 110], [520, 215]);
      await color(editor, '#1e1e1e');
      await draw(editor, 'arrow', [305, 185], [365, 165]);
      await color(editor, '#e8b600');
      await editor.click('#toolbar [data-tool="note"]');
      await drag(editor, [560, 180], [760, 320]);
      await editor.keyboard.type('Viewers watch live.\nTheir toolbar is off.');
      await editor.keyboard.press('Escape');
      const note = (await shapes(editor)).find((s) => s.kind === 'note') as Shape;
      await until(viewer, `__skein.shapes().some((s) => s.id === ${js(note.id)} && s.text.endsWith('off.'))`);
      await until(editor, '__skein.status().saved');
      const before = await shapes(viewer);
      expect(before.map((s) => s.id).sort()).toEqual((await shapes(editor)).map((s) => s.id).sort());

      // The viewer tries everything: a disabled tool button, shortcuts, drawing, moving,
      // deleting, recolouring, writing in the note, undo and redo.
      await viewer.click('#toolbar [data-tool="rect"]', { force: true });
      await viewer.click('#toolbar [data-color="#e03131"]', { force: true });
      await viewer.keyboard.press('r');
      await drag(viewer, [120, 380], [300, 480]);
      await viewer.keyboard.press('p');
      await drag(viewer, [400, 400], [520, 470]);
      await viewer.mouse.click(150, 180);
      await drag(viewer, [150, 180], [250, 300]);
      await viewer.keyboard.press('Delete');
      await viewer.keyboard.press(']');
      await viewer.mouse.dblclick(660, 250);
      await viewer.keyboard.type('changed by the viewer');
      await viewer.keyboard.press('Control+z');
      await viewer.keyboard.press('Control+Shift+z');
      await viewer.evaluate('document.querySelector(\'#toolbar [data-action="undo"]\').click()');

      // Its own document: not one change made here, nothing pending, the shapes as they were.
      expect(await viewer.evaluate('__skein.ownChanges()')).toBe(false);
      expect(await viewer.evaluate('__skein.stats().transactions')).toBe(0);
      expect(await status(viewer)).toMatchObject({ pendingUpdates: 0, pending: 0, viewOnly: true });
      expect(await shapes(viewer)).toEqual(before);
      expect(await viewer.isHidden('#note-input')).toBe(true);

      // The server's document: a marker after the attempts. The viewer's cursor (awareness,
      // allowed by default) travels on the same socket after anything it might have sent;
      // once the editor sees it there, then draws a marker the viewer receives, a fresh
      // plain client reads what the server holds.
      await viewer.mouse.move(470, 430);
      await until(editor, cursorAt('Guest', 470, 430));
      await color(editor, '#1e1e1e');
      const marker = await draw(editor, 'line', [90, 300], [300, 300]);
      await until(viewer, `__skein.shapes().some((s) => s.id === ${js(marker.id)})`);
      await until(editor, '__skein.status().saved');
      const plainDoc = new Y.Doc();
      const readToken = new URL(viewerLink).searchParams.get('token') as string;
      const plain = connectProvider(server.url, `canvas/${board}`, plainDoc, { params: { token: readToken } });
      try {
        await synced(plain);
        const stored = plainDoc.getMap<Y.Map<unknown>>('shapes');
        const expected = await shapes(editor);
        expect([...stored.keys()].sort()).toEqual(expected.map((s) => s.id).sort());
        for (const shape of expected) {
          const map = stored.get(shape.id);
          expect({ x: map?.get('x'), y: map?.get('y'), w: map?.get('w'), h: map?.get('h') }).toEqual({ x: shape.x, y: shape.y, w: shape.w, h: shape.h });
        }
        // Note text is a Y.Text (concurrent typing merges).
        expect(String(stored.get(note.id)?.get('text'))).toBe('Viewers watch live.\nTheir toolbar is off.');
        expect(stored.get(rect.id)?.get('x')).toBe(90);
        expect(stored.has(ellipse.id)).toBe(true);
        expect(await shapes(viewer)).toEqual(expected);
      } finally {
        plain.destroy();
      }

      // The screenshot: the viewer's window with the editor's cursor and selection.
      await editor.click('#toolbar [data-tool="select"]');
      await editor.mouse.click(150, 200);
      await editor.mouse.move(470, 250);
      await viewer.mouse.move(700, 420);
      await until(viewer, cursorSettled('Ada', 470, 250));
      await until(viewer, 'document.querySelectorAll("#board .remote-selection").length === 1');
      await until(editor, cursorAt('Guest', 700, 420));
      await viewer.screenshot({ path: join(IMG, 'canvas-viewer.png') });
      expect(existsSync(join(IMG, 'canvas-viewer.png'))).toBe(true);
    } finally {
      await ctxE.close();
      await ctxV.close();
    }
  });

  it('the editor’s "Share…" shows the skein token commands for an editor and a viewer link to this board; another board keeps the token and says it has no access', async () => {
    const board = 'retro';
    const page = `${base}/#${board}`;
    const viewerOnDemo = mintLink('guest', 'canvas/demo=read', `${base}/#demo`);
    const editorLink = mintLink('ada', 'canvas/*=write', page);
    const [ctxE, ctxV] = [await browser.newContext({ viewport: VIEWPORT }), await browser.newContext({ viewport: VIEWPORT })];
    try {
      const editor = await open(ctxE, withParams(editorLink, { name: 'Ada' }), 'editor');
      expect(await editor.isHidden('#share')).toBe(true);
      await editor.click('#share-button');
      await until(editor, '!document.querySelector("#share").hidden');
      expect(await editor.textContent('#viewer-command')).toBe(`skein token --sub guest --docs 'canvas/${board}=read' --url '${base}/#${board}'`);
      expect(await editor.textContent('#editor-command')).toBe(`skein token --sub editor --docs 'canvas/${board}=write' --url '${base}/#${board}'`);
      await editor.screenshot({ path: join(RESULTS, 'canvas-viewer-link-popover.png') });
      await editor.keyboard.press('Escape');
      await until(editor, 'document.querySelector("#share").hidden');

      // A viewer link for "demo" opened on "retro" (the fragment changed): the token stays in
      // the URL; the page knows from it that it has no access here, and edits nothing.
      const viewer = await open(ctxV, withParams(viewerOnDemo, { name: 'Guest' }), 'viewer');
      await until(viewer, '__skein.status().readOnly');
      await viewer.evaluate(`location.hash = ${js(`#${board}`)}`);
      await until(viewer, `typeof __skein === "object" && __skein.board === ${js(board)}`);
      expect(new URL(viewer.url()).searchParams.get('token')).toBe(new URL(viewerOnDemo).searchParams.get('token'));
      await until(viewer, `__skein.status().badge === ${js(`This link has no access to “${board}”`)}`);
      const after = await status(viewer);
      expect(after.viewOnly).toBe(true);
      expect(after.connection).not.toBe('connected');
      expect(await viewer.isVisible('#view-only')).toBe(true);
    } finally {
      await ctxE.close();
      await ctxV.close();
    }
  });

  it('an opaque token the page cannot read (an authenticate hook): the server’s Welcome alone makes the page view only', async () => {
    // The embedder's own sessions: the page has no claim to read, only the server knows.
    const authenticate: Authenticate = (request) => {
      const token = new URL(request.url ?? '/', 'http://localhost').searchParams.get('token');
      if (token === 'editor-session') return { user: 'ada', access: () => 'write' };
      if (token === 'viewer-session') return { user: 'guest', access: () => 'read' };
      throw new SkeinError('SKEIN_ERR_AUTH_MISSING');
    };
    const own = await startTestServer({ staticDir: DIST }, { authenticate });
    const url = `http://127.0.0.1:${own.port}`;
    const [ctxE, ctxV] = [await browser.newContext({ viewport: VIEWPORT }), await browser.newContext({ viewport: VIEWPORT })];
    try {
      const editor = await open(ctxE, `${url}/?token=editor-session&name=Ada#hook`, 'editor');
      const viewer = await open(ctxV, `${url}/?token=viewer-session&name=Guest#hook`, 'viewer');
      await until(viewer, '__skein.status().readOnly && __skein.status().viewOnly');
      expect(await viewer.isVisible('#view-only')).toBe(true);
      expect(await viewer.evaluate('[...document.querySelectorAll("#toolbar button")].every((b) => b.disabled)')).toBe(true);
      // The editor's page, too, waited for the Welcome before it allowed editing.
      await until(editor, '!__skein.status().viewOnly');
      expect(await status(editor)).toMatchObject({ readOnly: false, viewOnly: false });
      expect(await editor.isVisible('#view-only')).toBe(false);

      const rect = await draw(editor, 'rect', [100, 120], [260, 220]);
      await until(viewer, `__skein.shapes().some((s) => s.id === ${js(rect.id)})`);
      await viewer.keyboard.press('r');
      await drag(viewer, [400, 300], [520, 400]);
      await drag(viewer, [150, 160], [300, 300]);
      await viewer.keyboard.press('Control+z');
      expect(await viewer.evaluate('__skein.ownChanges()')).toBe(false);
      expect(await status(viewer)).toMatchObject({ pendingUpdates: 0, viewOnly: true });
      expect(await shapes(viewer)).toEqual(await shapes(editor));
    } finally {
      await ctxE.close();
      await ctxV.close();
      await own.close();
    }
  });
});
