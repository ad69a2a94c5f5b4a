// @hocuspocus/server 4.x in its own process, from this folder's own package (so that the
// 4.x extensions' peer dependency resolves to server 4.x, beside 3.x in the bench package):
// in memory, with @hocuspocus/extension-sqlite (better-sqlite3) or with
// @hocuspocus/extension-redis. Options and shutdown: see ../hocuspocus-host.mjs.
//
//   node servers/hocuspocus4/server.mjs --port <port> [--sqlite <file>] [--redis-port <port> --node-id <id>]
import { host } from '../hocuspocus-host.mjs';

await host({
  server: () => import('@hocuspocus/server'),
  sqlite: () => import('@hocuspocus/extension-sqlite'),
  redis: () => import('@hocuspocus/extension-redis'),
});
