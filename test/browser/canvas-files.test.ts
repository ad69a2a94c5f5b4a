import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { BrowserContext, Page } from 'playwright-core';
import { CLI_MAIN } from '../helpers/cli-server.js';
import { RESULTS, canvasServerFixture, chromiumAvailable, drag, draw, js, openCanvas, shapes, until, type Shape } from '../helpers/canvas-page.js';

/**
 * The board as files, in Chromium against `skein serve --auth jwt`: an editor exports PNG
 * (the file decodes, at the size of the content, and is not blank), SVG (it parses, one
 * group per shape, the note's text as text) and JSON, which imports into another board
 * with fresh ids, attached arrows re-linked, as one undo step. A viewer link may export
 * but cannot import or rename, and its document never changes.
 */

const haveChromium = chromiumAvailable('canvas files');
const VIEWPORT = { width: 1100, height: 700 };
const SECRET = 'canvas-files-test-secret-0123456789abcdef';

function mintLink(sub: string, docs: string, page: string, name: string): string {
  const run = spawnSync(process.execPath, [CLI_MAIN, 'token', '--sub', sub, '--docs', docs, '--url', page, '--ttl', '600'], {
    encoding: 'utf8',
    env: { ...process.env, SKEIN_AUTH_JWT_SECRET: SECRET },
  });
  if (run.status !== 0) throw new Error(`skein token failed:\n${run.stdout}${run.stderr}`);
  const url = new URL(run.stdout.trim());
  url.searchParams.set('name', name);
  return url.toString();
}

/** Click an entry of the Export… menu and return the downloaded file's bytes and name. */
async function exportFile(page: Page, kind: 'png' | 'svg' | 'json'): Promise<{ name: string; bytes: Buffer }> {
  await page.click('#export-button');
  const download = page.waitForEvent('download');
  await page.click(`#file-menu [data-export="${kind}"]`);
  const file = await download;
  const path = join(RESULTS, `canvas-export-${Date.now()}-${file.suggestedFilename()}`);
  await file.saveAs(path);
  return { name: file.suggestedFilename(), bytes: readFileSync(path) };
}

