// A throwaway redis-server for the cluster scenario (C1): loopback, a free port (never 6379),
// no persistence; and its traffic counters read with `redis-cli INFO` (as test/helpers/redis-server.ts).
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './server.mjs';

const run = promisify(execFile);

/** `redis-cli -h 127.0.0.1 -p <port> <args>`, trimmed stdout. */
export async function redisCli(port, ...args) {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 });
  return stdout.trim();
}

export class RedisServer {
  port = 0;
  /** @type {import('node:child_process').ChildProcess|null} */
  child = null;
  dir = '';

  async start() {
    this.port = await freePort();
    while (this.port === 6379) this.port = await freePort();
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'skein-bench-redis-'));
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`redis-server exited with ${this.child.exitCode}`);
      if ((await redisCli(this.port, 'ping').catch(() => '')) === 'PONG') return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`redis-server did not answer PING on ${this.port} within 10 s`);
  }

  /**
   * Cumulative counters: commands processed, network bytes in/out (INFO stats) and calls per
   * command (INFO commandstats, e.g. publish, spublish).
   */
  async stats() {
    const stats = await redisCli(this.port, 'INFO', 'stats');
    const cmds = await redisCli(this.port, 'INFO', 'commandstats');
    const num = (name) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(stats)?.[1] ?? NaN);
    /** @type {Record<string, number>} */
    const calls = {};
    for (const m of cmds.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[/** @type {string} */ (m[1])] = Number(m[2]);
    return { commands: num('total_commands_processed'), netIn: num('total_net_input_bytes'), netOut: num('total_net_output_bytes'), calls };
  }

  async stop() {
    const child = this.child;
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
