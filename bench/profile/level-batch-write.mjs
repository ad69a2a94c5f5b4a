// What one LevelDB batch write costs the calling thread before any I/O: classic-level's
// `write()` creates a promise and a native async work item and hands it to libuv's thread pool
// (the write and its fsync happen there). The node's group commit issues one such write per
// fsync (docs/performance.md, "S2 at full size on a fast machine state"), so this is a fixed
// cost per group commit on the event loop. Small S2-like batches (an update record, its
// metadata, an outbox-sized value); prints µs per write() call on the calling thread and the
// process's CPU (all threads) per write, synced and not.
//   node bench/profile/level-batch-write.mjs [writes=5000] [ops=3]
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const require = createRequire(new URL('../../server/package.json', import.meta.url));
const { ClassicLevel } = require('classic-level');
const writes = Number(process.argv[2] ?? 5000);
const opsPerBatch = Number(process.argv[3] ?? 3);

for (const sync of [true, false, true, false]) {
  const dir = mkdtempSync(path.join(tmpdir(), 'skein-batch-write-'));
  const db = new ClassicLevel(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  const value = new Uint8Array(100).fill(7);
  let calling = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < writes; i++) {
    const batch = db.batch();
    for (let j = 0; j < opsPerBatch; j++) batch.put(Uint8Array.of(1, j, i >> 16, (i >> 8) & 255, i & 255), value);
    const start = performance.now();
    const written = batch.write({ sync });
    calling += performance.now() - start;
    await written;
  }
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  const perWrite = (ms) => ((1000 * ms) / writes).toFixed(1);
  process.stdout.write(
    `${sync ? 'sync  ' : 'nosync'} ${writes} writes of ${opsPerBatch} ops: write() on the calling thread ${perWrite(calling)} µs, ` +
      `wall ${perWrite(wall)} µs, process CPU ${((cpu.user + cpu.system) / writes).toFixed(1)} µs per write\n`,
  );
}
