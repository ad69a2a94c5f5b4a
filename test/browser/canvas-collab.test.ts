import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { canvasServerFixture, chromiumAvailable, drag, draw, js, openBoard, shapes, until, type Shape } from '../helpers/canvas-page.js';

/**
 * Canvas 2.0 with three browser contexts on one board, against a real `skein serve`:
 * arrows attached to shapes follow them, marquee multi-select moves together, rotate and
 * resize show everywhere, others' selections are outlined; a sticky note's Y.Text merges
 * concurrent typing (one writer offline) and each user's undo takes back only their own
 * typing; undo of a move keeps another user's recolour; a rename shows for everyone and
 * the board list creates and opens boards; keys, wheel and a real two-finger pinch (CDP touch
 * events) move the camera, and another user's cursor lands on the same board point at any zoom.
 */

const haveChromium = chromiumAvailable('canvas collaboration');
const VIEWPORT = { width: 1100, height: 700 };
const boardName = (what: string): string => `${what}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;

const shape = (page: Page, id: string): Promise<Shape | undefined> => page.evaluate(`__skein.shapes().find((s) => s.id === ${js(id)})`);
const noteText = (id: string): string => `(__skein.shapes().find((s) => s.id === ${js(id)}) ?? { text: null }).text`;

describe.skipIf(!haveChromium)('canvas 2.0: three users on one board', () => {
  const fixture = canvasServerFixture('canvas-collab');
  const three = async (board: string): Promise<[Page, Page, Page]> => {
    const pages: Page[] = [];
    for (const [name, color] of [['Ada', '#7048e8'], ['Grace', '#e8590c'], ['Linus', '#0c8599']] as const) {
      pages.push(await openBoard(await fixture.context({ viewport: VIEWPORT }), fixture.base, board, name, color));
    }
    return pages as [Page, Page, Page];
  };

  it('an attached arrow follows its shapes; marquee multi-select moves together; rotate and resize show everywhere', async () => {
    const [a, b, c] = await three(boardName('arrows'));
    const rect = await draw(a, 'rect', [100, 150], [260, 250]);
    const ellipse = await draw(b, 'ellipse', [460, 150], [600, 250]);
    await until(c, `__skein.shapes().length === 2`);

    // Linus draws an arrow from inside the rectangle to inside the ellipse: both ends attach.
    await c.keyboard.press('Escape');
    const arrow = await draw(c, 'arrow', [180, 200], [530, 200]);
    for (const page of [a, b, c]) {
      await until(page, `__skein.shapes().some((s) => s.id === ${js(arrow.id)} && s.from === ${js(rect.id)} && s.to === ${js(ellipse.id)})`);
    }
    const [start, end] = await a.evaluate<[{ x: number; y: number }, { x: number; y: number }]>(`__skein.lineEnds(${js(arrow.id)})`);
    expect(start.x).toBeCloseTo(266, 0); // the rectangle's right edge + a small gap
    expect(end.x).toBeCloseTo(454, 0); // the ellipse's left edge − the gap

    // Grace moves the ellipse down: in Linus's window the arrow's end follows it.
    await b.click('#toolbar [data-tool="select"]');
    await drag(b, [530, 200], [530, 400]);
    await until(c, `__skein.shapes().some((s) => s.id === ${js(ellipse.id)} && s.y === 350)`);
    await until(c, `(() => { const [, e] = __skein.lineEnds(${js(arrow.id)}); return e.y > 330 && Math.hypot(e.x - 530, e.y - 400) < 80; })()`);

    // Ada drags a marquee over the rectangle (and the arrow's start): both are selected and move together.
    await a.click('#toolbar [data-tool="select"]');
    await drag(a, [60, 100], [300, 300]);
    expect((await a.evaluate<string[]>('__skein.selection()')).sort()).toEqual([rect.id, arrow.id].sort());
    // Linus sees Ada's selection outlined in her colour (Grace still has the ellipse selected).
    await until(c, 'document.querySelectorAll(\'#board .remote-selection[stroke="#7048e8"]\').length === 2');
    await drag(a, [180, 200], [280, 250]);
    await until(b, `__skein.shapes().some((s) => s.id === ${js(rect.id)} && s.x === 200 && s.y === 200)`);
    // Moved with the rectangle, the arrow stays attached at both ends.
    expect(await shape(b, arrow.id)).toMatchObject({ from: rect.id, to: ellipse.id });

    // Rotate: Ada selects the rectangle alone and turns its rotate handle a quarter turn.
    await a.keyboard.press('Escape');
    await a.mouse.click(280, 250);
    expect(await a.evaluate('__skein.selection()')).toEqual([rect.id]);
    // The selection's handles are drawn with the next animation frame.
    await until(a, `document.querySelector('#board [data-handle="rotate"]') !== null`);
    const handle = await a.evaluate<[number, number]>(`(() => { const h = document.querySelector('#board [data-handle="rotate"]'); return [Number(h.getAttribute('cx')), Number(h.getAttribute('cy'))]; })()`);
    expect(handle).toEqual([280, 174]);
    await drag(a, handle, [380, 250]);
    await until(c, `Math.abs(__skein.shapes().find((s) => s.id === ${js(rect.id)}).r - Math.PI / 2) < 0.001`);

    // Resize: Grace drags the ellipse's bottom-right handle 50 px further.
    await b.mouse.click(530, 400);
    await drag(b, [600, 450], [650, 500]);
    await until(a, `__skein.shapes().some((s) => s.id === ${js(ellipse.id)} && s.x === 460 && s.y === 350 && s.w === 190 && s.h === 150)`);
    for (const page of [a, b, c]) await until(page, '__skein.status().saved');
    expect(await shapes(c)).toEqual(await shapes(a));
  });

  it('a sticky note merges concurrent typing (one writer offline, reloading offline); each undo takes back only its own typing', async () => {
    const [a, b, c] = await three(boardName('note'));
    await a.click('#toolbar [data-tool="note"]');
    await drag(a, [120, 140], [400, 320]);
    await a.keyboard.type('Plan');
    await a.keyboard.press('Escape');
    const note = (await shapes(a)).find((s) => s.kind === 'note') as Shape;
    await until(b, `${noteText(note.id)} === 'Plan'`);

    // Grace works offline and writes at the start; Ada, online, at the end — at the same time.
    await b.click('.switch');
    await until(b, '__skein.status().workOffline && __skein.status().connection === "disconnected"');
    await b.mouse.dblclick(260, 230);
    await until(b, '!document.querySelector("#note-input").hidden');
    await b.keyboard.press('Control+Home');
    await b.keyboard.type('Grace: ');
    await a.mouse.dblclick(260, 230);
    await a.keyboard.press('Control+End');
    await a.keyboard.type(' (Ada)');
    await a.keyboard.press('Escape');
    await until(c, `${noteText(note.id)} === 'Plan (Ada)'`);
    await b.keyboard.press('Escape');
    // Grace reloads while still offline: her typing comes back from IndexedDB, still pending.
    expect(await b.evaluate('__skein.flush()')).toBe(true);
    await b.reload();
    await until(b, 'typeof __skein === "object"');
    expect(await b.evaluate('__skein.restored()')).toBe(true);
    await until(b, `${noteText(note.id)} === 'Grace: Plan'`);
    expect(await b.evaluate('__skein.status()')).toMatchObject({ workOffline: true, saved: false, state: 'offline' });
    await b.click('.switch');
    for (const page of [a, b, c]) await until(page, `${noteText(note.id)} === 'Grace: Plan (Ada)'`);

    // Ada's undo takes back her " (Ada)", not Grace's words.
    await a.keyboard.press('Control+z');
    for (const page of [a, b, c]) await until(page, `${noteText(note.id)} === 'Grace: Plan'`);
    // Undo history lives in the page: after her reload Grace has nothing to undo…
    expect(await b.isDisabled('#toolbar [data-action="undo"]')).toBe(true);
    // …until she writes again; her undo takes back only that.
    await b.mouse.dblclick(260, 230);
    await b.keyboard.press('Control+End');
    await b.keyboard.type('!');
    await b.keyboard.press('Escape');
    for (const page of [a, c]) await until(page, `${noteText(note.id)} === 'Grace: Plan!'`);
    await b.keyboard.press('Control+z');
    for (const page of [a, b, c]) await until(page, `${noteText(note.id)} === 'Grace: Plan'`);
    await until(a, '__skein.status().saved');
    await until(b, '__skein.status().saved');
  });

  it("undo of Ada's move keeps Grace's recolour of the same shape; a rename shows for everyone; the board list makes and opens boards", async () => {
    const board = boardName('rename');
    const [a, b] = await three(board);
    const rect = await draw(a, 'rect', [150, 150], [300, 250]);
    await until(b, `__skein.shapes().some((s) => s.id === ${js(rect.id)})`);
    await b.click('#toolbar [data-tool="select"]');
    await b.mouse.click(225, 200);
    await b.click('#toolbar [data-color="#e03131"]');
    await until(a, `__skein.shapes().some((s) => s.id === ${js(rect.id)} && s.color === '#e03131')`);
    await a.click('#toolbar [data-tool="select"]');
    await drag(a, [225, 200], [425, 300]);
    await until(b, `__skein.shapes().some((s) => s.id === ${js(rect.id)} && s.x === 350 && s.y === 250)`);
    await a.keyboard.press('Control+z');
    await until(b, `__skein.shapes().some((s) => s.id === ${js(rect.id)} && s.x === 150 && s.y === 150 && s.color === '#e03131')`);

    // Rename in Ada's board panel: Grace's title and board name follow.
    await a.click('#boards-button');
    await a.fill('#board-title', 'Retro 2026');
    await a.press('#board-title', 'Enter');
    await until(b, `__skein.title() === 'Retro 2026' && document.querySelector('#board-name').textContent === 'Retro 2026'`);
    await b.click('#boards-button');
    await until(b, `document.querySelector('#board-list li.current a')?.textContent === 'Retro 2026'`);

    // A new board from Grace's panel; the old one is in the list and opens again.
    await b.click('#new-board');
    await until(b, `typeof __skein === 'object' && __skein.board !== ${js(board)} && __skein.board.startsWith('board-') && __skein.status().synced`);
    expect(await b.evaluate('__skein.shapes().length')).toBe(0);
    await b.click('#boards-button');
    await b.click(`#board-list li[data-board=${js(board)}] a`);
    await until(b, `typeof __skein === 'object' && __skein.board === ${js(board)} && __skein.status().synced && __skein.shapes().length === 1`);
    expect(new URL(b.url()).searchParams.get('name')).toBe('Grace');
  });

  it('pan and zoom by keys, wheel and a two-finger pinch; a cursor lands on the same board point at any zoom', async () => {
    const board = boardName('zoom');
    const a = await openBoard(await fixture.context({ viewport: VIEWPORT }), fixture.base, board, 'Ada', '#7048e8');
    const ctxB = await fixture.context({ viewport: VIEWPORT, hasTouch: true });
    const b = await openBoard(ctxB, fixture.base, board, 'Grace', '#e8590c');
    await draw(a, 'rect', [200, 200], [300, 300]);
    await until(b, '__skein.shapes().length === 1');
    const camera = (): Promise<{ x: number; y: number; zoom: number }> => b.evaluate('__skein.camera()');

    await b.keyboard.press('+');
    await until(b, '__skein.camera().zoom === 1.5');
    // Zoomed about the middle of the window: the middle's board point stays put.
    expect((await camera()).x).toBeCloseTo(550 - 550 / 1.5, 5);
    await b.mouse.move(600, 400);
    const beforeWheel = await camera();
    await b.mouse.wheel(0, 120);
    await until(b, `Math.abs(__skein.camera().y - ${beforeWheel.y + 120 / 1.5}) < 1e-6 && __skein.camera().x === ${beforeWheel.x}`);
    await b.keyboard.down('Control');
    await b.mouse.wheel(0, -100);
    await b.keyboard.up('Control');
    await until(b, '__skein.camera().zoom > 1.5');
    const beforePinch = await camera();

    // Two fingers spread from 100 px apart to 200 px: twice the zoom.
    const cdp = await ctxB.newCDPSession(b);
    const touch = (type: 'touchStart' | 'touchMove' | 'touchEnd', points: Array<[number, number]>): Promise<unknown> =>
      cdp.send('Input.dispatchTouchEvent', { type, touchPoints: points.map(([x, y], id) => ({ x, y, id })) });
    await touch('touchStart', [[450, 350], [550, 350]]);
    for (let i = 1; i <= 10; i++) await touch('touchMove', [[450 - i * 5, 350], [550 + i * 5, 350]]);
    await touch('touchEnd', []);
    await until(b, `Math.abs(__skein.camera().zoom / ${beforePinch.zoom} - 2) < 0.01`);
    expect(await b.evaluate('__skein.shapes().length')).toBe(1);

    // Ada (at 100 %) points at the rectangle's centre: Grace's window draws her cursor on the same board point.
    await a.mouse.move(250, 250);
    const at = await b.evaluate<{ x: number; y: number }>('__skein.screenPoint(250, 250)');
    await until(
      b,
      `[...document.querySelectorAll('#board .cursor')].some((c) => { const m = /translate\\(([-\\d.]+)px, ([-\\d.]+)px\\)/.exec(c.style.transform); return c.dataset.name === 'Ada' && m !== null && Math.abs(Number(m[1]) - ${at.x}) < 0.2 && Math.abs(Number(m[2]) - ${at.y}) < 0.2; })`,
    );

    // 0 is 100 %; 1 fits the board (the rectangle in the middle, at 100 % at most).
    await b.keyboard.press('0');
    await until(b, '__skein.camera().zoom === 1');
    await b.keyboard.press('1');
    await until(b, `(() => { const p = __skein.screenPoint(250, 250); return __skein.camera().zoom === 1 && Math.abs(p.x - 550) < 1 && Math.abs(p.y - 350) < 1; })()`);
  });
});
