import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { WebsocketProvider } from 'y-websocket';
import type { SkeinServer } from '@skein/server';
import { RESULTS, chromiumAvailable, js, launchChromium, until } from '../helpers/canvas-page.js';
import { connectProvider, destroyAll, synced } from '../helpers/clients.js';
import { ADMIN_TOKEN, JWT_SECRET, token } from '../helpers/api.js';
import { startTestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The inspector at /_skein/ in real Chromium against a real server (`--auth jwt`, an admin
 * token): sign in, watch a document change live while a y-websocket client edits, see its
 * presence, create a version and restore it from the page while the client stays connected
 * (it converges), close its connection from the Connections page (4403); `--inspector off`
 * answers 404. Writes the README's screenshot, docs/img/inspector.png.
 */
const haveChromium = chromiumAvailable('inspector');
const BUILD = fileURLToPath(new URL('../../examples/inspector/scripts/build-if-needed.mjs', import.meta.url));
const IMG = fileURLToPath(new URL('../../docs/img/', import.meta.url));
const DOC = 'board/roadmap';

describe.skipIf(!haveChromium)('inspector in Chromium', () => {
  let browser: Browser;
  let server: SkeinServer;
  let base: string;
  const providers: WebsocketProvider[] = [];

  beforeAll(async () => {
    const built = spawnSync(process.execPath, [BUILD, '--quiet'], { encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`inspector build failed:\n${built.stdout}${built.stderr}`);
    mkdirSync(IMG, { recursive: true });
    mkdirSync(RESULTS, { recursive: true });
    server = await startTestServer({ auth: 'jwt', authJwtSecret: JWT_SECRET, adminToken: ADMIN_TOKEN, historyInterval: '0' });
    base = `http://127.0.0.1:${server.port}`;
    browser = await launchChromium();
  });
  afterAll(async () => {
    destroyAll(providers.splice(0));
    await browser?.close();
    await server?.close();
  });

  async function editor(sub: string): Promise<WebsocketProvider> {
    const p = connectProvider(server.url, DOC, undefined, { params: { token: await token({ 'board/*': 'write' }, sub) } });
    providers.push(p);
    await synced(p);
    return p;
  }

  async function signIn(): Promise<Page> {
    // bypassCSP: the page's CSP forbids eval, which Playwright's string predicates use.
    const page = await browser.newPage({ viewport: { width: 1200, height: 760 }, bypassCSP: true });
    page.on('pageerror', (err) => console.error('[inspector] page error:', err));
    await page.goto(`${base}/_skein/`);
    await page.waitForSelector('#login');
    await page.fill('#token', 'not-the-admin-token');
    await page.click('#login button[type=submit]');
    // A wrong token is refused and the form stays.
    await page.waitForSelector('#login .error');
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('#login button[type=submit]');
    await until(page, '__inspector.loggedIn() && __inspector.page() === "overview"');
    return page;
  }

  it('signs in, shows a document live while a y-websocket client edits, restores a version the client converges to', async () => {
    const alice = await editor('alice');
    const shapes = alice.doc.getMap('shapes');
    alice.doc.transact(() => {
      shapes.set('s1', { kind: 'rect', x: 10, y: 20, color: '#1971c2' });
      shapes.set('s2', { kind: 'note', x: 200, y: 40, text: 'Ship the inspector' });
      alice.doc.getText('title').insert(0, 'Q3 roadmap');
    });
    alice.awareness.setLocalStateField('user', { name: 'Alice', color: '#e8590c' });
    const bob = await editor('bob');
    bob.awareness.setLocalStateField('user', { name: 'Bob', color: '#2f9e44' });
    await waitFor(async () => (await fetch(`${base}/api/v1/docs/${encodeURIComponent(DOC)}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status === 200);

    const page = await signIn();
    // The overview fills in from /health, /readyz and /metrics.
    await until(page, 'document.querySelector(".card-value")?.textContent === "healthy"');

    // Documents: the list links to the document.
    await page.click('nav a[href="#/docs"]');
    await page.waitForSelector(`#documents tr[data-doc=${js(DOC)}] a`);
    await page.click(`#documents tr[data-doc=${js(DOC)}] a`);
    await until(page, `__inspector.page() === "document" && __inspector.document.content?.shapes?.s1?.x === 10`);

    // Live: an edit by the y-websocket client shows up without reloading, in the tree too.
    shapes.set('s1', { kind: 'rect', x: 99, y: 20, color: '#1971c2' });
    await until(page, 'document.querySelector(\'#content [data-path="$.shapes.s1.x"] .v-number\')?.textContent === "99"');
    await until(page, '["Alice", "Bob"].every((n) => document.querySelector("#presence").textContent.includes(n))');

    // A named version from the page.
    await page.fill('input[aria-label="Version label"]', 'before cleanup');
    await page.click('#create-version');
    await until(page, '__inspector.document.versions.some((v) => v.label === "before cleanup")');
    const version = await page.evaluate<number>('__inspector.document.versions.find((v) => v.label === "before cleanup").id');
    const atVersion = shapes.toJSON();

    // The client changes things; the page follows; then restore from the page.
    alice.doc.transact(() => {
      shapes.delete('s2');
      shapes.set('s3', { kind: 'arrow', from: 's1', to: 's2' });
    });
    await until(page, '__inspector.document.content.shapes.s3 !== undefined && __inspector.document.content.shapes.s2 === undefined');
    page.once('dialog', (dialog) => void dialog.accept());
    await page.click(`#versions li[data-version="${version}"] .restore-version`);
    await waitFor(() => JSON.stringify(shapes.toJSON()) === JSON.stringify(atVersion) && JSON.stringify(bob.doc.getMap('shapes').toJSON()) === JSON.stringify(atVersion),
      { what: 'both connected clients converge to the restored version' });
    await until(page, '__inspector.document.content.shapes.s2 !== undefined && __inspector.document.content.shapes.s3 === undefined');
    await until(page, '__inspector.document.versions.some((v) => v.kind === "before-restore")');
    await page.click(`#versions li[data-version="${version}"] .preview-version`);
    await page.waitForSelector('.preview:not([hidden]) .json-tree details');
    await page.screenshot({ path: join(IMG, 'inspector.png') });

    // Connections: both sockets are listed; closing one from the page closes it with 4403.
    await page.click('nav a[href="#/connections"]');
    await until(page, 'document.querySelectorAll("#connections tr[data-connection]").length === 2');
    const bobClosed = new Promise<number>((resolve) => bob.once('connection-close', (event: { code: number } | null) => resolve(event?.code ?? 0)));
    const bobRow = await page.evaluate<string>('[...document.querySelectorAll("#connections tr[data-connection]")].find((r) => r.textContent.includes("bob")).dataset.connection');
    page.once('dialog', (dialog) => void dialog.accept());
    await page.click(`#connections tr[data-connection="${bobRow}"] .close-connection`);
    expect(await bobClosed).toBe(4403);
    await until(page, 'document.querySelectorAll("#connections tr[data-connection]").length === 1');

    // Overview charts read /metrics: edits between two scrapes give an updates/s and a fan-out latency.
    await page.click('nav a[href="#/"]');
    const chart = (id: string): Promise<string> => page.evaluate<string>(`document.querySelector('[data-chart="${id}"] .chart-value')?.textContent ?? ''`);
    let n = 0;
    await waitFor(async () => {
      shapes.set('tick', n++);
      return (await chart('fanout')).endsWith(' ms') && (await chart('durable')).endsWith(' ms') && Number(await chart('updates')) > 0;
    }, { what: 'the overview charts show latency and update rates', intervalMs: 200, timeoutMs: 30_000 });
    await page.screenshot({ path: join(RESULTS, 'inspector-overview.png') });
    await page.close();
  });

  it('--inspector off: /_skein/ answers 404', async () => {
    const off = await startTestServer({ inspector: 'off' });
    try {
      const page = await browser.newPage();
      const answer = await page.goto(`http://127.0.0.1:${off.port}/_skein/`);
      expect(answer?.status()).toBe(404);
      expect(await page.textContent('body')).toContain('SKEIN_ERR_NOT_FOUND');
      await page.close();
    } finally {
      await off.close();
    }
  });
});
