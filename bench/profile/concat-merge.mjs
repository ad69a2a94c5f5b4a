#!/usr/bin/env node
// The fan-out's merge of one turn's changes: `Y.mergeUpdates` against Skein's `concatUpdates`
// (server/src/crdt/concat.ts), on groups like S3's: `writers` writers, each with a batch of
// `perBatch` Y.Map sets of a canvas shape applied as one transaction on a server document;
// a group holds `rounds` batches of each writer, as the server's document emitted them.
//
//   node bench/profile/concat-merge.mjs [writers=4] [perBatch=8] [rounds=1]
//
// Needs the built server (`pnpm build`). Prints µs per group for each and checks that both
// give the same document.
// The server's own Yjs (one copy in the process, as in the server).
import * as Y from '../../server/node_modules/yjs/dist/yjs.mjs';
import { concatUpdates } from '../../server/dist/crdt/concat.js';

const [writers = 4, perBatch = 8, rounds = 1] = process.argv.slice(2).map(Number);
const server = new Y.Doc();
const authors = Array.from({ length: writers }, () => new Y.Doc());
/** @type {Uint8Array[]} */
let changes = [];
server.on('update', (u) => changes.push(u));
let n = 0;

function group() {
  changes = [];
  for (let r = 0; r < rounds; r++) {
    for (const [w, author] of authors.entries()) {
      const updates = [];
      const take = (u) => updates.push(u);
      author.on('update', take);
      for (let i = 0; i < perBatch; i++, n++) {
        author.getMap('m').set(`w${w}`, { t: n, n, x: (n * 37) % 1920, y: (n * 53) % 1080, w: 120, h: 80, fill: '#3388ff' });
      }
      author.off('update', take);
      Y.transact(server, () => updates.forEach((u) => Y.applyUpdate(server, u)));
    }
  }
  return changes;
}

const groups = Array.from({ length: 2000 }, group);
const time = (fn) => {
  for (const g of groups) fn(g); // warm up
  const start = process.hrtime.bigint();
  for (const g of groups) fn(g);
  return Number(process.hrtime.bigint() - start) / 1000 / groups.length;
};
for (let i = 0; i < 3; i++) {
  const merge = time((g) => Y.mergeUpdates(g));
  const concat = time((g) => concatUpdates(g));
  process.stdout.write(`${groups[0].length} changes per group, ${perBatch} sets each: Y.mergeUpdates ${merge.toFixed(1)} µs, concatUpdates ${concat.toFixed(1)} µs (${(merge / concat).toFixed(1)}×)\n`);
}
const a = new Y.Doc();
const b = new Y.Doc();
for (const g of groups) {
  Y.applyUpdate(a, Y.mergeUpdates(g));
  Y.applyUpdate(b, /** @type {Uint8Array} */ (concatUpdates(g)));
}
const same = Buffer.from(Y.encodeStateAsUpdate(a)).equals(Buffer.from(Y.encodeStateAsUpdate(b)));
process.stdout.write(same ? 'same document: yes\n' : 'same document: NO\n');
if (!same) process.exitCode = 1;
