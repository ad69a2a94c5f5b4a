import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './skein-client.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

/**
 * Whether `redis-server` and `redis-cli` can be run. Under CI a missing Redis fails loudly
 * (the cluster tests must run there); elsewhere the caller skips.
 */
export function redisAvailable(): boolean {
  const ok = ['redis-server', 'redis-cli'].every((bin) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0);
  if (!ok && process.env.CI) throw new Error('redis-server / redis-cli not found: the cluster tests need them in CI (apt-get install redis-server)');
  return ok;
}

/** `redis-cli -p <port> <args>`; resolves with its trimmed stdout. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  return stdout.trim();
}

/** A `redis-server` process on a free loopback port (never 6379), no persistence. */
export class RedisProcess {
  readonly port: number;
  readonly dir: string;
  readonly #extra: readonly string[];
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();

  private constructor(port: number, extra: readonly string[]) {
    this.port = port;
    this.#extra = extra;
    this.dir = mkdtempSync(join(tmpdir(), 'skein-redis-'));
  }

  /** Start on a free port; `extra` are more redis-server arguments (e.g. cluster mode). */
  static async start(extra: readonly string[] = []): Promise<RedisProcess> {
    let port = await freePort();
    while (port === 6379) port = await freePort();
    const redis = new RedisProcess(port, extra);
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** (Re)start on the same port and wait until it answers PING. */
  async restart(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, ...this.#extra],
      { stdio: 'ignore' },
    );
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    await waitFor(async () => (await redisCli(this.port, 'ping').catch(() => '')) === 'PONG', { what: `redis on ${this.port}`, intervalMs: 20 });
  }

  /** kill -9 (default) and wait for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.running) this.#child?.kill(signal);
    await this.#exited;
  }

  async stop(): Promise<void> {
    await this.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A local Redis Cluster of `masters` masters, no replicas, created with `redis-cli --cluster create`. */
export async function startRedisCluster(masters = 3): Promise<{ nodes: RedisProcess[]; seeds: string; stop(): Promise<void> }> {
  const nodes: RedisProcess[] = [];
  for (let i = 0; i < masters; i++) {
    nodes.push(await RedisProcess.start(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000']));
  }
  const addrs = nodes.map((n) => `127.0.0.1:${n.port}`);
  const first = nodes[0];
  if (first === undefined) throw new Error('no nodes');
  await run('redis-cli', ['--cluster', 'create', ...addrs, '--cluster-replicas', '0', '--cluster-yes']);
  await waitFor(async () => {
    const infos = await Promise.all(nodes.map((n) => redisCli(n.port, 'cluster', 'info').catch(() => '')));
    return infos.every((info) => info.includes('cluster_state:ok'));
  }, { what: 'redis cluster state ok', intervalMs: 50, timeoutMs: 20_000 });
  return {
    nodes,
    seeds: addrs.join(','),
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}
