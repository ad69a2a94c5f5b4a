import type { IncomingMessage, ServerResponse } from 'node:http';
import { SkeinError } from '../errors/skein-error.js';
import { sendError } from './routes.js';
import type { StaticFiles } from './static.js';

export const INSPECTOR_PREFIX = '/_skein';

/**
 * The inspector's files at `/_skein/` (docs/inspector.md): the built single-page app of
 * `examples/inspector/dist`. The files hold no data and no secret; everything the page shows
 * comes from the documented routes (`/api/v1`, `/health`, `/readyz`, `/metrics`) with the
 * token the user logs in with. `files` undefined: the app is not built — answered with a
 * 404 that says how to build it.
 */
export function createInspectorHandler(files: StaticFiles | undefined): (req: IncomingMessage, res: ServerResponse, path: string) => void {
  return (req, res, path) => {
    if (path === INSPECTOR_PREFIX) {
      res.writeHead(308, { Location: `${INSPECTOR_PREFIX}/`, 'Content-Length': 0 }).end();
      return;
    }
    if (files === undefined) {
      sendError(res, new SkeinError('SKEIN_ERR_NOT_FOUND', 'the inspector is not built: run `node examples/inspector/scripts/build-if-needed.mjs` (or `pnpm start`)'));
      return;
    }
    res.setHeader('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'");
    res.setHeader('Referrer-Policy', 'no-referrer');
    void files.serve(req, res, path.slice(INSPECTOR_PREFIX.length));
  };
}
