import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import type { Page } from 'playwright-core';
import { CLI_MAIN } from '../helpers/cli-server.js';
import { canvasServerFixture, chromiumAvailable, draw, js, openCanvas, shapes, until } from '../helpers/canvas-page.js';

/**
 * The canvas demo's History panel against a real `skein serve --auth jwt`: the page sends its
 * token as `Authorization: Bearer`. Ada draws, saves a named version, draws again; Grace
 * restores that version from her panel and both pages converge to the one shape. A viewer
 * (read token) lists and previews versions but has no Save or Restore.
 */

const haveChromium = chromiumAvailable('canvas history');
const VIEWPORT = { width: 1100, height: 700 };
const SECRET = 'canvas-history-test-secret-0123456789abcdef';

/** `skein token --url`: the real CLI prints the page with `?token=` added. */
function link(base: string, board: string, sub: string, access: 'read' | 'write'): string {
  const page = `${base}?name=${sub}#${encodeURIComponent(board)}`;
  const run = spawnSync(process.execPath, [CLI_MAIN, 'token', '--sub', sub, '--docs', `canvas/${board}=${access}`, '--url', page, '--ttl', '600'], {
    encoding: 'utf8',
    env: { ...process.env, SKEIN_AUTH_JWT_SECRET: SECRET },
  });
  if (run.status !== 0) throw new Error(`skein token failed:\n${run.stdout}${run.stderr}`);
  return run.stdout.trim();
}

const versionRows = (page: Page): Promise<Array<{ id: string; label: string; buttons: string[] }>> =>
  page.evaluate(`[...document.querySelectorAll('#version-list li')].map((li) => ({
    id: li.dataset.version,
    label: li.querySelector('.version-label').textContent,
    buttons: [...li.querySelectorAll('button')].map((b) => b.dataset.action),
  }))`);

describe.skipIf(!haveChromium)('canvas: the History panel', () => {
  const fixture = canvasServerFixture('canvas-history', ['--auth', 'jwt', '--auth-jwt-secret', SECRET]);
  const open = async (url: string, who: string): Promise<Page> => openCanvas(await fixture.context({ viewport: VIEWPORT }), url, who);

  it('save a version, draw on, restore it from another page: both converge; a viewer previews but cannot restore', async () => {
    const board = `history-${Date.now().toString(36)}`;
    const a = await open(link(fixture.base, board, 'ada', 'write'), 'Ada');
    const b = await open(link(fixture.base, board, 'grace', 'write'), 'Grace');

    const first = await draw(a, 'rect', [100, 150], [260, 250]);
    await until(a, '__skein.status().saved');
    await a.click('#history-button');
    await a.fill('#version-label', 'one box');
    await a.click('#save-version');
    await until(a, `[...document.querySelectorAll('#version-list .version-label')].some((e) => e.textContent === 'one box')`);
    const [saved] = await versionRows(a);
    expect(saved).toMatchObject({ label: 'one box', buttons: ['preview', 'restore'] });

    await a.keyboard.press('Escape');
    await draw(a, 'ellipse', [460, 150], [600, 250]);
    await until(b, '__skein.shapes().length === 2');

    // Grace previews the version (painted from its own Y.Doc; her board still shows two), then restores it.
    await b.click('#history-button');
    await until(b, `document.querySelector('#version-list li[data-version=${js(saved?.id)}]') !== null`);
    await b.click(`#version-list li[data-version=${js(saved?.id)}] [data-action="preview"]`);
    await until(b, `document.querySelector('#version-preview canvas').dataset.shapes === '1'`);
    expect(await b.evaluate('__skein.shapes().length')).toBe(2);
    await b.click(`#version-list li[data-version=${js(saved?.id)}] [data-action="restore"]`);
    for (const page of [a, b]) await until(page, `__skein.shapes().length === 1`);
    expect((await shapes(a)).map((s) => s.id)).toEqual([first.id]);
    expect(await shapes(b)).toEqual(await shapes(a));
    // The restore took a "before restore" version first: it is listed, newest first.
    await until(b, `document.querySelector('#version-list li .version-label')?.textContent === 'before restore of version ${saved?.id}'`);

    // A viewer sees the list and can preview, but has neither Save nor Restore.
    const c = await open(link(fixture.base, board, 'guest', 'read'), 'Guest');
    await until(c, '__skein.status().viewOnly');
    await c.click('#history-button');
    await until(c, `document.querySelectorAll('#version-list li').length === 2`);
    expect(await c.isVisible('#save-version')).toBe(false);
    for (const row of await versionRows(c)) expect(row.buttons).toEqual(['preview']);
    await c.click(`#version-list li[data-version=${js(saved?.id)}] [data-action="preview"]`);
    await until(c, `document.querySelector('#version-preview canvas').dataset.shapes === '1'`);
  });
});
