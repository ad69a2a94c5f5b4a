// The raw relay: the practical upper limit for a WebSocket fan-out server in Node.
// A minimal `ws` server that forwards each message, unparsed, to the other sockets of the
// same room (the URL path). No Yjs, no state, no persistence: nothing a joiner could sync.
//
//   node servers/relay.mjs --port <port> [--host 127.0.0.1]
import { WebSocketServer } from 'ws';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } } });

/** @type {Map<string, Set<import('ws').WebSocket>>} */
const rooms = new Map();
const wss = new WebSocketServer({ host: values.host, port: Number(values.port), perMessageDeflate: false, clientTracking: false });

wss.on('connection', (ws, req) => {
  const name = req.url ?? '/';
  let room = rooms.get(name);
  if (room === undefined) rooms.set(name, (room = new Set()));
  room.add(ws);
  ws.on('message', (data, isBinary) => {
    for (const peer of /** @type {Set<import('ws').WebSocket>} */ (room)) {
      if (peer !== ws && peer.readyState === 1) peer.send(data, { binary: isBinary });
    }
  });
  ws.on('close', () => {
    room?.delete(ws);
    if (room?.size === 0) rooms.delete(name);
  });
  ws.on('error', () => ws.terminate());
});

const stop = () => wss.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
