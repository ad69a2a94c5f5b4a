// The y-websocket reference server (y-websocket@1.5.4 `bin/utils.js` setupWSConnection), in
// its own process, on a `ws` WebSocketServer. With YPERSISTENCE=<dir> in the environment it
// persists through y-leveldb exactly as its own bin/server.js does (every update appended).
//
//   [YPERSISTENCE=<dir>] node servers/y-websocket.mjs --port <port>
import { createRequire } from 'node:module';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';

const require = createRequire(import.meta.url);
const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } } });

// utils.js logs one info line when persistence is on; keep stdout quiet.
/* eslint-disable no-console -- silencing a third-party module's startup line */
const info = console.info;
console.info = () => {};
// The package's "exports" hide bin/; require the file by path.
const utils = require(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', 'y-websocket-legacy', 'bin', 'utils.js'));
console.info = info;
/* eslint-enable no-console */

const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end('okay');
});
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
wss.on('connection', (conn, req) => utils.setupWSConnection(conn, req, { gc: true }));
server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});
server.listen(Number(values.port), values.host);

// SIGTERM: wait for y-leveldb's write queue (its `tr` promise chain) before exiting.
const stop = async () => {
  server.close();
  const ldb = utils.getPersistence()?.provider;
  if (ldb !== undefined) {
    for (let i = 0; i < 100; i++) {
      const tr = ldb.tr;
      await tr;
      if (ldb.tr === tr) break;
    }
    await ldb.destroy?.();
  }
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
