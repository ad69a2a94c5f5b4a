// @hocuspocus/server 3.x in its own process, in memory or with @hocuspocus/extension-sqlite.
//
//   node servers/hocuspocus.mjs --port <port> [--sqlite <file>] [--redis-port <port> --node-id <id>]
//
// --redis-port: @hocuspocus/extension-redis against redis://127.0.0.1:<port> (cluster scenario
// C1: two such processes share one Redis); --node-id is its `identifier`.
//
// Defaults are Hocuspocus's own (debounce 2 s / maxDebounce 10 s for stores), quiet logging.
// SIGTERM: Hocuspocus's destroy() stores and unloads every document; then the SQLite handle
// is closed, which waits for queued statements (the extension's `store` does not await its
// own `run`, so exiting right after destroy() could drop the last write).
import { Server } from '@hocuspocus/server';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' }, sqlite: { type: 'string' },
    'redis-port': { type: 'string' }, 'node-id': { type: 'string' },
  },
});

const extensions = [];
/** @type {any} */
let sqlite;
if (values.sqlite !== undefined) {
  const { SQLite } = await import('@hocuspocus/extension-sqlite');
  sqlite = new SQLite({ database: values.sqlite });
  extensions.push(sqlite);
}
/** @type {any} */
let redis;
if (values['redis-port'] !== undefined) {
  const { Redis } = await import('@hocuspocus/extension-redis');
  redis = new Redis({ host: '127.0.0.1', port: Number(values['redis-port']), ...(values['node-id'] ? { identifier: values['node-id'] } : {}) });
  extensions.push(redis);
}

const server = new Server({
  port: Number(values.port),
  address: values.host,
  quiet: true,
  stopOnSignals: false,
  extensions,
});
await server.listen();

let stopping = false;
const stop = async () => {
  if (stopping) process.exit(1);
  stopping = true;
  await server.destroy();
  if (redis) {
    redis.pub?.disconnect();
    redis.sub?.disconnect();
  }
  if (sqlite?.db) await new Promise((resolve) => sqlite.db.close(() => resolve(undefined)));
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
