// The host process of a Hocuspocus target, shared by both major versions: each version's
// entry point (hocuspocus.mjs for 3.x, hocuspocus4/server.mjs for 4.x) imports its own
// @hocuspocus packages (so every extension resolves its peer @hocuspocus/server to the same
// major) and hands them to `host()`.
//
//   node servers/hocuspocus.mjs         --port <port> [--sqlite <file>] [--redis-port <port> --node-id <id>]
//   node servers/hocuspocus4/server.mjs --port <port> [--sqlite <file>] [--redis-port <port> --node-id <id>]
//
// --sqlite: @hocuspocus/extension-sqlite on that file (3.x: the `sqlite3` addon, callbacks;
// 4.x: `better-sqlite3`, synchronous). --redis-port: @hocuspocus/extension-redis against
// redis://127.0.0.1:<port> (cluster scenario C1: two such processes share one Redis);
// --node-id is its `identifier`.
//
// Defaults are Hocuspocus's own (stores debounced 2 s / max 10 s; 4.x: broadcasts coalesced
// per event-loop turn, `flushDelay: 0`; connections that send nothing for 60 s are closed,
// `timeout`), quiet logging. SIGTERM: `destroy()` stores and unloads every document; then
// the SQLite handle is closed (3.x: that waits for queued statements, because the
// extension's `store` does not await its own `run`, so exiting right after destroy() could
// drop the last write).
import { parseArgs } from 'node:util';

/**
 * @param {{
 *   server: () => Promise<any>,
 *   sqlite: () => Promise<any>,
 *   redis: () => Promise<any>,
 * }} load  dynamic imports of the version's @hocuspocus/server and extensions
 */
export async function host(load) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' }, sqlite: { type: 'string' },
      'redis-port': { type: 'string' }, 'node-id': { type: 'string' },
    },
  });
  const { Server } = await load.server();
  const extensions = [];
  /** @type {any} */
  let sqlite;
  if (values.sqlite !== undefined) {
    const { SQLite } = await load.sqlite();
    sqlite = new SQLite({ database: values.sqlite });
    extensions.push(sqlite);
  }
  /** @type {any} */
  let redis;
  if (values['redis-port'] !== undefined) {
    const { Redis } = await load.redis();
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
    await closeSqlite(sqlite?.db);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

/**
 * Close the extension's database handle: `better-sqlite3` (4.x) closes synchronously and
 * has an `open` flag; `sqlite3` (3.x) takes a callback once queued statements have run.
 * @param {any} db
 */
function closeSqlite(db) {
  if (!db) return Promise.resolve();
  if (typeof db.open === 'boolean') {
    db.close();
    return Promise.resolve();
  }
  return new Promise((resolve) => db.close(() => resolve(undefined)));
}
