import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import type * as Y from 'yjs';
import type { SkeinServer } from '@skein/server';
import { startTestServer } from '../helpers/server.js';
import { SharedMemoryStore } from '../helpers/shared-store.js';
import { storedDoc } from '../helpers/skein-client.js';
import { waitFor } from '../helpers/wait.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) {
  throw new Error(`browser tests need Chromium at ${CHROMIUM} (set CHROMIUM_PATH); it is missing under CI`);
}
if (!haveChromium) console.warn(`skipping browser tests: no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`);

interface PageStatus {
  connection: string;
  synced: boolean;
  acks: boolean | null;
  restored: boolean;
  pending: number;
  saved: boolean;
  error: { code: string; closeCode: number | null } | null;
}
interface PageContent {
  shapes: Record<string, unknown>;
  title: string;
}

/** The page bundle (SDK + yjs + idb, all included) and an HTML page, from a tiny HTTP server. */
async function servePage(): Promise<Server> {
  const bundled = await build({
    entryPoints: [fileURLToPath(new URL('./fixtures/page.js', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const js = bundled.outputFiles[0]?.text ?? '';
  const html = '<!doctype html><meta charset="utf-8"><title>skein</title><script type="module" src="/app.js"></script>';
  const http = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/app.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    else if (path === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(html);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return http;
}

const status = (page: Page): Promise<PageStatus> => page.evaluate('skein.status()');
const content = (page: Page): Promise<PageContent> => page.evaluate('skein.content()');
async function ready(page: Page): Promise<void> {
  await page.waitForFunction('typeof skein === "object"');
  await page.evaluate('skein.restored()');
}

describe.skipIf(!haveChromium)('real browser: offline edits survive a reload and reach the server', () => {
  let browser: Browser;
  let http: Server;
  beforeAll(async () => {
    http = await servePage();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => http?.close(resolve));
  });

  it('edits while the server is down, reloads offline, restores from IndexedDB, delivers when it returns', async () => {
    const store = new SharedMemoryStore();
    let server: SkeinServer = await startTestServer({}, { store });
    const { port } = server;
    const context = await browser.newContext();
    const page = await context.newPage();
    const pageUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}/?ws=${encodeURIComponent(`ws://127.0.0.1:${port}`)}&doc=canvas`;
    try {
      // Online: edit, saved.
      await page.goto(pageUrl);
      await ready(page);
      await page.evaluate('skein.edit("online", 5)');
      await page.waitForFunction('skein.status().saved === true');

      // The server goes away (the connection is really cut: nothing listens on the port).
      await server.close();
      await page.waitForFunction('skein.status().connection !== "connected"');
      await page.evaluate('skein.edit("offline", 20)');
      await page.evaluate('skein.flush()');
      const offline = await status(page);
      expect(offline.saved).toBe(false);
      expect(offline.pending).toBeGreaterThan(0);
      const before = await content(page);
      expect(Object.keys(before.shapes)).toHaveLength(25);

      // Reload while the server is still down: everything comes back from IndexedDB.
      await page.reload();
      await ready(page);
      const restored = await status(page);
      expect(restored.restored).toBe(true);
      expect(restored.connection).not.toBe('connected');
      expect(restored.pending).toBeGreaterThan(0);
      expect(restored.saved).toBe(false);
      expect(await content(page)).toEqual(before);
      await page.evaluate('skein.edit("after-reload", 3)');

      // The server returns on the same port: the page delivers everything and shows saved.
      server = await startTestServer({ port }, { store: store.reopen() });
      await page.waitForFunction('skein.status().saved === true', null, { timeout: 20_000 });
      const saved = await status(page);
      expect(saved).toMatchObject({ connection: 'connected', synced: true, acks: true, pending: 0, saved: true });
      const final = await content(page);
      expect(Object.keys(final.shapes)).toHaveLength(28);
      await waitFor(async () => {
        const doc: Y.Doc = await storedDoc(store.inner, 'canvas');
        return doc.getMap('shapes').size === 28 && doc.getText('title').toJSON() === final.title;
      }, { what: 'the server store holds every edit' });
    } finally {
      await context.close();
      await server.close();
    }
  });

  it('setOffline stalls an open socket silently: the liveness check drops it, the online event reconnects at once', async () => {
    const store = new SharedMemoryStore();
    const server = await startTestServer({}, { store });
    const context = await browser.newContext();
    const page = await context.newPage();
    // Liveness 1 s + 1 s; a backoff of minutes, so only the `online` event can explain a quick reconnect.
    const ws = encodeURIComponent(server.url);
    await page.goto(`http://127.0.0.1:${(http.address() as AddressInfo).port}/?ws=${ws}&doc=stall&idle=1000&backoff=120000`);
    try {
      await ready(page);
      await page.evaluate('skein.edit("a", 2)');
      await page.waitForFunction('skein.status().saved === true');
      // Chromium's offline mode neither closes nor errors an open localhost WebSocket: it stalls.
      await context.setOffline(true);
      await page.evaluate('skein.edit("offline", 4)');
      await page.waitForFunction('skein.status().connection !== "connected"', null, { timeout: 10_000 });
      const dropped = await status(page);
      expect(dropped.error?.code).toBe('SKEIN_ERR_CLIENT_LIVENESS_TIMEOUT');
      expect(dropped.saved).toBe(false);
      await context.setOffline(false);
      await page.waitForFunction('skein.status().saved === true', null, { timeout: 10_000 });
      await waitFor(async () => (await storedDoc(store.inner, 'stall')).getMap('shapes').size === 6, { what: 'server store' });
    } finally {
      await context.close();
      await server.close();
    }
  });
});
