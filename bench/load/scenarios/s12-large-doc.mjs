// S12 large document, many joiners: a writer builds a document of ~`docMB` MB (canvas-like:
// shapes with labels, and a long text) and sends it as updates of ~1 MB (under every
// server's default message limit), each acknowledged by a sync round trip. Then `joiners`
// new clients open their sockets at once; each sends sync step 1 with an empty state vector,
// and after the answer sync step 1 again with the writer's final state vector.
// Figure: per joiner, the time from opening the socket until it holds the whole document: its
// sync step 2, the update messages a server may send after it (Skein answers with its cached
// state followed by the changes made since), up to the answer to the second sync step 1 (one
// more round trip, the same for every server); p50 / p99 / max over the joiners, and the
// server's peak RSS (VmHWM: writing included, the same for every server).
// The joiners read frames off raw TCP sockets and count the reply's bytes (frame-joiner.mjs):
// a `ws` client per joiner would make the load generator, not the server, the bottleneck.
// Correctness (untimed, after all arrived): the first joiner keeps its whole reply and the
// updates after it, which are decoded and applied to a fresh Y.Doc and must equal the writer's
// state vector and content; every other joiner's reply must have the same length and the same
// first and last 4 KB, and the updates after it the same length — a joiner that got less or
// something else FAILS.
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import { BenchClient } from '../client.mjs';
import { joinAndCount } from '../frame-joiner.mjs';
import { now } from '../common.mjs';

/**
 * The document as ~1 MB updates, built in this process (S12, S14).
 * @param {number} docMB
 */
export function buildDocument(docMB) {
  const doc = new Y.Doc();
  const shapes = doc.getMap('m');
  const notes = doc.getText('notes');
  /** @type {Uint8Array[]} */
  const updates = [];
  doc.on('update', (/** @type {Uint8Array} */ u) => updates.push(u));
  let i = 0;
  let total = 0;
  while (total < docMB * 1024 * 1024) {
    const before = updates.length;
    doc.transact(() => {
      // ~1 MB per transaction: 4,000 shapes (~200 B each) and 200 KB of text.
      for (let k = 0; k < 4_000; k++, i++) {
        shapes.set(`shape-${i}`, { type: i % 3 === 0 ? 'rect' : 'ellipse', x: (i * 37) % 1920, y: (i * 53) % 1080, w: 40 + (i % 200), h: 30 + (i % 150), fill: `#${((i * 2654435761) % 0xffffff).toString(16).padStart(6, '0')}`, label: `Shape ${i}: a label long enough to look real` });
      }
      notes.insert(notes.length, `Meeting notes, part ${i}. `.repeat(8_000).slice(0, 200_000));
    });
    for (const u of updates.slice(before)) total += u.byteLength;
  }
  return { doc, updates, bytes: Y.encodeStateAsUpdate(doc).byteLength, shapes: i };
}

/**
 * @param {{docMB: number, joiners: number, joinTimeoutS: number}} p
 * @param {{url: string, protocol: 'yws'|'hocus'|'relay'}} target
 * @param {import('../main.mjs').Orchestrator} orch
 */
export async function s12(p, target, orch) {
  const built = buildDocument(p.docMB);
  const doc = 's12-large';
  const writer = new BenchClient({ url: target.url, doc, protocol: target.protocol, keep: false });
  await writer.connect(60_000);
  const writeStart = now();
  for (const u of built.updates) {
    writer.sendUpdate(u);
    await writer.roundTrip(120_000);
  }
  const writeS = (now() - writeStart) / 1000;
  const before = await orch.probe('written');

  const finalStateVector = Y.encodeStateVector(built.doc);
  const joinStart = now();
  const settled = await Promise.allSettled(Array.from({ length: p.joiners }, (_, i) =>
    joinAndCount({ url: target.url, doc, protocol: /** @type {'yws'|'hocus'} */ (target.protocol), keepAll: i === 0, timeoutMs: p.joinTimeoutS * 1000, thenStateVector: finalStateVector })));
  const allJoinedS = (now() - joinStart) / 1000;
  const after = await orch.probe('joined');
  writer.close();
  const joined = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = settled.filter((r) => r.status === 'rejected');
  const joinMs = joined.map((j) => j.ms);

  // Untimed: the first joiner's reply holds the whole document, and every other reply is the same.
  let incomplete = 0;
  const first = settled[0]?.status === 'fulfilled' ? settled[0].value : undefined;
  if (first?.message) {
    const replica = new Y.Doc();
    for (const message of [first.message, ...first.updates]) {
      const d = decoding.createDecoder(message);
      if (target.protocol === 'hocus') decoding.readVarString(d);
      decoding.readVarUint(d);
      decoding.readVarUint(d);
      Y.applyUpdate(replica, decoding.readVarUint8Array(d));
    }
    const ok = Buffer.from(Y.encodeStateVector(replica)).toString('hex') === Buffer.from(Y.encodeStateVector(built.doc)).toString('hex') &&
      replica.getMap('m').size === built.shapes && replica.getText('notes').length === built.doc.getText('notes').length;
    if (!ok) incomplete++;
    replica.destroy();
    incomplete += joined.filter((j) => j.fingerprint !== first.fingerprint).length;
  }
  const sorted = [...joinMs].sort((a, b) => a - b);
  const at = (/** @type {number} */ q) => (sorted.length === 0 ? NaN : Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] * 10) / 10);
  const s = { p50: at(0.5), p99: at(0.99), max: at(1) };
  let failure;
  if (failed.length > 0) failure = `${failed.length} of ${p.joiners} joiners did not sync within ${p.joinTimeoutS} s (${/** @type {PromiseRejectedResult} */ (failed[0]).reason?.message ?? ''})`;
  else if (incomplete > 0) failure = `${incomplete} of ${p.joiners} joiners' replies lack part of the document or differ from the first one's`;
  return {
    failure,
    metrics: {
      docMB: Math.round((built.bytes / 1024 / 1024) * 10) / 10,
      joiners: p.joiners,
      // What came after the sync step 2 as updates (the first joiner's; every joiner's is the same length).
      afterStep2MB: Math.round(((first?.updateBytes ?? 0) / 1024 / 1024) * 100) / 100,
      p50: s.p50, p99: s.p99, max: s.max,
      allJoinedS: Math.round(allJoinedS * 100) / 100,
      writeS: Math.round(writeS * 10) / 10,
      rssBeforeMB: Math.round(before.rssKB / 1024),
      peakRssMB: Math.round(after.hwmKB / 1024),
      correctness: incomplete === 0 && failed.length === 0 ? 'checked' : 'FAILED',
    },
  };
}
