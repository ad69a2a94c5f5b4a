import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type Config } from '../src/config/schema.js';
import { SkeinError } from '../src/errors/skein-error.js';
import { contentTypeOf, safeSegments } from '../src/http/static.js';
import { startServer, type SkeinServer } from '../src/server.js';
import { silentLogger } from '../src/logging/logger.js';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * One HTTP/1.1 request with the request target sent byte for byte: no client library
 * normalizes `..`, percent-encoding or control characters away.
 */
function raw(port: number, target: string, method = 'GET', extra: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const headerLines = Object.entries({ Host: `127.0.0.1:${port}`, Connection: 'close', ...extra }).map(([k, v]) => `${k}: ${v}\r\n`);
    socket.on('connect', () => socket.write(Buffer.from(`${method} ${target} HTTP/1.1\r\n${headerLines.join('')}\r\n`, 'latin1')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: text.slice(split + 4) });
    });
  });
}

function config(overrides: Partial<Config>): Config {
  return Object.freeze({ ...DEFAULT_CONFIG, host: '127.0.0.1', port: 0, storage: 'memory', logLevel: 'silent', ...overrides });
}

const SECRET = 'TOP-SECRET-OUTSIDE-THE-ROOT';
const dir = mkdtempSync(join(tmpdir(), 'skein-static-'));
const root = join(dir, 'www');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('static files (--static-dir)', () => {
  let server: SkeinServer;
  beforeAll(async () => {
    mkdirSync(join(root, 'assets'), { recursive: true });
    mkdirSync(join(root, 'sub'));
    mkdirSync(join(root, 'empty'));
    writeFileSync(join(dir, 'secret.txt'), SECRET);
    writeFileSync(join(dir, 'www-secret.txt'), SECRET); // a sibling whose name starts like the root
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>demo</title>');
    writeFileSync(join(root, 'assets', 'index-AbCd1234.js'), 'console.log(1)');
    writeFileSync(join(root, 'style.css'), 'body{}');
    writeFileSync(join(root, 'logo.svg'), '<svg/>');
    writeFileSync(join(root, 'data.json'), '{}');
    writeFileSync(join(root, 'blob.xyz'), 'bytes');
    writeFileSync(join(root, 'healthz'), 'not the health route');
    writeFileSync(join(root, '.env'), SECRET);
    writeFileSync(join(root, 'sub', 'index.html'), '<p>sub</p>');
    writeFileSync(join(root, 'sub', 'a b.txt'), 'spaced');
    symlinkSync(join(dir, 'secret.txt'), join(root, 'link-out.txt'));
    symlinkSync(dir, join(root, 'dir-out'));
    symlinkSync(join(root, 'style.css'), join(root, 'link-in.css'));
    server = await startServer(config({ staticDir: root }), { logger: silentLogger() });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('serves index.html for /, files with their content types, and directories as their index.html', async () => {
    const index = await raw(server.port, '/');
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.headers['x-content-type-options']).toBe('nosniff');
    expect(index.headers['cache-control']).toBe('no-cache');
    expect(index.body).toContain('<title>demo</title>');
    const cases: Array<[string, string, string]> = [
      ['/index.html', 'text/html; charset=utf-8', '<!doctype html><title>demo</title>'],
      ['/assets/index-AbCd1234.js', 'text/javascript; charset=utf-8', 'console.log(1)'],
      ['/style.css', 'text/css; charset=utf-8', 'body{}'],
      ['/logo.svg', 'image/svg+xml', '<svg/>'],
      ['/data.json', 'application/json; charset=utf-8', '{}'],
      ['/blob.xyz', 'application/octet-stream', 'bytes'],
      ['/sub/', 'text/html; charset=utf-8', '<p>sub</p>'],
      ['/sub', 'text/html; charset=utf-8', '<p>sub</p>'],
      ['/sub/a%20b.txt', 'text/plain; charset=utf-8', 'spaced'],
      ['/link-in.css', 'text/css; charset=utf-8', 'body{}'],
      ['/style.css?v=2', 'text/css; charset=utf-8', 'body{}'],
    ];
    for (const [path, type, body] of cases) {
      const res = await raw(server.port, path);
      expect(res.status, path).toBe(200);
      expect(res.headers['content-type'], path).toBe(type);
      expect(res.body, path).toBe(body);
      expect(Number(res.headers['content-length']), path).toBe(Buffer.byteLength(body));
    }
    expect((await raw(server.port, '/assets/index-AbCd1234.js')).headers['cache-control']).toContain('immutable');
  });

  it('HEAD has the headers and no body; other methods get 405 with Allow', async () => {
    const head = await raw(server.port, '/style.css', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('6');
    expect(head.body).toBe('');
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const res = await raw(server.port, '/index.html', method, { 'Content-Length': '0' });
      expect(res.status, method).toBe(405);
      expect(res.headers.allow).toBe('GET, HEAD');
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'SKEIN_ERR_METHOD_NOT_ALLOWED' } });
    }
  });

  it('answers 304 to a matching If-None-Match', async () => {
    const first = await raw(server.port, '/style.css');
    const etag = first.headers.etag ?? '';
    expect(etag).not.toBe('');
    const again = await raw(server.port, '/style.css', 'GET', { 'If-None-Match': etag });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
  });

  it('keeps /healthz and /readyz ahead of files', async () => {
    const health = await raw(server.port, '/healthz');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'alive' });
    expect(JSON.parse((await raw(server.port, '/readyz')).body)).toMatchObject({ status: 'ready' });
  });

  it('answers 404 JSON for missing files and directories without index.html (no listing)', async () => {
    for (const path of ['/missing.js', '/assets/', '/assets', '/empty/', '/sub/missing/', '/index.html/']) {
      const res = await raw(server.port, path);
      expect(res.status, path).toBe(404);
      expect(res.headers['content-type'], path).toBe('application/json; charset=utf-8');
      expect(JSON.parse(res.body), path).toMatchObject({ error: { code: 'SKEIN_ERR_NOT_FOUND' } });
    }
  });

  it('never serves anything outside the directory, dotfiles, or paths with NUL or bad encoding', async () => {
    const attacks = [
      '/../secret.txt',
      '/../../../../../../etc/passwd',
      '/sub/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E/secret.txt',
      '/..%2fsecret.txt',
      '/..%2Fsecret.txt',
      '/%2e%2e%2fsecret.txt',
      '/sub/%2e%2e/%2e%2e/secret.txt',
      '/sub%2f..%2f..%2fsecret.txt',
      '/..\\secret.txt',
      '/%5c..%5csecret.txt',
      '/..%5csecret.txt',
      '/%252e%252e/secret.txt',
      '/%c0%ae%c0%ae/secret.txt',
      '/%e0%80%ae%e0%80%ae/secret.txt',
      '/../www-secret.txt',
      '/%2fetc%2fpasswd',
      '//etc/passwd',
      '/sub//index.html',
      '/./index.html',
      '/sub/./index.html',
      '/index.html%00.png',
      '/index.html%00',
      '/%00',
      '/index.html\0.png',
      '/.env',
      '/%2eenv',
      '/sub/.%2e/secret.txt',
      '/link-out.txt',
      '/dir-out/secret.txt',
      '/dir-out/',
      '/%ZZ',
      '/%',
      'http://127.0.0.1/../secret.txt',
      '*',
      `/${'a/'.repeat(2000)}x`,
      `/${'x'.repeat(5000)}`,
    ];
    for (const target of attacks) {
      const res = await raw(server.port, target);
      // Node itself refuses some request targets with 400 before any handler runs.
      expect([400, 404], target).toContain(res.status);
      expect(res.body, target).not.toContain(SECRET);
      expect(res.body, target).not.toContain('root:');
      if (res.status === 404) expect(JSON.parse(res.body), target).toMatchObject({ error: { code: 'SKEIN_ERR_NOT_FOUND' } });
    }
  });

  it('safeSegments accepts plain paths only', () => {
    expect(safeSegments('/')).toEqual(['']);
    expect(safeSegments('/a/b.js')).toEqual(['a', 'b.js']);
    expect(safeSegments('/a/')).toEqual(['a', '']);
    expect(safeSegments('/a%20b')).toEqual(['a b']);
    expect(safeSegments('/caf%C3%A9')).toEqual(['café']);
    for (const bad of ['', 'a', '/..', '/a/../b', '/%2e%2e', '/a%2fb', '/a%5cb', '/a\\b', '/a//b', '/.', '/.git/config', '/%00', '/a\0', '/%ZZ', '/%c0%ae', '/a%0a']) {
      expect(safeSegments(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });

  it('content types', () => {
    expect(contentTypeOf('a.HTML')).toBe('text/html; charset=utf-8');
    expect(contentTypeOf('a.mjs')).toBe('text/javascript; charset=utf-8');
    expect(contentTypeOf('a.woff2')).toBe('font/woff2');
    expect(contentTypeOf('Makefile')).toBe('application/octet-stream');
  });
});

describe('static files off (the default)', () => {
  it('/ describes the server and files are 404', async () => {
    const server = await startServer(config({}), { logger: silentLogger() });
    try {
      const index = await raw(server.port, '/');
      expect(index.status).toBe(200);
      expect(JSON.parse(index.body)).toMatchObject({ name: 'skein' });
      const file = await raw(server.port, '/index.html');
      expect(file.status).toBe(404);
      expect(JSON.parse(file.body)).toMatchObject({ error: { code: 'SKEIN_ERR_NOT_FOUND' } });
    } finally {
      await server.close();
    }
  });

  it('a static dir that is missing or a file stops the start with SKEIN_ERR_CONFIG_INVALID', async () => {
    for (const staticDir of [join(dir, 'nope'), join(dir, 'secret.txt')]) {
      const started = startServer(config({ staticDir }), { logger: silentLogger() });
      await expect(started).rejects.toBeInstanceOf(SkeinError);
      await expect(started).rejects.toMatchObject({ code: 'SKEIN_ERR_CONFIG_INVALID' });
    }
  });
});
