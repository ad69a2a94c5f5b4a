// Child of heap-per-document.mjs: opens one socket to each of `n` documents at `url`, writes
// S4's ~50 KB canvas document (one update) into each, and waits for a sync round trip on every
// socket (the update was applied before the answer). Tells the parent 'ready', then stays
// connected until killed.
import WebSocket from 'ws';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import { seedUpdate } from '../load/scenarios/s4-idle-memory.mjs';

const [url, count, kb] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] ?? 50)];

/** @param {number} type @param {Uint8Array} payload */
function syncMessage(type, payload) {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 0); // sync
  encoding.writeVarUint(e, type);
  encoding.writeVarUint8Array(e, payload);
  return encoding.toUint8Array(e);
}

const update = syncMessage(2, seedUpdate(kb).update);
const step1 = syncMessage(0, Y.encodeStateVector(new Y.Doc()));
let answers = 0;
const sockets = [];
for (let i = 0; i < count; i++) {
  const ws = new WebSocket(`${url}/heap-doc-${i}`);
  sockets.push(ws);
  // The server's own sync step 1, then the answer to ours (its sync step 2, sent after the update was applied).
  let seen = 0;
  ws.on('message', () => {
    if (++seen === 2) answers++;
  });
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(update);
  ws.send(step1);
}
while (answers < count) await new Promise((resolve) => setTimeout(resolve, 20));
process.send?.('ready');
setInterval(() => undefined, 60_000);
