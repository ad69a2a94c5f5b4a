// @hocuspocus/server 3.x (the bench package's own dependency) in its own process, in memory,
// with @hocuspocus/extension-sqlite or with @hocuspocus/extension-redis: see hocuspocus-host.mjs.
//
//   node servers/hocuspocus.mjs --port <port> [--sqlite <file>] [--redis-port <port> --node-id <id>]
import { host } from './hocuspocus-host.mjs';

await host({
  server: () => import('@hocuspocus/server'),
  sqlite: () => import('@hocuspocus/extension-sqlite'),
  redis: () => import('@hocuspocus/extension-redis'),
});