describe.skipIf(!haveChromium)('canvas files: export PNG, SVG, JSON; import JSON; a viewer cannot import', () => {
  const fixture = canvasServerFixture('canvas-files', ['--auth', 'jwt', '--auth-jwt-secret', SECRET]);
  const context = (): Promise<BrowserContext> => fixture.context({ viewport: VIEWPORT, acceptDownloads: true });

  it('exports decode and parse, JSON imports into another board as one undo step; the viewer exports but cannot import or rename', async () => {
    const page = `${fixture.base}#files`;
    const a = await openCanvas(await context(), mintLink('ada', 'canvas/*=write', page, 'Ada'), 'Ada');
    await draw(a, 'rect', [100, 120], [300, 240]);
    const ellipse = await draw(a, 'ellipse', [500, 130], [640, 230]);
    await a.keyboard.press('Escape');
    const arrow = await draw(a, 'arrow', [200, 180], [570, 180]);
    expect(await a.evaluate(`__skein.shapes().find((s) => s.id === ${js(arrow.id)}).to`)).toBe(ellipse.id);
    await a.click('#toolbar [data-tool="note"]');
    await drag(a, [120, 330], [360, 480]);
    await a.keyboard.type('Ship <it> & "test" it');
    await a.keyboard.press('Escape');
    await a.click('#toolbar [data-tool="pen"]');
    await a.mouse.move(450, 400);
    await a.mouse.down();
    for (let i = 0; i <= 20; i++) await a.mouse.move(450 + i * 10, 400 + Math.sin(i / 3) * 30);
    await a.mouse.up();
    await a.click('#boards-button');
    await a.fill('#board-title', 'Files & exports');
    await a.press('#board-title', 'Enter');
    await a.click('#boards-button');
    expect(await a.isHidden('#side-panel')).toBe(true);
    const drawn = await shapes(a);
    expect(drawn).toHaveLength(5);
    await until(a, '__skein.status().saved');

    // PNG: the signature, then a real decode; 2× the content's size; not all white.
    const png = await exportFile(a, 'png');
    expect(png.name).toBe('Files-exports.png');
    expect(png.bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
    const image = PNG.sync.read(png.bytes);
    // The content spans x 100…640 and y 120…480 (+ 24 px margins), drawn at 2×.
    expect(image.width).toBeGreaterThanOrEqual((640 - 100 + 48) * 2 - 8);
    expect(image.width).toBeLessThanOrEqual((640 - 100 + 48) * 2 + 40);
    expect(image.height).toBeGreaterThanOrEqual((480 - 120 + 48) * 2 - 8);
    let coloured = 0;
    for (let i = 0; i < image.data.length; i += 4) if ((image.data[i] ?? 255) < 200 || (image.data[i + 2] ?? 255) < 200) coloured++;
    expect(coloured).toBeGreaterThan(1000);

    // SVG: parses as XML in the page (no parsererror), one group per shape, the note's text escaped and intact.
    const svg = await exportFile(a, 'svg');
    const parsed: { error: boolean; root: string; groups: string[]; text: string } = await a.evaluate(`(() => {
      const doc = new DOMParser().parseFromString(${js(svg.bytes.toString('utf8'))}, 'image/svg+xml');
      return {
        error: doc.querySelector('parsererror') !== null,
        root: doc.documentElement.localName,
        groups: [...doc.querySelectorAll('g[data-id]')].map((g) => g.getAttribute('data-id')),
        text: [...doc.querySelectorAll('text')].map((t) => t.textContent).join(' '),
      };
    })()`);
    expect(parsed.error).toBe(false);
    expect(parsed.root).toBe('svg');
    expect(parsed.groups.sort()).toEqual(drawn.map((s) => s.id).sort());
    expect(parsed.text).toContain('Ship <it> & "test" it');

    // JSON: every shape; imported into another board (Grace's), with fresh ids and the arrow re-linked.
    const json = await exportFile(a, 'json');
    const file = JSON.parse(json.bytes.toString('utf8')) as { format: string; title: string; shapes: Shape[] };
    expect(file).toMatchObject({ format: 'skein-canvas', title: 'Files & exports' });
    expect(file.shapes.map((s) => s.id).sort()).toEqual(drawn.map((s) => s.id).sort());
    const jsonPath = join(RESULTS, `canvas-import-${Date.now()}.json`);
    writeFileSync(jsonPath, json.bytes);

    const g = await openCanvas(await context(), mintLink('grace', 'canvas/*=write', `${fixture.base}#files-copy`, 'Grace'), 'Grace');
    await g.setInputFiles('#import-file', jsonPath);
    await until(g, '__skein.shapes().length === 5');
    const copy = await shapes(g);
    expect(copy.some((s) => drawn.some((d) => d.id === s.id))).toBe(false);
    const strip = (s: Shape): unknown => ({ kind: s.kind, x: s.x, y: s.y, w: s.w, h: s.h, r: s.r, color: s.color, text: s.text });
    expect(copy.map(strip)).toEqual(drawn.map(strip));
    const copiedArrow = copy.find((s) => s.kind === 'arrow') as Shape;
    expect(copy.find((s) => s.id === copiedArrow.to)?.kind).toBe('ellipse');
    expect(copy.find((s) => s.id === copiedArrow.from)?.kind).toBe('rect');
    expect((await g.evaluate<string[]>('__skein.selection()')).sort()).toEqual(copy.map((s) => s.id).sort());
    // One undo step takes the whole import back.
    await g.keyboard.press('Control+z');
    await until(g, '__skein.shapes().length === 0');
    await g.keyboard.press('Control+Shift+z');
    await until(g, '__skein.shapes().length === 5');

    // A viewer of Ada's board: exports work, import and rename are disabled and change nothing.
    const v = await openCanvas(await context(), mintLink('guest', 'canvas/files=read', page, 'Guest'), 'Guest');
    await until(v, '__skein.status().viewOnly && __skein.shapes().length === 5');
    const viewerPng = await exportFile(v, 'png');
    expect(PNG.sync.read(viewerPng.bytes).width).toBe(image.width);
    await v.click('#export-button');
    expect(await v.isDisabled('#file-menu [data-export="import"]')).toBe(true);
    await v.setInputFiles('#import-file', jsonPath);
    await v.click('#boards-button');
    expect(await v.isDisabled('#board-title')).toBe(true);
    expect(await v.inputValue('#board-title')).toBe('Files & exports');
    // A marker from Ada after the attempts: once the viewer has it, anything it sent would be there too.
    const marker = await draw(a, 'line', [700, 500], [800, 520]);
    await until(v, `__skein.shapes().some((s) => s.id === ${js(marker.id)})`);
    expect(await v.evaluate('__skein.ownChanges()')).toBe(false);
    expect(await v.evaluate('__skein.shapes().length')).toBe(6);
    expect(await v.evaluate('__skein.status().pendingUpdates')).toBe(0);
  });
});
