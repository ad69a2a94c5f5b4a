// Preloaded into a server process (`node --import <this> …`) by scenarios that report the
// server's event-loop delay (S9). It samples the loop with perf_hooks' monitorEventLoopDelay
// (1 ms resolution) and, on SIGUSR2, writes the delay since the previous SIGUSR2 (p50, p99,
// max in ms, sample count, and a sequence number) to the file named by
// SKEIN_BENCH_ELD_FILE, then starts a new window. The signal is handled on the event loop,
// so a blocked loop answers late: the orchestrator waits for the new sequence number.
// The same file works for every target (Skein, Hocuspocus, y-websocket, the relay): each is
// a Node process, measured the same way.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeFileSync } from 'node:fs';

const file = process.env.SKEIN_BENCH_ELD_FILE;
if (file) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  let seq = 0;
  process.on('SIGUSR2', () => {
    seq++;
    const ms = (/** @type {number} */ ns) => Math.round((ns / 1e6) * 100) / 100;
    const out = { seq, count: h.count, p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) };
    writeFileSync(file, JSON.stringify(out));
    h.reset();
  });
}
