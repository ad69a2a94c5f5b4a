#!/usr/bin/env node
// The canvas pictures in the README: two users editing one board, in Debian's Chromium
// against a real `skein serve` (a fresh data dir). Writes
//   docs/img/canvas.png                 the board, two windows side by side
//   docs/img/canvas-two-users-{1..4}.png a short sequence of the two editing
//
//   node examples/canvas/scripts/screenshots.mjs      (after `pnpm build`; CHROMIUM_PATH overrides /usr/bin/chromium)
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const app = dirname(dirname(fileURLToPath(import.meta.url)));
const repo = join(app, '..', '..');
const img = join(repo, 'docs', 'img');
// playwright-core is a dev dependency of the test package.
const { chromium } = createRequire(join(repo, 'test', 'package.json'))('playwright-core');
const VIEWPORT = { width: 860, height: 560 };

const build = spawnSync(process.execPath, [join(app, 'scripts', 'build-if-needed.mjs'), '--quiet'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const dataDir = mkdtempSync(join(tmpdir(), 'skein-screenshots-'));
const server = spawn(process.execPath, [join(repo, 'server', 'dist', 'cli', 'main.js'), 'serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--static-dir', join(app, 'dist')], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const port = await new Promise((resolve, reject) => {
  server.once('exit', (code) => reject(new Error(`skein serve exited (${code})`)));
  createInterface({ input: server.stdout }).on('line', (line) => {
    try {
      const entry = JSON.parse(line);
      if (entry.msg === 'listening') resolve(entry.port);
    } catch {
      // not a log line
    }
  });
});
const base = `http://127.0.0.1:${port}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

const until = (page, expression, timeout = 15_000) => page.waitForFunction(expression, undefined, { timeout, polling: 'raf' });
async function open(name, color) {
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  await page.goto(`${base}/?name=${name}&color=${encodeURIComponent(color)}#demo`);
  await until(page, 'typeof __skein === "object" && __skein.status().synced');
  return page;
}
async function drag(page, from, to, steps = 10) {
  await page.mouse.move(...from);
  await page.mouse.down();
  await page.mouse.move(...to, { steps });
  await page.mouse.up();
}
async function tool(page, name) {
  await page.keyboard.press('Escape');
  await page.click(`#toolbar [data-tool="${name}"]`);
}
async function color(page, hex) {
  await page.keyboard.press('Escape');
  await page.click(`#toolbar [data-color="${hex}"]`);
}
const cursorAt = (name, x, y) =>
  `[...document.querySelectorAll('#board .cursor')].some((c) => c.dataset.name === ${JSON.stringify(name)} && getComputedStyle(c).transform === 'matrix(1, 0, 0, 1, ${x}, ${y})')`;
const settled = (page) => until(page, '__skein.status().saved || __skein.status().badge === "Live"');

/** Both windows side by side with a window frame each, and a caption. */
async function compose(a, b, file, caption) {
  const shots = [
    ['Ada', await a.screenshot()],
    ['Grace', await b.screenshot()],
  ];
  const page = await browser.newPage({ viewport: { width: VIEWPORT.width * 2 + 72, height: VIEWPORT.height + 86 + (caption ? 40 : 0) } });
  await page.setContent(`<!doctype html><body style="margin:0;padding:24px;background:#cfd5dd;font:13px system-ui,'Liberation Sans',sans-serif">
    <div style="display:flex;gap:24px">${shots
      .map(
        ([name, png]) => `<div style="border-radius:10px;overflow:hidden;box-shadow:0 8px 28px rgb(0 0 0 / .22);background:#fff">
          <div style="height:38px;display:flex;align-items:center;gap:7px;padding:0 14px;background:#eceff3;border-bottom:1px solid #dde1e6;color:#4b5563">
            <span style="width:11px;height:11px;border-radius:50%;background:#ff5f57"></span><span style="width:11px;height:11px;border-radius:50%;background:#febc2e"></span><span style="width:11px;height:11px;border-radius:50%;background:#28c840"></span>
            <span style="margin-left:12px">${name} — localhost:1234/#demo</span>
          </div>
          <img style="display:block" width="${VIEWPORT.width}" height="${VIEWPORT.height}" src="data:image/png;base64,${png.toString('base64')}">
        </div>`,
      )
      .join('')}</div>
    ${caption ? `<div style="margin-top:14px;font-size:17px;color:#1f2937">${caption}</div>` : ''}
  </body>`);
  await page.screenshot({ path: join(img, file), fullPage: true });
  await page.close();
  process.stdout.write(`wrote docs/img/${file}\n`);
}

try {
  mkdirSync(img, { recursive: true });
  const a = await open('Ada', '#7048e8');
  const b = await open('Grace', '#e8590c');

  // 1. Ada names the board and draws two shapes joined by an arrow; Grace sees it live.
  await a.click('#boards-button');
  await a.fill('#board-title', 'Launch plan');
  await a.press('#board-title', 'Enter');
  await a.click('#boards-button');
  await color(a, '#1971c2');
  await tool(a, 'rect');
  await drag(a, [80, 120], [260, 220]);
  await color(a, '#2f9e44');
  await tool(a, 'ellipse');
  await drag(a, [390, 110], [540, 210]);
  await color(a, '#1e1e1e');
  await tool(a, 'arrow');
  await drag(a, [170, 170], [465, 160]);
  await a.mouse.move(430, 280);
  await until(b, '__skein.shapes().length === 3 && __skein.title() === "Launch plan"');
  await until(b, cursorAt('Ada', 430, 280));
  await compose(a, b, 'canvas-two-users-1.png', '1 · Ada names the board and draws; the arrow is attached to both shapes. Grace sees it live, with Ada’s cursor.');

  // 2. Grace adds a sticky note (shared text) and a diamond, attached by another arrow.
  await color(b, '#e8b600');
  await tool(b, 'note');
  await drag(b, [580, 240], [770, 380]);
  await b.keyboard.type('Ship canvas 2.0\n– export PNG / SVG\n– viewer links');
  await b.keyboard.press('Escape');
  await color(b, '#9c36b5');
  await tool(b, 'diamond');
  await drag(b, [300, 290], [440, 390]);
  await color(b, '#1e1e1e');
  await tool(b, 'arrow');
  await drag(b, [465, 160], [370, 340]);
  await b.mouse.move(540, 420);
  await until(a, '__skein.shapes().length === 6');
  await until(a, cursorAt('Grace', 540, 420));
  await compose(a, b, 'canvas-two-users-2.png', '2 · Grace writes a sticky note (Y.Text: typing merges) and adds a diamond with an attached arrow.');

  // 3. Ada moves the ellipse: both arrows follow it; Grace sees Ada's selection.
  await tool(a, 'select');
  await drag(a, [500, 130], [580, 100]);
  await a.mouse.move(640, 230);
  await until(b, cursorAt('Ada', 640, 230));
  await until(b, 'document.querySelectorAll("#board .remote-selection").length === 1');
  await compose(a, b, 'canvas-two-users-3.png', '3 · Ada moves the ellipse: both arrows follow. Grace sees Ada’s selection in Ada’s colour.');

  // 4. Grace turns the note and underlines it freehand; Ada selects two shapes with a marquee.
  await tool(b, 'select');
  await b.mouse.click(675, 350);
  const handle = await b.evaluate(`(() => { const h = document.querySelector('#board [data-handle="rotate"]'); return [Number(h.getAttribute('cx')), Number(h.getAttribute('cy'))]; })()`);
  await drag(b, handle, [handle[0] + 24, handle[1] + 2]);
  await color(b, '#e03131');
  await tool(b, 'pen');
  await b.mouse.move(585, 410);
  await b.mouse.down();
  for (let i = 0; i <= 30; i++) await b.mouse.move(585 + i * 6.5, 412 + Math.sin(i / 3) * 6);
  await b.mouse.up();
  await tool(a, 'select');
  await drag(a, [50, 90], [290, 420]);
  await a.mouse.move(250, 400);
  await b.mouse.move(760, 200);
  await until(b, cursorAt('Ada', 250, 400));
  await until(a, cursorAt('Grace', 760, 200));
  await settled(a);
  await settled(b);
  await compose(a, b, 'canvas-two-users-4.png', '4 · Grace turns the note and underlines it; Ada marquee-selects. “All changes saved” means on the server’s disk.');
  await compose(a, b, 'canvas.png', '');
} finally {
  await browser.close();
  server.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}
