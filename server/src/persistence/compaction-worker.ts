import { parentPort } from 'node:worker_threads';
import { toSkeinError } from '../errors/skein-error.js';
import { boundRunMerges } from '../crdt/runs.js';
import { planCompaction } from './compaction-plan.js';
import { ownsBuffer, unpackEntries } from './packed-entries.js';
import type { WorkerReply, WorkerRequest } from './compaction-worker-pool.js';

/**
 * Entry point of the compaction worker thread (`compaction-worker-pool.ts` starts it from the
 * compiled `dist/persistence/compaction-worker.js`). It runs `planCompaction` — verify, merge,
 * verify again, encode — on the records it is handed, and hands the plan back with the new
 * snapshot record's buffer transferred (no copy). No I/O, no state between jobs.
 */
const port = parentPort;
if (port === null) throw new Error('compaction-worker.js must run as a worker thread');
// This thread has its own Yjs module: its runs are bounded like the server's (crdt/runs.ts).
boundRunMerges();

port.on('message', (request: WorkerRequest) => {
  let reply: WorkerReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const planned = planCompaction({ docId: request.docId, upto: request.upto, partBytes: request.partBytes, entries: unpackEntries(request.entries) });
    // Keys and damaged records are views into the packed input (or a large value): posting a
    // view would clone its whole buffer back, so they leave as copies of their own bytes.
    const plan = {
      ...planned,
      deletes: planned.deletes.map((key) => key.slice()),
      damaged: planned.damaged.map((d) => ({ ...d, key: d.key.slice(), value: d.value.slice() })),
    };
    reply = { id: request.id, ok: true, plan };
    // The snapshot's record and its parts' records own their buffers (encodeRecord): moved, not copied.
    for (const record of [plan.snapshot?.record, ...(plan.snapshot?.parts ?? []).map((p) => p.record)]) {
      if (record !== undefined && ownsBuffer(record)) transfer.push(record.buffer as ArrayBuffer);
    }
  } catch (err) {
    const e = toSkeinError(err, 'SKEIN_ERR_INTERNAL');
    reply = { id: request.id, ok: false, code: e.code, message: e.message };
  }
  port.postMessage(reply, transfer);
});

port.postMessage({ ready: true });
