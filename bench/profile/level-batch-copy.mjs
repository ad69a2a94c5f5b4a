// What LevelDB's write batch costs the calling thread for one large value: classic-level
// copies every value into the batch's buffer (a std::string) on the main thread, and that
// buffer doubles when an op outgrows it. A 20 MB snapshot followed by a small metadata put
// makes it copy the 20 MB again into a fresh 40 MB buffer; with the large value last it is
// copied once. Prints the time to fill each batch (main thread), sorted, for both orders.
//   node bench/profile/level-batch-copy.mjs [MiB=20] [rounds=16]
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const require = createRequire(new URL('../../server/package.json', import.meta.url));
const { ClassicLevel } = require('classic-level');
const mib = Number(process.argv[2] ?? 20);
const rounds = Number(process.argv[3] ?? 16);

for (const order of ['large first', 'large last', 'large first', 'large last']) {
  const dir = mkdtempSync(path.join(tmpdir(), 'skein-batch-copy-'));
  const db = new ClassicLevel(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  const fill = [];
  for (let i = 0; i < rounds; i++) {
    const large = new Uint8Array(mib * 1024 * 1024).fill(i + 1);
    const small = new Uint8Array(100);
    const t0 = performance.now();
    const batch = db.batch();
    batch.del(Uint8Array.of(1, i));
    if (order === 'large last') batch.put(Uint8Array.of(2, i), small);
    batch.put(Uint8Array.of(3, i), large);
    if (order === 'large first') batch.put(Uint8Array.of(2, i), small);
    fill.push(performance.now() - t0);
    await batch.write({ sync: true });
  }
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  fill.sort((a, b) => a - b);
  const median = fill[Math.floor(fill.length / 2)];
  process.stdout.write(`${order.padEnd(12)} fill ms: median ${median.toFixed(1)}, all ${fill.map((x) => x.toFixed(1)).join(" ")}\n`);
}
