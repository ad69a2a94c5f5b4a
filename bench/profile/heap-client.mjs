// Child of heap-per-connection.mjs: opens `n` document connections to the server at `url`,
// either as channels of one skein-mux.v1 socket (`mux`) or one socket each (`sockets`), over
// 20 documents; each sends Hello (durable acks) and a sync step 1. Tells the parent 'ready'
// once answered, then stays connected until killed.
import WebSocket from 'ws';
import * as encoding from 'lib0/encoding';

const [url, count, mode] = [process.argv[2], Number(process.argv[3]), process.argv[4]];
/** `bytes` after varUint(channel), the framing of skein-mux.v1. @param {number} channel @param {number[]} bytes */
function onChannel(channel, bytes) {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, channel);
  encoding.writeUint8Array(e, Uint8Array.from(bytes));
  return encoding.toUint8Array(e);
}
const HELLO = [100, 1, 1];
const STEP1 = [0, 0, 1, 0];
let answers = 0;
if (mode === 'mux') {
  const ws = new WebSocket(`${url}/`, 'skein-mux.v1');
  await new Promise((resolve) => ws.once('open', resolve));
  ws.on('message', () => answers++);
  for (let ch = 1; ch <= count; ch++) {
    const open = encoding.createEncoder();
    encoding.writeVarUint(open, 0); // control channel
    encoding.writeVarUint(open, 0); // Open
    encoding.writeVarUint(open, ch);
    encoding.writeVarString(open, `doc-${ch % 20}`);
    ws.send(encoding.toUint8Array(open));
    ws.send(onChannel(ch, HELLO));
    ws.send(onChannel(ch, STEP1));
  }
} else {
  for (let i = 0; i < count; i++) {
    const ws = new WebSocket(`${url}/doc-${i % 20}`);
    ws.on('message', () => answers++);
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(Uint8Array.from(HELLO));
    ws.send(Uint8Array.from(STEP1));
  }
}
// Welcome, sync step 1 and sync step 2 per connection.
while (answers < 3 * count) await new Promise((resolve) => setTimeout(resolve, 20));
process.send?.('ready');
setInterval(() => undefined, 60_000);
