// Start, probe and stop one server process.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import net from 'node:net';
import os from 'node:os';
import { sampleProcess } from './proc.mjs';
import { BENCH_DIR } from './targets.mjs';
import WebSocket from 'ws';

/** A free TCP port on 127.0.0.1 (bound, then released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves when something accepts TCP connections on the port (bounded). */
async function waitListening(port, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before listening`);
    const ok = await new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`server did not listen on ${port} within ${timeoutMs} ms`);
}

export class ServerProcess {
  /**
   * @param {import('./targets.mjs').Target} target
   * @param {string} dataDir
   * @param {{inspect?: boolean, eld?: boolean, priority?: number, cluster?: {redisPort: number, nodeId: string}}} [opts]  inspect: open
   *   the V8 inspector (loopback) so probes can force a GC; priority: nice value for the process
   *   (see setPriority); cluster: Redis port and node id of a cluster target's node (C1)
   */
  constructor(target, dataDir, opts = {}) {
    this.target = target;
    this.dataDir = dataDir;
    this.inspect = opts.inspect === true;
    /** Event-loop delay windows on request (eld-preload.mjs), read by `eventLoopDelay()`. */
    this.eldFile = opts.eld === true ? path.join(dataDir, `eld-${process.pid}.json`) : null;
    this.eldSeq = 0;
    this.priority = opts.priority ?? 0;
    this.cluster = opts.cluster;
    /** @type {import('node:child_process').ChildProcess|null} */
    this.child = null;
    this.port = 0;
    this.inspectPort = 0;
    this.stderr = '';
  }

  get url() {
    return `ws://127.0.0.1:${this.port}`;
  }

  get pid() {
    return /** @type {number} */ (this.child?.pid);
  }

  async start() {
    this.port = await freePort();
    const { args, env } = this.target.command(this.dataDir, this.port, this.cluster);
    // Extra node flags for the server processes only, e.g. profiling:
    // SKEIN_BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' node bench/run.mjs --only S9
    const nodeArgs = (process.env.SKEIN_BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
    if (this.eldFile !== null) {
      nodeArgs.push('--import', pathToFileURL(path.join(BENCH_DIR, 'lib', 'eld-preload.mjs')).href);
      this.eldSeq = 0;
      rmSync(this.eldFile, { force: true });
    }
    if (this.inspect) {
      this.inspectPort = await freePort();
      nodeArgs.push(`--inspect=127.0.0.1:${this.inspectPort}`);
    }
    this.stderr = '';
    const child = spawn(process.execPath, [...nodeArgs, ...args], {
      cwd: BENCH_DIR,
      env: { ...process.env, ...env, NODE_ENV: 'production', ...(this.eldFile === null ? {} : { SKEIN_BENCH_ELD_FILE: this.eldFile }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    setPriority(child.pid, this.priority);
    child.stdout?.on('data', (d) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    child.stderr?.on('data', (d) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    try {
      await waitListening(this.port, child, 30_000);
    } catch (err) {
      await this.kill();
      throw new Error(`${/** @type {Error} */ (err).message}; output: ${this.stderr.trim().slice(-600)}`);
    }
  }

  /**
   * CPU ticks and RSS now; with gc, a full V8 GC (via the inspector) first, and the
   * process's own `process.memoryUsage()` (heapUsed, external, arrayBuffers) after it.
   */
  async probe(gc = false) {
    const memory = gc && this.inspect ? await this.#collectGarbage() : undefined;
    const eld = this.eldFile === null ? undefined : await this.#eventLoopDelay();
    return { ...sampleProcess(this.pid), ...(memory ? { memory } : {}), ...(eld ? { eld } : {}) };
  }

  /**
   * The server's event-loop delay since the previous probe (p50/p99/max ms): SIGUSR2 makes the
   * preloaded monitor write its window; a loop blocked for long answers late (waited up to 30 s).
   */
  async #eventLoopDelay() {
    const file = /** @type {string} */ (this.eldFile);
    const want = ++this.eldSeq;
    this.child?.kill('SIGUSR2');
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      try {
        const got = JSON.parse(readFileSync(file, 'utf8'));
        if (got.seq >= want) return got;
      } catch {
        // not written yet
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    return undefined;
  }

  async #collectGarbage() {
    const list = await fetch(`http://127.0.0.1:${this.inspectPort}/json/list`).then((r) => r.json());
    const wsUrl = list[0]?.webSocketDebuggerUrl;
    if (!wsUrl) return undefined;
    const ws = new WebSocket(wsUrl);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const call = (id, method, params = {}) => new Promise((resolve) => {
      const onMsg = (data) => {
        const msg = JSON.parse(data.toString());
        if (msg.id === id) {
          ws.off('message', onMsg);
          resolve(msg);
        }
      };
      ws.on('message', onMsg);
      ws.send(JSON.stringify({ id, method, params }));
    });
    // Twice: the first pass can leave weakly held garbage for the second.
    await call(1, 'HeapProfiler.collectGarbage');
    await call(2, 'HeapProfiler.collectGarbage');
    /** @type {any} */
    const usage = await call(3, 'Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true });
    ws.close();
    await new Promise((r) => setTimeout(r, 200));
    try {
      return JSON.parse(usage.result.result.value);
    } catch {
      return undefined;
    }
  }

  /** SIGTERM (graceful: servers flush their stores), SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000) {
    const child = this.child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return { code: child?.exitCode ?? null, graceful: true };
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const res = /** @type {{code: number|null, signal: string|null}} */ (await exited);
    clearTimeout(timer);
    return { code: res.code, graceful: res.signal !== 'SIGKILL' };
  }

  async kill() {
    const child = this.child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * Give a benchmark process a higher CPU priority than the rest of the machine (a negative
 * nice value needs root; without it this does nothing). Returns whether it applied.
 * @param {number|undefined} pid @param {number} priority
 */
export function setPriority(pid, priority) {
  if (pid === undefined || priority === 0) return false;
  try {
    os.setPriority(pid, priority);
    return true;
  } catch {
    return false;
  }
}
