import { createReadStream, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { SkeinError } from '../errors/skein-error.js';
import { sendError } from './routes.js';

/** Serves the files of one directory (e.g. the built canvas demo) over HTTP GET/HEAD. */
export interface StaticFiles {
  /** The directory, resolved and with symlinks followed. */
  readonly root: string;
  /**
   * Answer a GET or HEAD for `path` (the URL path, still percent-encoded, no query string).
   * Never throws: every failure is answered, as a SkeinError JSON body.
   */
  serve(req: IncomingMessage, res: ServerResponse, path: string): Promise<void>;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

/** The content type of a file name; unknown extensions are served as bytes, never sniffed. */
export function contentTypeOf(name: string): string {
  return CONTENT_TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * Open `dir` for serving. Fails with `SKEIN_ERR_CONFIG_INVALID` when it is not a readable
 * directory, so a wrong `--static-dir` stops the server at start instead of 404-ing later.
 */
export async function openStaticFiles(dir: string): Promise<StaticFiles> {
  let root: string;
  try {
    root = await realpath(resolve(dir));
    if (!(await stat(root)).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    const reason = err instanceof Error && 'code' in err ? String(err.code) : err instanceof Error ? err.message : String(err);
    throw new SkeinError('SKEIN_ERR_CONFIG_INVALID', `invalid value for staticDir: ${JSON.stringify(dir)} is not a readable directory (${reason})`, { cause: err });
  }
  return { root, serve: (req, res, path) => serveFile(root, req, res, path) };
}

/**
 * The path segments of a URL path, decoded, or `undefined` when the path is not a plain
 * relative file path: bad percent-encoding, NUL or other control characters, backslashes,
 * an encoded `/`, `.` / `..` segments, empty segments inside the path (`a//b`), or a segment
 * starting with `.` (dotfiles are never served). A trailing `/` yields a final empty segment.
 */
export function safeSegments(path: string): string[] | undefined {
  if (!path.startsWith('/')) return undefined;
  const raw = path.slice(1).split('/');
  const segments: string[] = [];
  for (const [i, part] of raw.entries()) {
    let segment: string;
    try {
      segment = decodeURIComponent(part);
    } catch {
      return undefined;
    }
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is rejected
    if (/[\u0000-\u001f\u007f/\\]/.test(segment) || segment.startsWith('.')) return undefined;
    if (segment === '' && i !== raw.length - 1) return undefined;
    segments.push(segment);
  }
  return segments;
}

/** Whether the absolute path `target` is `root` itself or below it. */
function inside(root: string, target: string): boolean {
  return target === root || target.startsWith(root.endsWith(sep) ? root : root + sep);
}

async function serveFile(root: string, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const notFound = (): void => sendErrorJson(res, new SkeinError('SKEIN_ERR_NOT_FOUND', `no file ${truncate(path)}`));
  try {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return sendErrorJson(res, new SkeinError('SKEIN_ERR_METHOD_NOT_ALLOWED'));
    }
    const segments = safeSegments(path);
    if (segments === undefined) return notFound();
    let target = resolve(root, ...segments);
    if (!inside(root, target)) return notFound();
    let info = await statOrUndefined(target);
    // `/file.js/` names a directory, and a file is not one.
    if (segments.at(-1) === '' && info?.isDirectory() !== true) return notFound();
    if (info?.isDirectory() === true) {
      // No listings: a directory is served as its index.html, or not at all.
      target = join(target, 'index.html');
      info = await statOrUndefined(target);
    }
    if (info === undefined || !info.isFile()) return notFound();
    // Symlinks must not lead out of the directory either.
    const real = await realpath(target);
    if (!inside(root, real)) return notFound();
    sendFile(req, res, real, info);
  } catch (err) {
    sendErrorJson(res, new SkeinError('SKEIN_ERR_INTERNAL', 'cannot read the static file', { cause: err }));
  }
}

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (err) {
    const code = err instanceof Error && 'code' in err ? err.code : undefined;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES' || code === 'ENAMETOOLONG') return undefined;
    throw err;
  }
}

function sendFile(req: IncomingMessage, res: ServerResponse, file: string, info: Stats): void {
  const etag = `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
  const headers: Record<string, string | number> = {
    'Content-Type': contentTypeOf(file),
    'X-Content-Type-Options': 'nosniff',
    ETag: etag,
    'Last-Modified': info.mtime.toUTCString(),
    // Vite's hashed assets never change under their name; everything else is revalidated.
    'Cache-Control': /[\\/]assets[\\/][^\\/]+-[\w-]{8,}\.\w+$/.test(file) ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers).end();
    return;
  }
  headers['Content-Length'] = info.size;
  if (req.method === 'HEAD') {
    res.writeHead(200, headers).end();
    return;
  }
  const stream = createReadStream(file);
  stream.once('open', () => {
    res.writeHead(200, headers);
    stream.pipe(res);
  });
  stream.once('error', (err) => {
    if (res.headersSent) res.destroy(err);
    else sendErrorJson(res, new SkeinError('SKEIN_ERR_INTERNAL', 'cannot read the static file', { cause: err }));
  });
  res.once('close', () => stream.destroy());
}

/** The error machinery of routes.ts; a failure after the headers went out can only cut the response. */
function sendErrorJson(res: ServerResponse, err: SkeinError): void {
  if (res.headersSent) res.destroy();
  else sendError(res, err);
}

function truncate(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
